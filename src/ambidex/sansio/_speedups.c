/* ambidex.sansio._speedups: CountedFraming.split, the fast path of a
 * decimal-length framing, without a Python frame or a bytecode per byte.
 *
 * Optional, like ambidex.io._speedups (tools/hatch_speedups.py builds both):
 * without it, or with AMBIDEX_NO_EXTENSIONS=1, or when it was built from
 * another version of this file, ambidex/sansio/_counted.py uses its pure
 * twin, _PureSplitter, with the same results (tests/sansio checks both on
 * the same bytes, split at every byte boundary).
 *
 * What it does (the pure twin, _counted._PureSplitter.split, says the same
 * in Python): from ``start``, while the bytes hold a whole frame
 *
 *     marker, 1 to D ASCII digits (the payload's length n), separator,
 *     n bytes of payload, trailer
 *
 * with n <= max_payload (D = the digits of max_payload), append the payload
 * to ``out`` (a list) and go on after the trailer. Stop at the first thing
 * that is anything else -- another kind of frame, a bad or too long length,
 * a length over the limit, a missing trailer, an incomplete frame -- and
 * return where it stopped. It never raises about the bytes: judging them is
 * the careful path's job (CountedFraming.read, or the protocol's own parser),
 * so every error a peer can cause is raised by one piece of code, in Python.
 * Nothing is buffered here and the scan of a length stops after D digits, so
 * no input makes it read past what a valid frame would need.
 *
 * Why C: a RESP GET's reply parsed by the pure loop costs ~7,600 machine
 * instructions (callgrind), most of them the interpreter's dispatch of ten
 * bytecodes and three bytes-method calls (find with start/end parses its
 * arguments the slow way on 3.10 and 3.11); this is one call.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include <structmember.h>   /* PyMemberDef, T_OBJECT_EX (3.10 and 3.11 spell them only here) */

typedef struct {
    PyObject_HEAD
    PyObject *marker;           /* bytes, may be empty */
    PyObject *separator;        /* bytes, not empty, not starting with a digit */
    PyObject *trailer;          /* bytes, may be empty */
    Py_ssize_t max_payload;     /* the largest length taken */
} Splitter;

static int
splitter_init(Splitter *self, PyObject *args, PyObject *kwds)
{
    static char *names[] = {"marker", "separator", "trailer", "max_payload", NULL};
    PyObject *marker, *separator, *trailer;
    Py_ssize_t max_payload;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "SSSn:CountedSplitter", names,
                                     &marker, &separator, &trailer, &max_payload))
        return -1;
    Py_ssize_t size = PyBytes_GET_SIZE(separator);
    if (size == 0 || (PyBytes_AS_STRING(separator)[0] >= '0' && PyBytes_AS_STRING(separator)[0] <= '9')) {
        PyErr_SetString(PyExc_ValueError, "the separator must be non-empty and not start with a digit");
        return -1;
    }
    Py_XSETREF(self->marker, Py_NewRef(marker));
    Py_XSETREF(self->separator, Py_NewRef(separator));
    Py_XSETREF(self->trailer, Py_NewRef(trailer));
    self->max_payload = max_payload;
    return 0;
}

/* The digits of a limit: len(str(max(limit, 0))). */
static Py_ssize_t
digits_of(Py_ssize_t limit)
{
    Py_ssize_t digits = 1;
    while (limit >= 10) {
        limit /= 10;
        digits++;
    }
    return digits;
}

/* An instance made by __new__ alone (copy.copy, a subclass that skips
 * __init__) has no bytes to frame with: refuse it instead of crashing. */
static int
made(Splitter *self)
{
    if (self->marker != NULL && self->separator != NULL && self->trailer != NULL)
        return 1;
    PyErr_SetString(PyExc_TypeError, "CountedSplitter.__init__ was not called");
    return 0;
}

