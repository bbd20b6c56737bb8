/* ambidex.io._speedups: Stream's two hot reads, without a Python frame.
 *
 * Optional. An install compiles it when a C compiler is there
 * (tools/hatch_speedups.py); without it the pure-Python methods run, with the
 * same results. ambidex/io/_accelerate.py decides whether to use it.
 *
 * Why C: Stream.read_until's fast path is one C call (BufferedReader.readline)
 * and a check that the line ends with the separator. On CPython the Python
 * method frame around it costs about as much as makefile's whole readline.
 * FastRead is that method in C: a method descriptor (like a function in a
 * class body) that does the fast path and hands every other case, unchanged,
 * to the pure-Python method it wraps (its __wrapped__). So the logic of the
 * careful path exists once, in Python, and this file holds only the part
 * that the pure method's own fast path does (tests/io checks both agree):
 *
 *     read = self._lines                             # or ._exact (the reader's door)
 *     if read is not None and <arguments are the plain kind>:
 *         data = read(limit)                         # or read(n)
 *         if <data is a whole line / frame>:
 *             return data
 *         self._reader.missed(data)                  # give back, raise a failure
 *     return <the pure method>(self, *args, **kwargs)
 *
 * "The plain kind": exact bytes / int arguments (anything else, including a
 * keyword spelled differently, goes to the pure method, which checks it).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>

static PyObject *str_reader, *str_lines, *str_exact, *str_missed, *str_limit;

enum { READ_UNTIL = 0, READ_EXACTLY = 1 };

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *pure;             /* the pure-Python method: every other case */
    PyObject *separator;        /* read_until's default separator */
    PyObject *limit;            /* read_until's default limit */
    int kind;
} FastRead;

static PyObject *
call_pure(FastRead *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    return PyObject_Vectorcall(self->pure, args, PyVectorcall_NARGS(nargsf), kwnames);
}

/* The C path's result was not a whole line or frame: reader.missed(data) puts
 * it back in front (and raises a failure the socket reported), then the pure
 * method decides, exactly as the pure fast path does after its own miss. */
static PyObject *
miss(FastRead *self, PyObject *reader, PyObject *data,
     PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    PyObject *result = PyObject_CallMethodOneArg(reader, str_missed, data);
    Py_DECREF(data);
    Py_DECREF(reader);
    if (result == NULL)
        return NULL;
    Py_DECREF(result);
    return call_pure(self, args, nargsf, kwnames);
}

/* The stream's copy of its reader's open door (``_lines`` or ``_exact``); NULL
 * with no error set: the door is shut (None). */
static PyObject *
door(PyObject *stream, PyObject *name)
{
    PyObject *read = PyObject_GetAttr(stream, name);
    if (read == Py_None) {
        Py_DECREF(read);
        return NULL;
    }
    return read;
}

/* After a miss: self._reader.missed(data), then the pure method. */
static PyObject *
miss_on(FastRead *self, PyObject *data, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    PyObject *reader = PyObject_GetAttr(args[0], str_reader);
    if (reader == NULL) {
        Py_DECREF(data);
        return NULL;
    }
    return miss(self, reader, data, args, nargsf, kwnames);
}

static int
is_limit_keyword(PyObject *name)
{
    return name == str_limit || PyUnicode_Compare(name, str_limit) == 0;
}

/* read_until(self, separator=b"\n", *, limit=65536) */
static PyObject *
read_until(FastRead *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    if (nargs < 1 || nargs > 2 || nkw > 1 || (nkw == 1 && !is_limit_keyword(PyTuple_GET_ITEM(kwnames, 0))))
        return call_pure(self, args, nargsf, kwnames);
    PyObject *separator = nargs == 2 ? args[1] : self->separator;
    PyObject *limit = nkw == 1 ? args[nargs] : self->limit;
    if (!PyBytes_CheckExact(separator) || !PyLong_CheckExact(limit))
        return call_pure(self, args, nargsf, kwnames);
    Py_ssize_t size = PyBytes_GET_SIZE(separator);
    int overflow;
    long bound = PyLong_AsLongAndOverflow(limit, &overflow);
    /* readline stops at "\n": the C path serves separators that end with it,
     * and limits of at least 1 (readline(-1) is unbounded, 0 reads nothing). */
    if (size == 0 || PyBytes_AS_STRING(separator)[size - 1] != '\n' || (bound <= 0 && overflow <= 0))
        return call_pure(self, args, nargsf, kwnames);
    PyObject *readline = door(args[0], str_lines);
    if (readline == NULL) {
        if (PyErr_Occurred())
            return NULL;
        return call_pure(self, args, nargsf, kwnames);
    }
    PyObject *line = PyObject_Vectorcall(readline, &limit, 1, NULL);
    Py_DECREF(readline);
    if (line == NULL)
        return NULL;
    if (PyBytes_CheckExact(line)) {
        Py_ssize_t n = PyBytes_GET_SIZE(line);
        if (n >= size && memcmp(PyBytes_AS_STRING(line) + n - size, PyBytes_AS_STRING(separator), size) == 0)
            return line;
    }
    return miss_on(self, line, args, nargsf, kwnames);
}

