/* ambidex.io._speedups: Stream's two hot reads, without a Python frame; and
 * ``async for`` over a file's lines (ambidex.offload), at the end of the file.
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
 *
 * What the C saves besides the frame, measured with callgrind against
 * makefile's readline (instructions per 40-byte line, 3.13): looking up
 * ``self._lines`` (~200: a type lookup, then the instance's; see Door below),
 * calling the bound readline through the generic call (~50: call_door), a
 * memcmp for b"\n" and a function call to read the limit (~40). What is left
 * (~180 on 3.13) is the interpreter's own: a keyword call is not specialized
 * there. 3.10 binds the method for every keyword call (LOAD_ATTR +
 * CALL_FUNCTION_KW; LOAD_METHOD serves positional calls only): a
 * types.MethodType made and freed each time, ~250 instructions; the bound
 * method FastRead gives (BoundRead) comes from a free list, ~130.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <structmember.h>   /* T_OBJECT, PyMemberDef (3.10 and 3.11 spell them only here) */

/* The fast path inlined, the rest (misses, other arguments) kept out of its way. */
#if defined(__GNUC__) || defined(__clang__)
#define HOT static inline __attribute__((always_inline))
#define COLD static __attribute__((cold, noinline))
#else
#define HOT static inline
#define COLD static
#endif

static PyObject *str_reader, *str_lines, *str_exact, *str_missed, *str_limit, *str_door;

enum { READ_UNTIL = 0, READ_EXACTLY = 1 };

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *pure;             /* the pure-Python method: every other case */
    PyObject *separator;        /* read_until's default separator */
    PyObject *limit;            /* read_until's default limit */
    int kind;
    PyObject *name;             /* the attribute's name (the pure method's) */
    PyObject *clean_dict;       /* 3.10: an instance dict known not to hold it... */
    uint64_t clean_tag;         /* ...in this version of it (see fastread_get) */
} FastRead;

/* A stream's door, where C finds it without an attribute lookup.
 *
 * The stream keeps its copy of the reader's door in two attributes (``_lines``,
 * ``_exact``), which the pure fast path loads. Looking an instance attribute up
 * from C costs about as much as the rest of the call (a type lookup, then the
 * instance's own; ~200 instructions on 3.13), so the reader also keeps the door
 * in a Door, one per reader, which it updates with the attributes
 * (``SocketReader._reopen``), and FastRead remembers the Door of the stream it
 * read last: ``last_door``, a borrowed pointer that the Door's deallocation
 * clears. A Door knows its stream by a weak reference, so a hit is checked by
 * identity: a stream that died (and an object that took its address) never
 * matches. A stream that gets a new reader (start_tls) gets a new Door, whose
 * creation retires the old one. Any other stream is asked for ``_door`` (and,
 * without one, for ``_lines`` / ``_exact``), as before. */
typedef struct {
    PyObject_HEAD
    PyObject *owner;            /* weak reference to the stream; NULL once retired */
    PyObject *lines;            /* the door: BufferedReader.readline, or None (shut) */
    PyObject *exact;            /* BufferedReader.read, or None */
} Door;

static PyTypeObject DoorType;
static Door *last_door;         /* borrowed; see above */

static int
door_serves(Door *door, PyObject *stream)
{
    return door->owner != NULL && ((PyWeakReference *)door->owner)->wr_object == stream;
}

COLD PyObject *
call_pure(FastRead *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    return PyObject_Vectorcall(self->pure, args, PyVectorcall_NARGS(nargsf), kwnames);
}

/* The C path's result was not a whole line or frame: reader.missed(data) puts
 * it back in front (and raises a failure the socket reported), then the pure
 * method decides, exactly as the pure fast path does after its own miss. */
COLD PyObject *
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

/* The open door (``lines`` or ``exact``) of a Door; NULL: shut (None). */
static inline PyObject *
door_of(FastRead *self, Door *known)
{
    PyObject *read = self->kind == READ_UNTIL ? known->lines : known->exact;
    return read == Py_None || read == NULL ? NULL : Py_NewRef(read);
}

/* A stream other than the last one served: its Door, or its attribute. */
COLD PyObject *
door_lookup(FastRead *self, PyObject *stream, PyObject *name)
{
    PyObject *found = PyObject_GetAttr(stream, str_door);
    if (found == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError))
            return NULL;
        PyErr_Clear();  /* not a stream of ours: ask it by name below */
    }
    else {
        int owned = Py_IS_TYPE(found, &DoorType) && door_serves((Door *)found, stream);
        if (owned)
            last_door = (Door *)found;  /* the stream owns it (and keeps it alive) */
        Py_DECREF(found);
        if (owned)
            return door_of(self, last_door);
    }
    PyObject *read = PyObject_GetAttr(stream, name);
    if (read == Py_None) {
        Py_DECREF(read);
        return NULL;
    }
    return read;
}

/* The stream's open door (``_lines`` or ``_exact``); NULL with no error set:
 * the door is shut (None). */