/* split(data, start, out) -> the position it stopped at */
static PyObject *
splitter_split(Splitter *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (!made(self))
        return NULL;
    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError, "split() takes 3 arguments (data, start, out), %zd given", nargs);
        return NULL;
    }
    PyObject *data = args[0], *out = args[2];
    if (!PyBytes_Check(data)) {
        PyErr_Format(PyExc_TypeError, "split() needs bytes, not %.100s", Py_TYPE(data)->tp_name);
        return NULL;
    }
    if (!PyList_Check(out)) {
        PyErr_Format(PyExc_TypeError, "split() appends to a list, not %.100s", Py_TYPE(out)->tp_name);
        return NULL;
    }
    Py_ssize_t start = PyNumber_AsSsize_t(args[1], PyExc_OverflowError);
    if (start == -1 && PyErr_Occurred())
        return NULL;
    const char *buf = PyBytes_AS_STRING(data);
    Py_ssize_t size = PyBytes_GET_SIZE(data);
    if (start < 0 || start > size) {
        PyErr_Format(PyExc_ValueError, "start=%zd is outside the data (0 to %zd)", start, size);
        return NULL;
    }
    const char *marker = PyBytes_AS_STRING(self->marker);
    Py_ssize_t marker_size = PyBytes_GET_SIZE(self->marker);
    const char *separator = PyBytes_AS_STRING(self->separator);
    Py_ssize_t separator_size = PyBytes_GET_SIZE(self->separator);
    const char *trailer = PyBytes_AS_STRING(self->trailer);
    Py_ssize_t trailer_size = PyBytes_GET_SIZE(self->trailer);
    Py_ssize_t limit = self->max_payload;
    Py_ssize_t max_digits = digits_of(limit);   /* at most 19: n fits in 64 bits */

    Py_ssize_t pos = start;
    while (pos < size) {
        if (size - pos < marker_size || memcmp(buf + pos, marker, marker_size) != 0)
            break;
        Py_ssize_t head = pos + marker_size, i = head;
        uint64_t n = 0;
        while (i < size && i - head < max_digits && buf[i] >= '0' && buf[i] <= '9')
            n = n * 10 + (uint64_t)(buf[i++] - '0');
        if (i == head || size - i < separator_size || memcmp(buf + i, separator, separator_size) != 0)
            break;  /* no digits, too many, or no separator after them (yet) */
        if (limit < 0 || n > (uint64_t)limit)
            break;
        Py_ssize_t begin = i + separator_size;
        if (size - begin < (Py_ssize_t)n)
            break;  /* checked before begin + n is formed: it cannot overflow then */
        Py_ssize_t stop = begin + (Py_ssize_t)n;
        if (size - stop < trailer_size || memcmp(buf + stop, trailer, trailer_size) != 0)
            break;
        PyObject *payload = PyBytes_FromStringAndSize(buf + begin, (Py_ssize_t)n);
        if (payload == NULL)
            return NULL;
        int failed = PyList_Append(out, payload);
        Py_DECREF(payload);
        if (failed)
            return NULL;
        pos = stop + trailer_size;
    }
    return PyLong_FromSsize_t(pos);
}

/* n >= 0 in decimal at out (no NUL); returns the digits written. (Not
 * snprintf: glibc's costs ~1,000 instructions a call, a GET's whole budget.) */