/* read_exactly(self, n) */
static PyObject *
read_exactly(FastRead *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    if (PyVectorcall_NARGS(nargsf) != 2 || kwnames != NULL || !PyLong_CheckExact(args[1]))
        return call_pure(self, args, nargsf, kwnames);
    Py_ssize_t n = PyLong_AsSsize_t(args[1]);
    if (n < 0) {
        if (PyErr_Occurred())
            PyErr_Clear();  /* too big for a size: the pure method says so */
        return call_pure(self, args, nargsf, kwnames);
    }
    PyObject *read = door(args[0], str_exact);
    if (read == NULL) {
        if (PyErr_Occurred())
            return NULL;
        return call_pure(self, args, nargsf, kwnames);
    }
    PyObject *data = PyObject_Vectorcall(read, &args[1], 1, NULL);
    Py_DECREF(read);
    if (data == NULL)
        return NULL;
    if (PyBytes_CheckExact(data) && PyBytes_GET_SIZE(data) == n)
        return data;
    return miss_on(self, data, args, nargsf, kwnames);
}

static PyObject *
fastread_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    FastRead *fast = (FastRead *)self;
    if (fast->kind == READ_UNTIL)
        return read_until(fast, args, nargsf, kwnames);
    return read_exactly(fast, args, nargsf, kwnames);
}

/* Bound like a function: Stream.read_until is this object, stream.read_until a
 * bound method. (Py_TPFLAGS_METHOD_DESCRIPTOR lets a call skip the binding.) */
static PyObject *
fastread_get(PyObject *self, PyObject *obj, PyObject *type)
{
    if (obj == NULL || obj == Py_None)
        return Py_NewRef(self);
    return PyMethod_New(self, obj);
}

static PyObject *
fastread_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *pure, *separator, *limit;
    int kind;
    static char *names[] = {"pure", "kind", "separator", "limit", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OiSO!:FastRead", names,
                                     &pure, &kind, &separator, &PyLong_Type, &limit))
        return NULL;
    if (!PyCallable_Check(pure) || (kind != READ_UNTIL && kind != READ_EXACTLY)) {
        PyErr_SetString(PyExc_ValueError, "FastRead(pure, kind, separator, limit): a callable and kind 0 or 1");
        return NULL;
    }
    FastRead *self = (FastRead *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->vectorcall = fastread_vectorcall;
    self->pure = Py_NewRef(pure);
    self->separator = Py_NewRef(separator);
    self->limit = Py_NewRef(limit);
    self->kind = kind;
    return (PyObject *)self;
}

static int
fastread_traverse(FastRead *self, visitproc visit, void *arg)
{
    Py_VISIT(self->pure);
    Py_VISIT(self->separator);
    Py_VISIT(self->limit);
    return 0;
}

static int
fastread_clear(FastRead *self)
{
    Py_CLEAR(self->pure);
    Py_CLEAR(self->separator);
    Py_CLEAR(self->limit);
    return 0;
}

static void
fastread_dealloc(FastRead *self)
{
    PyObject_GC_UnTrack(self);
    fastread_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* What introspection asks a function (inspect.signature follows __wrapped__). */
static PyObject *
fastread_forward(FastRead *self, void *name)
{
    return PyObject_GetAttrString(self->pure, (const char *)name);
}

static PyObject *
fastread_wrapped(FastRead *self, void *closure)
{
    return Py_NewRef(self->pure);
}

static PyGetSetDef fastread_getset[] = {
    {"__wrapped__", (getter)fastread_wrapped, NULL, "the pure-Python method", NULL},
    {"__doc__", (getter)fastread_forward, NULL, NULL, "__doc__"},
    {"__name__", (getter)fastread_forward, NULL, NULL, "__name__"},
    {"__qualname__", (getter)fastread_forward, NULL, NULL, "__qualname__"},
    {"__module__", (getter)fastread_forward, NULL, NULL, "__module__"},
    {NULL},
};

static PyTypeObject FastReadType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ambidex.io._speedups.FastRead",
    .tp_basicsize = sizeof(FastRead),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL
                | Py_TPFLAGS_METHOD_DESCRIPTOR,
    .tp_vectorcall_offset = offsetof(FastRead, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_descr_get = fastread_get,
    .tp_new = fastread_new,
    .tp_traverse = (traverseproc)fastread_traverse,
    .tp_clear = (inquiry)fastread_clear,
    .tp_dealloc = (destructor)fastread_dealloc,
    .tp_getset = fastread_getset,
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "ambidex.io._speedups",
    .m_doc = "Stream.read_until / read_exactly's fast path in C (optional; see _accelerate.py).",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    if (PyType_Ready(&FastReadType) < 0)
        return NULL;
    str_reader = PyUnicode_InternFromString("_reader");
    str_lines = PyUnicode_InternFromString("_lines");
    str_exact = PyUnicode_InternFromString("_exact");
    str_missed = PyUnicode_InternFromString("missed");
    str_limit = PyUnicode_InternFromString("limit");
    if (!str_reader || !str_lines || !str_exact || !str_missed || !str_limit)
        return NULL;
    PyObject *module = PyModule_Create(&speedups_module);
    if (module == NULL)
        return NULL;
    if (PyModule_AddObjectRef(module, "FastRead", (PyObject *)&FastReadType) < 0
            || PyModule_AddStringConstant(module, "SOURCE_HASH", AMBIDEX_SOURCE_HASH) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