HOT PyObject *
door(FastRead *self, PyObject *stream, PyObject *name)
{
    Door *known = last_door;
    if (known != NULL && door_serves(known, stream))
        return door_of(self, known);
    return door_lookup(self, stream, name);
}

/* limit >= 1, for an exact int (checked by the caller), without a call for
 * the usual small one. */
static inline int
is_positive(PyObject *limit)
{
#if PY_VERSION_HEX >= 0x030C0000
    if (PyUnstable_Long_IsCompact((PyLongObject *)limit))
        return PyUnstable_Long_CompactValue((PyLongObject *)limit) > 0;
    int overflow;
    long value = PyLong_AsLongAndOverflow(limit, &overflow);
    return value > 0 || overflow > 0;
#else
    return Py_SIZE(limit) > 0;  /* the sign of an int is the sign of its size */
#endif
}

/* After a miss: self._reader.missed(data), then the pure method. */
COLD PyObject *
miss_on(FastRead *self, PyObject *data, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    PyObject *reader = PyObject_GetAttr(args[0], str_reader);
    if (reader == NULL) {
        Py_DECREF(data);
        return NULL;
    }
    return miss(self, reader, data, args, nargsf, kwnames);
}

/* The door is the BufferedReader's own bound ``readline`` / ``read``: a builtin
 * method with the fast calling convention. Call its C function directly, as
 * CPython's specialized call of ``f.readline(n)`` does (no bound-method
 * dispatch); anything else (a test's stand-in) is called the usual way. No
 * recursion check is lost: the buffered read calls Python code only through
 * the raw layer's readinto, a Python frame that checks for itself. */
typedef PyObject *(*fastcall)(PyObject *, PyObject *const *, Py_ssize_t);
#define CALL_FLAGS (METH_VARARGS | METH_FASTCALL | METH_NOARGS | METH_O | METH_KEYWORDS | METH_METHOD)

static inline PyObject *
call_door(PyObject *read, PyObject *arg)
{
    if (PyCFunction_CheckExact(read) && (PyCFunction_GET_FLAGS(read) & CALL_FLAGS) == METH_FASTCALL) {
        fastcall function = (fastcall)(void (*)(void))PyCFunction_GET_FUNCTION(read);
        return function(PyCFunction_GET_SELF(read), &arg, 1);
    }
    return PyObject_Vectorcall(read, &arg, 1, NULL);
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
    /* readline stops at "\n": the C path serves separators that end with it,
     * and limits of at least 1 (readline(-1) is unbounded, 0 reads nothing). */
    if (size == 0 || PyBytes_AS_STRING(separator)[size - 1] != '\n' || !is_positive(limit))
        return call_pure(self, args, nargsf, kwnames);
    PyObject *readline = door(self, args[0], str_lines);
    if (readline == NULL) {
        if (PyErr_Occurred())
            return NULL;
        return call_pure(self, args, nargsf, kwnames);
    }
    PyObject *line = call_door(readline, limit);
    Py_DECREF(readline);
    if (line == NULL)
        return NULL;
    if (PyBytes_CheckExact(line)) {
        Py_ssize_t n = PyBytes_GET_SIZE(line);
        const char *end = PyBytes_AS_STRING(line) + n;
        /* b"\n" (its last byte is "\n", checked above) needs no memcmp call. */
        if (size == 1 ? n >= 1 && end[-1] == '\n'
                      : n >= size && memcmp(end - size, PyBytes_AS_STRING(separator), size) == 0)
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
    PyObject *read = door(self, args[0], str_exact);
    if (read == NULL) {
        if (PyErr_Occurred())
            return NULL;
        return call_pure(self, args, nargsf, kwnames);
    }
    PyObject *data = call_door(read, args[1]);
    Py_DECREF(read);
    if (data == NULL)
        return NULL;
    if (PyBytes_CheckExact(data) && PyBytes_GET_SIZE(data) == n)
        return data;
    return miss_on(self, data, args, nargsf, kwnames);
}

/* Each kind its own vectorcall: no dispatch on the way in. */
static PyObject *
fastread_until(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    return read_until((FastRead *)self, args, nargsf, kwnames);
}

static PyObject *
fastread_exactly(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    return read_exactly((FastRead *)self, args, nargsf, kwnames);
}

/* ``stream.read_until``: a FastRead bound to its stream, without the cost of a
 * types.MethodType.
 *
 * Python 3.10 compiles a method call with a keyword argument
 * (``s.read_until(b"\n", limit=n)``) to LOAD_ATTR + CALL_FUNCTION_KW, so the
 * attribute lookup binds the method and every such call makes a bound method
 * and frees it again (a positional call uses LOAD_METHOD, which binds nothing,
 * and 3.11 on bind neither way). A types.MethodType costs a GC allocation, a
 * generic call through it and its deallocation: ~45 ns, a third of a 40-byte
 * line's whole read. BoundRead is that bound method for FastRead: kept on a
 * free list (as CPython kept its own bound methods before 3.9) and calling the
 * C read directly. Whatever asks, it answers as a bound method does:
 * ``isinstance(bound, types.MethodType)`` (through ``__class__``, so
 * ``inspect`` treats it as one), ``__self__``, ``__func__``, ``__get__``
 * (as this version's bound methods have it or not),
 * equality and hash (also with a types.MethodType of the same function and
 * object), repr, pickling, weak references, and every other attribute from
 * the FastRead it binds (``__wrapped__``, ``__name__``, ``__doc__``...).
 * Only ``type(bound)`` tells. */
typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *func;             /* the FastRead */
    PyObject *self;             /* the stream */
    PyObject *weakreflist;
} BoundRead;