static Py_ssize_t
put_decimal(char *out, unsigned long long n)
{
    char digits[20];
    Py_ssize_t count = 0;
    do {
        digits[count++] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    for (Py_ssize_t i = 0; i < count; i++)
        out[i] = digits[count - 1 - i];
    return count;
}

static Py_ssize_t
decimal_size(unsigned long long n)
{
    Py_ssize_t count = 1;
    while (n >= 10) {
        n /= 10;
        count++;
    }
    return count;
}

/* One item's bytes for join: bytes as they are, str as UTF-8, an exact int
 * (not a bool) in decimal; anything else a TypeError. Sets *owned to a new
 * reference to keep alive while the pointer is used (or NULL). */
static const char *
item_bytes(PyObject *item, Py_ssize_t *size, PyObject **owned, char *digits)
{
    *owned = NULL;
    if (PyBytes_Check(item)) {
        *size = PyBytes_GET_SIZE(item);
        return PyBytes_AS_STRING(item);
    }
    if (PyUnicode_Check(item)) {
        if (PyUnicode_IS_COMPACT_ASCII(item)) {   /* its own bytes are its UTF-8 */
            *size = PyUnicode_GET_LENGTH(item);
            return (const char *)PyUnicode_DATA(item);
        }
        /* Not PyUnicode_AsUTF8AndSize: it would keep a UTF-8 copy inside the
         * str for as long as the str lives (a 10 MB value, twice). */
        PyObject *encoded = PyUnicode_AsUTF8String(item);
        if (encoded == NULL)
            return NULL;
        *owned = encoded;
        *size = PyBytes_GET_SIZE(encoded);
        return PyBytes_AS_STRING(encoded);
    }
    if (PyLong_CheckExact(item)) {
        int overflow;
        long long value = PyLong_AsLongLongAndOverflow(item, &overflow);
        if (!overflow) {
            if (value == -1 && PyErr_Occurred())
                return NULL;
            char *at = digits;
            if (value < 0)
                *at++ = '-';
            unsigned long long magnitude = value < 0 ? 0ULL - (unsigned long long)value
                                                     : (unsigned long long)value;
            *size = (at - digits) + put_decimal(at, magnitude);
            return digits;
        }
        PyObject *text = PyObject_Str(item);   /* a big int: Python's own digits (ASCII) */
        if (text == NULL)
            return NULL;
        *owned = text;
        *size = PyUnicode_GET_LENGTH(text);
        return (const char *)PyUnicode_DATA(text);
    }
    PyErr_Format(PyExc_TypeError, "join() frames bytes, str and int, not %.100s",
                 Py_TYPE(item)->tp_name);
    return NULL;
}

static PyObject *LocalProtocolError;   /* ambidex.sansio._errors.LocalProtocolError */

/* join(items, head) -> head, then a frame around each item */
static PyObject *
splitter_join(Splitter *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (!made(self))
        return NULL;
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "join() takes 2 arguments (items, head), %zd given", nargs);
        return NULL;
    }
    PyObject *head = args[1];
    if (!PyBytes_Check(head)) {
        PyErr_Format(PyExc_TypeError, "join()'s head is bytes, not %.100s", Py_TYPE(head)->tp_name);
        return NULL;
    }
    PyObject *items = PySequence_Fast(args[0], "join() needs a sequence of items");
    if (items == NULL)
        return NULL;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(items);
    PyObject **item = PySequence_Fast_ITEMS(items);
    Py_ssize_t marker_size = PyBytes_GET_SIZE(self->marker);
    Py_ssize_t separator_size = PyBytes_GET_SIZE(self->separator);
    Py_ssize_t trailer_size = PyBytes_GET_SIZE(self->trailer);
    Py_ssize_t fixed = marker_size + separator_size + trailer_size;

    /* Two passes: sizes, then copies. The few items of a command need no
     * allocation for their pieces; more than that, one array. */
    enum { FEW = 16 };
    const char *few_data[FEW];
    Py_ssize_t few_size[FEW];
    PyObject *few_owned[FEW];
    char few_digits[FEW][24];
    const char **data = few_data;
    Py_ssize_t *sizes = few_size;
    PyObject **owned = few_owned;
    char (*digits)[24] = few_digits;
    void *block = NULL;
    PyObject *result = NULL;
    Py_ssize_t filled = 0;
    if (count > FEW) {
        block = PyMem_Malloc((size_t)count * (sizeof(*data) + sizeof(*sizes) + sizeof(*owned) + 24));
        if (block == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        data = (const char **)block;
        sizes = (Py_ssize_t *)(data + count);
        owned = (PyObject **)(sizes + count);
        digits = (char (*)[24])(owned + count);
    }
    Py_ssize_t total = PyBytes_GET_SIZE(head);
    for (; filled < count; filled++) {
        Py_ssize_t size;
        data[filled] = item_bytes(item[filled], &size, &owned[filled], digits[filled]);
        if (data[filled] == NULL) {
            Py_CLEAR(owned[filled]);
            goto done;
        }
        sizes[filled] = size;
        if (size > self->max_payload) {
            PyErr_Format(LocalProtocolError, "payload to send: %zd bytes is over max_payload=%zd",
                         size, self->max_payload);
            Py_CLEAR(owned[filled]);
            goto done;
        }
        total += fixed + decimal_size((unsigned long long)size) + size;
    }
    result = PyBytes_FromStringAndSize(NULL, total);
    if (result == NULL)
        goto done;
    char *out = PyBytes_AS_STRING(result);
    memcpy(out, PyBytes_AS_STRING(head), PyBytes_GET_SIZE(head));
    out += PyBytes_GET_SIZE(head);
    for (Py_ssize_t i = 0; i < count; i++) {
        memcpy(out, PyBytes_AS_STRING(self->marker), marker_size);
        out += marker_size;
        out += put_decimal(out, (unsigned long long)sizes[i]);
        memcpy(out, PyBytes_AS_STRING(self->separator), separator_size);
        out += separator_size;
        memcpy(out, data[i], sizes[i]);
        out += sizes[i];
        memcpy(out, PyBytes_AS_STRING(self->trailer), trailer_size);
        out += trailer_size;
    }
done:
    for (Py_ssize_t i = 0; i < filled; i++)
        Py_XDECREF(owned[i]);
    PyMem_Free(block);
    Py_DECREF(items);
    return result;
}