static PyTypeObject BoundReadType;

#define BOUND_FREE_MAX 16
static BoundRead *bound_free[BOUND_FREE_MAX];
static int bound_free_count;

static PyObject *
bound_vectorcall(PyObject *op, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    BoundRead *bound = (BoundRead *)op;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    PyObject *result;
    /* The stream goes in front of the arguments, as a bound method puts it: in
     * the slot before them when the caller lends it (the interpreter does). The
     * caller holds this object, which holds the stream, for the whole call. */
    if (nargsf & PY_VECTORCALL_ARGUMENTS_OFFSET) {
        PyObject **with_self = (PyObject **)args - 1;
        PyObject *saved = with_self[0];
        with_self[0] = bound->self;
        result = ((FastRead *)bound->func)->vectorcall(bound->func, with_self, nargs + 1, kwnames);
        with_self[0] = saved;
        return result;
    }
    Py_ssize_t total = nargs + (kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames));
    PyObject *small[8];
    PyObject **with_self = total < 8 ? small : PyMem_Malloc((total + 1) * sizeof(PyObject *));
    if (with_self == NULL)
        return PyErr_NoMemory();
    with_self[0] = bound->self;
    if (total > 0)
        memcpy(with_self + 1, args, total * sizeof(PyObject *));
    result = ((FastRead *)bound->func)->vectorcall(bound->func, with_self, nargs + 1, kwnames);
    if (with_self != small)
        PyMem_Free(with_self);
    return result;
}

static PyObject *
bound_new(PyObject *func, PyObject *self)
{
    BoundRead *bound;
    if (bound_free_count > 0) {
        bound = bound_free[--bound_free_count];
#if PY_VERSION_HEX < 0x030D0000 && !defined(Py_TRACE_REFS)
        Py_SET_REFCNT(bound, 1);    /* all PyObject_Init does here, but a call */
#else
        (void)PyObject_Init((PyObject *)bound, &BoundReadType);  /* 3.13: ref tracers see it */
#endif
    }
    else {
        bound = PyObject_GC_New(BoundRead, &BoundReadType);
        if (bound == NULL)
            return NULL;
        bound->vectorcall = bound_vectorcall;
        bound->weakreflist = NULL;
    }
    bound->func = Py_NewRef(func);
    bound->self = Py_NewRef(self);
    PyObject_GC_Track(bound);
    return (PyObject *)bound;
}

static void
bound_dealloc(BoundRead *bound)
{
    PyObject_GC_UnTrack(bound);
    if (bound->weakreflist != NULL)
        PyObject_ClearWeakRefs((PyObject *)bound);
    PyObject *func = bound->func, *self = bound->self;
    bound->func = bound->self = NULL;
    if (bound_free_count < BOUND_FREE_MAX)
        bound_free[bound_free_count++] = bound;
    else
        PyObject_GC_Del(bound);
    /* Last: freeing the stream runs its code, which may bind a method again. */
    Py_DECREF(func);
    Py_DECREF(self);
}

/* No tp_clear, like types.MethodType: a cycle through a bound method is broken
 * elsewhere (an instance's dict), so a BoundRead is never seen half cleared. */
static int
bound_traverse(BoundRead *bound, visitproc visit, void *arg)
{
    Py_VISIT(bound->func);
    Py_VISIT(bound->self);
    return 0;
}

/* A bound method's other attributes are its function's. */
static PyObject *
bound_getattro(PyObject *op, PyObject *name)
{
    PyObject *found = PyObject_GenericGetAttr(op, name);
    if (found != NULL || !PyErr_ExceptionMatches(PyExc_AttributeError))
        return found;
    PyErr_Clear();
    return PyObject_GetAttr(((BoundRead *)op)->func, name);
}

static PyObject *
bound_forward(BoundRead *bound, void *name)
{
    return PyObject_GetAttrString(bound->func, (const char *)name);
}

static PyObject *
bound_class(PyObject *bound, void *closure)
{
    return Py_NewRef((PyObject *)&PyMethod_Type);
}

/* The function and object of a bound method of either kind, or 0. */
static int
bound_parts(PyObject *op, PyObject **func, PyObject **self)
{
    if (Py_IS_TYPE(op, &BoundReadType)) {
        *func = ((BoundRead *)op)->func;
        *self = ((BoundRead *)op)->self;
        return 1;
    }
    if (PyMethod_Check(op)) {
        *func = PyMethod_GET_FUNCTION(op);
        *self = PyMethod_GET_SELF(op);
        return 1;
    }
    return 0;
}

/* As a bound method compares: the same object (identity) and equal functions. */
static PyObject *
bound_richcompare(PyObject *a, PyObject *b, int op)
{
    PyObject *func_a, *self_a, *func_b, *self_b;
    if ((op != Py_EQ && op != Py_NE) || !bound_parts(a, &func_a, &self_a) || !bound_parts(b, &func_b, &self_b))
        Py_RETURN_NOTIMPLEMENTED;
    int equal = self_a == self_b;
    if (equal) {
        equal = PyObject_RichCompareBool(func_a, func_b, Py_EQ);
        if (equal < 0)
            return NULL;
    }
    return PyBool_FromLong(op == Py_EQ ? equal : !equal);
}

static Py_hash_t
bound_hash(BoundRead *bound)
{
    Py_hash_t func = PyObject_Hash(bound->func);
    if (func == -1)
        return -1;
    Py_hash_t hash = _Py_HashPointer(bound->self) ^ func;
    return hash == -1 ? -2 : hash;
}

static PyObject *
bound_repr(BoundRead *bound)
{
    PyObject *name = PyObject_GetAttrString(bound->func, "__qualname__");
    if (name == NULL)
        return NULL;
    PyObject *repr = PyUnicode_FromFormat("<bound method %U of %R>", name, bound->self);
    Py_DECREF(name);
    return repr;
}

/* getattr(stream, "read_until"), as a bound method pickles. */
static PyObject *
bound_reduce(BoundRead *bound, PyObject *unused)
{
    PyObject *getattr = PyDict_GetItemString(PyEval_GetBuiltins(), "getattr");
    PyObject *name = PyObject_GetAttrString(bound->func, "__name__");
    if (getattr == NULL || name == NULL) {
        Py_XDECREF(name);
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_RuntimeError, "no builtin getattr");
        return NULL;
    }
    return Py_BuildValue("O(ON)", getattr, bound->self, name);
}

/* A bound method bound again is itself on 3.10 and 3.13; 3.11 and 3.12's has
 * no __get__ of its own, so its function's binds it anew (as here: below). */
#if PY_VERSION_HEX < 0x030B0000 || PY_VERSION_HEX >= 0x030D0000
static PyObject *
bound_get(PyObject *self, PyObject *obj, PyObject *type)
{
    return Py_NewRef(self);
}
#define BOUND_GET bound_get
#else
#define BOUND_GET NULL
#endif

static PyMethodDef bound_methods[] = {
    {"__reduce__", (PyCFunction)bound_reduce, METH_NOARGS, NULL},
    {NULL},
};

static PyMemberDef bound_members[] = {
    {"__func__", T_OBJECT, offsetof(BoundRead, func), READONLY, "the function (a FastRead)"},
    {"__self__", T_OBJECT, offsetof(BoundRead, self), READONLY, "the stream"},
    {NULL},
};

static PyGetSetDef bound_getset[] = {
    {"__class__", (getter)bound_class, NULL, "types.MethodType: this is a bound method", NULL},
    {"__doc__", (getter)bound_forward, NULL, NULL, "__doc__"},
    {"__name__", (getter)bound_forward, NULL, NULL, "__name__"},
    {"__qualname__", (getter)bound_forward, NULL, NULL, "__qualname__"},
    {"__module__", (getter)bound_forward, NULL, NULL, "__module__"},
    {NULL},
};

static PyTypeObject BoundReadType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ambidex.io._speedups.BoundRead",
    .tp_basicsize = sizeof(BoundRead),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(BoundRead, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_getattro = bound_getattro,
    .tp_descr_get = BOUND_GET,
    .tp_richcompare = bound_richcompare,
    .tp_hash = (hashfunc)bound_hash,
    .tp_repr = (reprfunc)bound_repr,
    .tp_weaklistoffset = offsetof(BoundRead, weakreflist),
    .tp_traverse = (traverseproc)bound_traverse,
    .tp_dealloc = (destructor)bound_dealloc,
    .tp_methods = bound_methods,
    .tp_members = bound_members,
    .tp_getset = bound_getset,
};

/* Bound like a function: Stream.read_until is this object, stream.read_until a
 * bound method, a BoundRead (above). (Py_TPFLAGS_METHOD_DESCRIPTOR lets a call
 * skip the binding.)
 *
 * Python 3.10 only: FastRead is a data descriptor there, so that the lookup
 * of ``stream.read_until`` for a keyword call (LOAD_ATTR) comes straight
 * here instead of first searching the instance's dict for the name, a miss
 * that costs as much again as the binding. It keeps the meaning of a method,
 * which an instance attribute of the same name hides: this function looks in
 * the instance's dict itself, unless that dict is the one it last found
 * without the name and has not changed since (``ma_version_tag``, which every
 * change of a dict renews, and which is unique across dicts), and
 * fastread_set stores and deletes in that dict as assignment would. The
 * __set__ and __delete__ that a data descriptor shows Python are removed from
 * the type (PyInit), so inspect, pydoc and getattr_static see a method
 * descriptor, as they do for a function. Positional calls (LOAD_METHOD) never
 * come here: they search the instance's dict themselves. */