static void
splitter_dealloc(Splitter *self)
{
    /* Only bytes are held: no cycle can go through a splitter (no GC). A
     * Python subclass's instance is freed by subtype_dealloc, which calls
     * this and then drops its reference to the type itself. */
    Py_CLEAR(self->marker);
    Py_CLEAR(self->separator);
    Py_CLEAR(self->trailer);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef splitter_methods[] = {
    {"split", (PyCFunction)(void (*)(void))splitter_split, METH_FASTCALL,
     "split(data, start, out) -> position: append the payload of each whole, valid frame "
     "from start on to out; return where the first other thing begins."},
    {"join", (PyCFunction)(void (*)(void))splitter_join, METH_FASTCALL,
     "join(items, head) -> bytes: head, then a frame around each item (bytes; str as UTF-8; "
     "int in decimal); LocalProtocolError for an item over max_payload."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef splitter_members[] = {
    {"marker", T_OBJECT_EX, offsetof(Splitter, marker), READONLY, "What each frame starts with."},
    {"separator", T_OBJECT_EX, offsetof(Splitter, separator), READONLY, "What ends the length."},
    {"trailer", T_OBJECT_EX, offsetof(Splitter, trailer), READONLY, "What follows the payload."},
    {"max_payload", T_PYSSIZET, offsetof(Splitter, max_payload), 0, "The largest length taken."},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject SplitterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ambidex.sansio._speedups.CountedSplitter",
    .tp_basicsize = sizeof(Splitter),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "CountedSplitter(marker, separator, trailer, max_payload): CountedFraming's split, in C.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)splitter_init,
    .tp_dealloc = (destructor)splitter_dealloc,
    .tp_methods = splitter_methods,
    .tp_members = splitter_members,
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "ambidex.sansio._speedups",
    .m_doc = "CountedFraming.split in C (optional; see ambidex/sansio/_counted.py).",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    if (PyType_Ready(&SplitterType) < 0)
        return NULL;
    PyObject *errors = PyImport_ImportModule("ambidex.sansio._errors");
    if (errors == NULL)
        return NULL;
    LocalProtocolError = PyObject_GetAttrString(errors, "LocalProtocolError");
    Py_DECREF(errors);
    if (LocalProtocolError == NULL)
        return NULL;
    PyObject *module = PyModule_Create(&speedups_module);
    if (module == NULL)
        return NULL;
    if (PyModule_AddObjectRef(module, "CountedSplitter", (PyObject *)&SplitterType) < 0
            || PyModule_AddStringConstant(module, "SOURCE_HASH", AMBIDEX_SOURCE_HASH) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