static PyObject *
fastread_get(PyObject *self, PyObject *obj, PyObject *type)
{
    if (obj == NULL || obj == Py_None)
        return Py_NewRef(self);
#if PY_VERSION_HEX < 0x030B0000
    PyObject **dictptr = _PyObject_GetDictPtr(obj);
    PyObject *dict = dictptr == NULL ? NULL : *dictptr;
    FastRead *fast = (FastRead *)self;
    if (dict != NULL && (dict != fast->clean_dict
                         || ((PyDictObject *)dict)->ma_version_tag != fast->clean_tag)) {
        uint64_t tag = ((PyDictObject *)dict)->ma_version_tag;
        Py_INCREF(dict);
        PyObject *found = PyDict_GetItemWithError(dict, fast->name);
        Py_XINCREF(found);
        Py_DECREF(dict);
        if (found != NULL)
            return found;       /* an instance attribute hides the method */
        if (PyErr_Occurred())
            return NULL;
        /* Remembered only to be compared: a dict that changed (even during
         * the lookup) has another tag. */
        fast->clean_dict = dict;
        fast->clean_tag = tag;
    }
#endif
    return bound_new(self, obj);
}

#if PY_VERSION_HEX < 0x030B0000
/* 3.10: ``stream.read_until = f`` and ``del stream.read_until``, as they
 * are for a method: in the instance's dict (see fastread_get). */
static int
fastread_set(PyObject *self, PyObject *obj, PyObject *value)
{
    FastRead *fast = (FastRead *)self;
    if (_PyObject_GetDictPtr(obj) == NULL) {
        PyErr_Format(PyExc_AttributeError, "'%.50s' object attribute '%U' is read-only",
                     Py_TYPE(obj)->tp_name, fast->name);
        return -1;
    }
    PyObject *dict = PyObject_GenericGetDict(obj, NULL);  /* made if it is not there yet */
    if (dict == NULL)
        return -1;
    int result = value == NULL ? PyDict_DelItem(dict, fast->name)
                               : PyDict_SetItem(dict, fast->name, value);
    Py_DECREF(dict);
    if (result < 0 && PyErr_ExceptionMatches(PyExc_KeyError))
        PyErr_SetObject(PyExc_AttributeError, fast->name);
    return result;
}
#define FASTREAD_SET fastread_set
#else
#define FASTREAD_SET NULL
#endif

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
    PyObject *name = PyObject_GetAttrString(pure, "__name__");
    if (name == NULL)
        return NULL;
    if (!PyUnicode_CheckExact(name)) {
        Py_DECREF(name);
        PyErr_SetString(PyExc_TypeError, "FastRead(pure, ...): pure.__name__ must be a str");
        return NULL;
    }
    PyUnicode_InternInPlace(&name);
    FastRead *self = (FastRead *)type->tp_alloc(type, 0);
    if (self == NULL) {
        Py_DECREF(name);
        return NULL;
    }
    self->name = name;
    self->vectorcall = kind == READ_UNTIL ? fastread_until : fastread_exactly;
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
    Py_CLEAR(self->name);
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
    .tp_descr_set = FASTREAD_SET,
    .tp_new = fastread_new,
    .tp_traverse = (traverseproc)fastread_traverse,
    .tp_clear = (inquiry)fastread_clear,
    .tp_dealloc = (destructor)fastread_dealloc,
    .tp_getset = fastread_getset,
};

/* Door(stream): the door of the stream's current reader (see above). */
static PyObject *
door_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *stream;
    static char *names[] = {"stream", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O:Door", names, &stream))
        return NULL;
    PyObject *owner = PyWeakref_NewRef(stream, NULL);
    if (owner == NULL)
        return NULL;
    /* The stream's previous Door (its previous reader's) never serves again. */
    PyObject *previous = PyObject_GetAttr(stream, str_door);
    if (previous == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError)) {
            Py_DECREF(owner);
            return NULL;
        }
        PyErr_Clear();
    }
    else {
        if (Py_IS_TYPE(previous, &DoorType)) {
            if (last_door == (Door *)previous)
                last_door = NULL;
            Py_CLEAR(((Door *)previous)->owner);
        }
        Py_DECREF(previous);
    }
    Door *self = (Door *)type->tp_alloc(type, 0);
    if (self == NULL) {
        Py_DECREF(owner);
        return NULL;
    }
    self->owner = owner;
    self->lines = Py_NewRef(Py_None);
    self->exact = Py_NewRef(Py_None);
    return (PyObject *)self;
}

static int
door_traverse(Door *self, visitproc visit, void *arg)
{
    Py_VISIT(self->owner);
    Py_VISIT(self->lines);
    Py_VISIT(self->exact);
    return 0;
}

static int
door_clear(Door *self)
{
    Py_CLEAR(self->owner);
    Py_CLEAR(self->lines);
    Py_CLEAR(self->exact);
    return 0;
}

static void
door_dealloc(Door *self)
{
    if (last_door == self)
        last_door = NULL;
    PyObject_GC_UnTrack(self);
    door_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
door_serves_method(Door *self, PyObject *stream)
{
    return PyBool_FromLong(door_serves(self, stream));
}

static PyMethodDef door_methods[] = {
    {"serves", (PyCFunction)door_serves_method, METH_O, "Whether this is the stream's current door."},
    {NULL},
};

static PyMemberDef door_members[] = {
    {"lines", T_OBJECT, offsetof(Door, lines), 0, "the reader's lines: its C readline, or None"},
    {"exact", T_OBJECT, offsetof(Door, exact), 0, "the reader's exact: its C read, or None"},
    {NULL},
};

static PyTypeObject DoorType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ambidex.io._speedups.Door",
    .tp_basicsize = sizeof(Door),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Door(stream): the stream's reader's open door, where the C reads find it.",
    .tp_new = door_new,
    .tp_traverse = (traverseproc)door_traverse,
    .tp_clear = (inquiry)door_clear,
    .tp_dealloc = (destructor)door_dealloc,
    .tp_methods = door_methods,
    .tp_members = door_members,
};

/* --- async for over a file's lines (ambidex.offload.AsyncFile) ------------------
 *
 * AsyncFile reads lines in batches on a thread and hands them out on the loop.
 * Handing one out is the cost that stays per line: an async generator step
 * (~0.09 us on 3.11) or a coroutine per ``__anext__`` (~0.13 us), where a plain
 * ``for`` takes ~0.02 us. AsyncLines is the async iterator in C: its
 * ``__anext__`` returns an awaitable (Pending) whose first resumption takes
 * the next line from the batch and returns it at once (am_send, no exception,
 * on 3.10 and 3.11), ~0.04 us; when the batch is empty it runs the file's own
 * ``_next_line()`` coroutine, which reads the next batch (and may wait, be
 * cancelled, fail: all in Python). From 3.12 on the
 * interpreter resumes a non-coroutine awaitable through ``__next__`` and a
 * StopIteration, which costs what a coroutine does: AsyncFile uses AsyncLines
 * only before 3.12.
 *
 * Lines is the batch: an iterator over a list whose list can be replaced
 * (``reset``), so that AsyncLines holds it once and never looks an attribute
 * up per line. AsyncFile keeps it as ``_ahead`` and resets it wherever it
 * would have assigned a new iterator. */
typedef struct {
    PyObject_HEAD
    PyObject *inner;            /* an iterator over the current batch */
} Lines;

static PyTypeObject LinesType;

static PyObject *
lines_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, ":Lines", names))
        return NULL;
    PyObject *empty = PyTuple_New(0);
    if (empty == NULL)
        return NULL;
    PyObject *inner = PyObject_GetIter(empty);
    Py_DECREF(empty);
    if (inner == NULL)
        return NULL;
    Lines *self = (Lines *)type->tp_alloc(type, 0);
    if (self == NULL) {
        Py_DECREF(inner);
        return NULL;
    }
    self->inner = inner;
    return (PyObject *)self;
}

static PyObject *
lines_reset(Lines *self, PyObject *iterable)
{
    PyObject *inner = PyObject_GetIter(iterable);
    if (inner == NULL)
        return NULL;
    Py_SETREF(self->inner, inner);
    Py_RETURN_NONE;
}

static PyObject *
lines_next(Lines *self)
{
    return PyIter_Next(self->inner);  /* NULL and no error at the end */
}

static int
lines_traverse(Lines *self, visitproc visit, void *arg)
{
    Py_VISIT(self->inner);
    return 0;
}

static int
lines_clear(Lines *self)
{
    Py_CLEAR(self->inner);
    return 0;
}

static void
lines_dealloc(Lines *self)
{
    PyObject_GC_UnTrack(self);
    lines_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef lines_methods[] = {
    {"reset", (PyCFunction)lines_reset, METH_O, "reset(lines): hand these out from now on."},
    {NULL},
};

static PyTypeObject LinesType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ambidex.io._speedups.Lines",
    .tp_basicsize = sizeof(Lines),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Lines(): an iterator over a batch of lines that reset(lines) replaces.",
    .tp_new = lines_new,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)lines_next,
    .tp_traverse = (traverseproc)lines_traverse,
    .tp_clear = (inquiry)lines_clear,
    .tp_dealloc = (destructor)lines_dealloc,
    .tp_methods = lines_methods,
};

/* AsyncLines(file, lines): ``async for`` over ``lines`` (a Lines), then over
 * ``file._next_line()`` whenever it is empty. ``__anext__`` returns a Pending,
 * which takes its line when it is first resumed, not before (as the pure
 * iterators' coroutines do: an ``__anext__()`` never awaited, or cancelled
 * before it ran, consumes nothing). A Pending that finds the batch empty
 * delegates to ``file._next_line()`` as ``await`` would: sends, throws (a
 * cancellation) and close go to that coroutine. The iterator keeps the last
 * Pending and reuses it once nobody else holds it (one allocation per line
 * saved). */
typedef struct {
    PyObject_HEAD
    PyObject *file;
    Lines *lines;
    PyObject *spare;            /* the last Pending, reused when free */
} AsyncLines;

typedef struct {
    PyObject_HEAD
    AsyncLines *owner;          /* set until it starts */
    PyObject *delegate;         /* file._next_line() while that runs */
} Pending;

static PyTypeObject PendingType;
static PyObject *str_next_line, *str_throw, *str_close;

static PySendResult
pending_send(Pending *self, PyObject *arg, PyObject **result)
{
    *result = NULL;
    if (self->delegate == NULL) {
        AsyncLines *owner = self->owner;
        if (owner == NULL) {
            PyErr_SetString(PyExc_RuntimeError, "cannot reuse an already awaited __anext__()");
            return PYGEN_ERROR;
        }
        self->owner = NULL;
        PyObject *line = PyIter_Next(owner->lines->inner);
        if (line != NULL || PyErr_Occurred()) {
            Py_DECREF(owner);
            *result = line;
            return line != NULL ? PYGEN_RETURN : PYGEN_ERROR;
        }
        self->delegate = PyObject_CallMethodNoArgs(owner->file, str_next_line);
        Py_DECREF(owner);
        if (self->delegate == NULL)
            return PYGEN_ERROR;
        arg = Py_None;          /* a coroutine's first send */
    }
    PySendResult status = PyIter_Send(self->delegate, arg, result);
    if (status != PYGEN_NEXT)
        Py_CLEAR(self->delegate);
    return status;
}

/* The same, as the iterator protocol says it (3.12+ resume awaitables this
 * way, and so does a coroutine runner by hand): a value it yields is returned,
 * the value it returns is in StopIteration. */
static PyObject *
pending_result(PySendResult status, PyObject *result)
{
    if (status != PYGEN_RETURN)
        return result;          /* a yielded value, or NULL with the error set */
    PyObject *stop = PyObject_CallOneArg(PyExc_StopIteration, result);
    Py_DECREF(result);
    if (stop != NULL) {
        PyErr_SetObject(PyExc_StopIteration, stop);
        Py_DECREF(stop);
    }
    return NULL;
}

static PyObject *
pending_next(Pending *self)
{
    PyObject *result;
    PySendResult status = pending_send(self, Py_None, &result);
    return pending_result(status, result);
}

static PyObject *
pending_send_method(Pending *self, PyObject *arg)
{
    PyObject *result;
    PySendResult status = pending_send(self, arg, &result);
    return pending_result(status, result);
}

static PyObject *
pending_throw(Pending *self, PyObject *args)
{
    if (self->delegate != NULL) {
        PyObject *throw = PyObject_GetAttr(self->delegate, str_throw);
        PyObject *result = throw == NULL ? NULL : PyObject_Call(throw, args, NULL);
        Py_XDECREF(throw);
        if (result == NULL)
            Py_CLEAR(self->delegate);  /* it returned (StopIteration) or raised */
        return result;
    }
    /* Not started (or done): it ends, and the exception comes out of it. */
    Py_CLEAR(self->owner);
    PyObject *type, *value = NULL, *traceback = NULL;
    if (!PyArg_UnpackTuple(args, "throw", 1, 3, &type, &value, &traceback))
        return NULL;
    if (PyExceptionInstance_Check(type))
        PyErr_SetObject((PyObject *)Py_TYPE(type), type);
    else if (PyExceptionClass_Check(type))
        PyErr_SetObject(type, value);
    else
        PyErr_SetString(PyExc_TypeError, "throw() needs an exception");
    return NULL;
}

static PyObject *
pending_close(Pending *self, PyObject *unused)
{
    Py_CLEAR(self->owner);
    if (self->delegate == NULL)
        Py_RETURN_NONE;
    PyObject *delegate = self->delegate;
    self->delegate = NULL;
    PyObject *result = PyObject_CallMethodNoArgs(delegate, str_close);
    Py_DECREF(delegate);
    return result;
}

static int
pending_traverse(Pending *self, visitproc visit, void *arg)
{
    Py_VISIT(self->owner);
    Py_VISIT(self->delegate);
    return 0;
}

static int
pending_clear(Pending *self)
{
    Py_CLEAR(self->owner);
    Py_CLEAR(self->delegate);
    return 0;
}

static void
pending_dealloc(Pending *self)
{
    PyObject_GC_UnTrack(self);
    pending_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef pending_methods[] = {
    {"send", (PyCFunction)pending_send_method, METH_O, NULL},
    {"throw", (PyCFunction)pending_throw, METH_VARARGS, NULL},
    {"close", (PyCFunction)pending_close, METH_NOARGS, NULL},
    {NULL},
};

static PyAsyncMethods pending_async = {
    .am_await = PyObject_SelfIter,
    .am_send = (sendfunc)pending_send,
};

static PyTypeObject PendingType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ambidex.io._speedups.Pending",
    .tp_basicsize = sizeof(Pending),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_as_async = &pending_async,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)pending_next,
    .tp_traverse = (traverseproc)pending_traverse,
    .tp_clear = (inquiry)pending_clear,
    .tp_dealloc = (destructor)pending_dealloc,
    .tp_methods = pending_methods,
};

static PyObject *
async_lines_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *file;
    Lines *lines;
    static char *names[] = {"file", "lines", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO!:AsyncLines", names, &file, &LinesType, &lines))
        return NULL;
    AsyncLines *self = (AsyncLines *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->file = Py_NewRef(file);
    self->lines = (Lines *)Py_NewRef((PyObject *)lines);
    return (PyObject *)self;
}

static PyObject *
async_lines_anext(AsyncLines *self)
{
    Pending *pending = (Pending *)self->spare;
    if (pending == NULL || Py_REFCNT(pending) != 1 || pending->owner != NULL || pending->delegate != NULL) {
        pending = PyObject_GC_New(Pending, &PendingType);
        if (pending == NULL)
            return NULL;
        pending->owner = NULL;
        pending->delegate = NULL;
        PyObject_GC_Track(pending);
        Py_XSETREF(self->spare, (PyObject *)pending);
    }
    pending->owner = (AsyncLines *)Py_NewRef((PyObject *)self);
    return Py_NewRef((PyObject *)pending);
}

static int
async_lines_traverse(AsyncLines *self, visitproc visit, void *arg)
{
    Py_VISIT(self->file);
    Py_VISIT(self->lines);
    Py_VISIT(self->spare);
    return 0;
}

static int
async_lines_clear(AsyncLines *self)
{
    Py_CLEAR(self->file);
    Py_CLEAR(self->lines);
    Py_CLEAR(self->spare);
    return 0;
}

static void
async_lines_dealloc(AsyncLines *self)
{
    PyObject_GC_UnTrack(self);
    async_lines_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyAsyncMethods async_lines_async = {
    .am_aiter = PyObject_SelfIter,
    .am_anext = (unaryfunc)async_lines_anext,
};

static PyTypeObject AsyncLinesType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ambidex.io._speedups.AsyncLines",
    .tp_basicsize = sizeof(AsyncLines),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "AsyncLines(file, lines): async for over lines, then file._next_line().",
    .tp_new = async_lines_new,
    .tp_as_async = &async_lines_async,
    .tp_traverse = (traverseproc)async_lines_traverse,
    .tp_clear = (inquiry)async_lines_clear,
    .tp_dealloc = (destructor)async_lines_dealloc,
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "ambidex.io._speedups",
    .m_doc = "Stream.read_until / read_exactly's fast path, and async for over a file's lines, in C (optional; see _accelerate.py).",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    if (PyType_Ready(&FastReadType) < 0 || PyType_Ready(&BoundReadType) < 0 || PyType_Ready(&DoorType) < 0
            || PyType_Ready(&LinesType) < 0
            || PyType_Ready(&PendingType) < 0 || PyType_Ready(&AsyncLinesType) < 0)
        return NULL;
#if PY_VERSION_HEX < 0x030B0000
    /* A data descriptor to the interpreter, a method descriptor to Python code
     * (see fastread_get). */
    if (PyDict_DelItemString(FastReadType.tp_dict, "__set__") < 0
            || PyDict_DelItemString(FastReadType.tp_dict, "__delete__") < 0)
        return NULL;
    PyType_Modified(&FastReadType);
#endif
    str_reader = PyUnicode_InternFromString("_reader");
    str_lines = PyUnicode_InternFromString("_lines");
    str_exact = PyUnicode_InternFromString("_exact");
    str_missed = PyUnicode_InternFromString("missed");
    str_limit = PyUnicode_InternFromString("limit");
    str_door = PyUnicode_InternFromString("_door");
    str_next_line = PyUnicode_InternFromString("_next_line");
    str_throw = PyUnicode_InternFromString("throw");
    str_close = PyUnicode_InternFromString("close");
    if (!str_reader || !str_lines || !str_exact || !str_missed || !str_limit || !str_door
            || !str_next_line || !str_throw || !str_close)
        return NULL;
    PyObject *module = PyModule_Create(&speedups_module);
    if (module == NULL)
        return NULL;
    if (PyModule_AddObjectRef(module, "FastRead", (PyObject *)&FastReadType) < 0
            || PyModule_AddObjectRef(module, "Door", (PyObject *)&DoorType) < 0
            || PyModule_AddObjectRef(module, "Lines", (PyObject *)&LinesType) < 0
            || PyModule_AddObjectRef(module, "AsyncLines", (PyObject *)&AsyncLinesType) < 0
            || PyModule_AddStringConstant(module, "SOURCE_HASH", AMBIDEX_SOURCE_HASH) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
