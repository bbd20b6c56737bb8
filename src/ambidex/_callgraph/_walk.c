/* ambidex._callgraph._walk: two walks of a syntax tree, in C.
 *
 * Optional, like ambidex._callgraph._slimcopy, and built with it by the same
 * hook and switch (tools/hatch_speedups.py, AMBIDEX_BUILD_EXTENSIONS). Without
 * it, or with AMBIDEX_NO_EXTENSIONS=1, or when it was built from another
 * version of this file, the pure twins run:
 *
 *   own_calls(function, node_type, leaves, nested, call, fields_of, excluded)
 *       _model.own_calls_pure: the calls of a function, not of what is nested
 *       in it, in the order of a stack walk;
 *   used_names(tree, node_type, name, constant, store, fullmatch, findall,
 *              fields_of, excluded)
 *       _imports.used_names_pure: the loaded names of a tree and the words of
 *       its strings that look like code.
 *
 * Each is that function's loop statement by statement (read them side by
 * side): the same stack, the same fields in the same order, the same
 * per-class cache of fields (``fields_of``, shared with the pure twin: a class
 * missing from it is added as the twin adds it). tests/codegen/test_walk.py
 * compares the two on real sources, plain and slim trees.
 *
 * ``isinstance(x, C)`` is PyObject_TypeCheck here: the node classes (and the
 * lint's slotted twins, subclasses of them) are plain classes, whose
 * isinstance is exactly that.
 *
 * Why C: the port reads the calls of every function of its input several
 * times and the names of every module it changed; in Python each node costs
 * a dict read, a getattr per field and a few isinstance calls, ~8% of a port.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#ifndef AMBIDEX_SOURCE_HASH
#define AMBIDEX_SOURCE_HASH ""
#endif

/* The attribute names used_names reads, made once by the module's init. */
static PyObject *id_name, *ctx_name, *value_name;

/* The fields of ``kind`` but those in ``excluded``, from the cache (borrowed),
 * computed and cached when missing: tuple(f for f in kind._fields if f not in excluded). */
static PyObject *
fields_of(PyObject *cache, PyTypeObject *kind, PyObject *excluded)
{
    PyObject *fields = PyDict_GetItemWithError(cache, (PyObject *)kind);
    if (fields != NULL || PyErr_Occurred()) {
        return fields;
    }
    PyObject *all = PyObject_GetAttrString((PyObject *)kind, "_fields");
    if (all == NULL) {
        return NULL;
    }
    PyObject *kept = PyList_New(0);
    PyObject *iterator = kept == NULL ? NULL : PyObject_GetIter(all);
    Py_DECREF(all);
    if (iterator == NULL) {
        Py_XDECREF(kept);
        return NULL;
    }
    PyObject *name;
    while ((name = PyIter_Next(iterator)) != NULL) {
        int skip = PySequence_Contains(excluded, name);
        if (skip < 0 || (!skip && PyList_Append(kept, name) < 0)) {
            Py_DECREF(name);
            Py_DECREF(iterator);
            Py_DECREF(kept);
            return NULL;
        }
        Py_DECREF(name);
    }
    Py_DECREF(iterator);
    if (PyErr_Occurred()) {
        Py_DECREF(kept);
        return NULL;
    }
    fields = PyList_AsTuple(kept);
    Py_DECREF(kept);
    if (fields == NULL) {
        return NULL;
    }
    if (PyDict_SetItem(cache, (PyObject *)kind, fields) < 0) {
        Py_DECREF(fields);
        return NULL;
    }
    Py_DECREF(fields);  /* the cache holds it */
    return fields;
}

/* getattr(node, name, None): a new reference, or NULL with no error for None's
 * place (the attribute is missing), or NULL with an error. */
static PyObject *
field(PyObject *node, PyObject *name)
{
    PyObject *value = PyObject_GetAttr(node, name);
    if (value == NULL && PyErr_ExceptionMatches(PyExc_AttributeError)) {
        PyErr_Clear();
    }
    return value;
}

/* isinstance(value, classes) for a tuple of plain classes. */
static int
is_any(PyObject *value, PyObject *classes)
{
    Py_ssize_t count = PyTuple_GET_SIZE(classes);
    for (Py_ssize_t i = 0; i < count; i++) {
        if (PyObject_TypeCheck(value, (PyTypeObject *)PyTuple_GET_ITEM(classes, i))) {
            return 1;
        }
    }
    return 0;
}

static int
check_classes(PyObject *classes, const char *what)
{
    Py_ssize_t count = PyTuple_GET_SIZE(classes);
    for (Py_ssize_t i = 0; i < count; i++) {
        if (!PyType_Check(PyTuple_GET_ITEM(classes, i))) {
            PyErr_Format(PyExc_TypeError, "%s must be a tuple of classes", what);
            return -1;
        }
    }
    return 0;
}

/* Push the children of ``node`` kept by ``keep`` (node_type and not a leaf). */
static int
push_children(PyObject *todo, PyObject *node, PyObject *fields, PyTypeObject *node_type,
              PyObject *leaves)
{
    Py_ssize_t count = PyTuple_GET_SIZE(fields);
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *value = field(node, PyTuple_GET_ITEM(fields, i));
        if (value == NULL) {
            if (PyErr_Occurred()) {
                return -1;
            }
            continue;
        }
        if (PyList_Check(value)) {
            for (Py_ssize_t j = 0; j < PyList_GET_SIZE(value); j++) {
                PyObject *item = PyList_GET_ITEM(value, j);
                if (PyObject_TypeCheck(item, node_type)
                        && (leaves == NULL || !is_any(item, leaves))
                        && PyList_Append(todo, item) < 0) {
                    Py_DECREF(value);
                    return -1;
                }
            }
        }
        else if (PyObject_TypeCheck(value, node_type)
                     && (leaves == NULL || !is_any(value, leaves))
                     && PyList_Append(todo, value) < 0) {
            Py_DECREF(value);
            return -1;
        }
        Py_DECREF(value);
    }
    return 0;
}

/* The last item of ``todo``, removed: a new reference. */
static PyObject *
pop(PyObject *todo)
{
    Py_ssize_t last = PyList_GET_SIZE(todo) - 1;
    PyObject *node = PyList_GET_ITEM(todo, last);
    Py_INCREF(node);
    if (PyList_SetSlice(todo, last, last + 1, NULL) < 0) {
        Py_DECREF(node);
        return NULL;
    }
    return node;
}

static PyObject *
own_calls(PyObject *self, PyObject *args)
{
    PyObject *function, *leaves, *nested, *cache, *excluded;
    PyTypeObject *node_type, *call;
    if (!PyArg_ParseTuple(args, "OO!O!O!O!O!O:own_calls", &function, &PyType_Type, &node_type,
                          &PyTuple_Type, &leaves, &PyTuple_Type, &nested, &PyType_Type, &call,
                          &PyDict_Type, &cache, &excluded)) {
        return NULL;
    }
    if (check_classes(leaves, "leaves") < 0 || check_classes(nested, "nested") < 0) {
        return NULL;
    }
    PyObject *found = PyList_New(0);
    PyObject *todo = PyList_New(0);
    if (found == NULL || todo == NULL) {
        goto error;
    }
    PyObject *node = Py_NewRef(function);
    while (1) {
        PyObject *fields = fields_of(cache, Py_TYPE(node), excluded);
        if (fields == NULL || push_children(todo, node, fields, node_type, leaves) < 0) {
            Py_DECREF(node);
            goto error;
        }
        Py_DECREF(node);
        node = NULL;
        while (PyList_GET_SIZE(todo)) {
            node = pop(todo);
            if (node == NULL) {
                goto error;
            }
            if (!is_any(node, nested)) {
                break;
            }
            Py_DECREF(node);
            node = NULL;
        }
        if (node == NULL) {
            Py_DECREF(todo);
            return found;
        }
        if (PyObject_TypeCheck(node, call) && PyList_Append(found, node) < 0) {
            Py_DECREF(node);
            goto error;
        }
    }
error:
    Py_XDECREF(found);
    Py_XDECREF(todo);
    return NULL;
}

/* used.update(items) */
static int
add_all(PyObject *used, PyObject *items)
{
    PyObject *iterator = PyObject_GetIter(items);
    if (iterator == NULL) {
        return -1;
    }
    PyObject *item;
    while ((item = PyIter_Next(iterator)) != NULL) {
        int failed = PySet_Add(used, item) < 0;
        Py_DECREF(item);
        if (failed) {
            Py_DECREF(iterator);
            return -1;
        }
    }
    Py_DECREF(iterator);
    return PyErr_Occurred() ? -1 : 0;
}

static PyObject *
used_names(PyObject *self, PyObject *args)
{
    PyObject *tree, *fullmatch, *findall, *cache, *excluded;
    PyTypeObject *node_type, *name_type, *constant_type, *store_type;
    if (!PyArg_ParseTuple(args, "OO!O!O!O!OOO!O:used_names", &tree, &PyType_Type, &node_type,
                          &PyType_Type, &name_type, &PyType_Type, &constant_type,
                          &PyType_Type, &store_type, &fullmatch, &findall, &PyDict_Type, &cache,
                          &excluded)) {
        return NULL;
    }
    PyObject *used = PySet_New(NULL);
    PyObject *todo = PyList_New(0);
    if (used == NULL || todo == NULL || PyList_Append(todo, tree) < 0) {
        goto error;
    }
    while (PyList_GET_SIZE(todo)) {
        PyObject *node = pop(todo);
        if (node == NULL) {
            goto error;
        }
        PyTypeObject *kind = Py_TYPE(node);
        int failed = 0;
        if (kind == name_type) {
            PyObject *ctx = PyObject_GetAttr(node, ctx_name);
            if (ctx == NULL) {
                failed = 1;
            }
            else {
                if (Py_TYPE(ctx) != store_type) {
                    PyObject *id = PyObject_GetAttr(node, id_name);
                    failed = id == NULL || PySet_Add(used, id) < 0;
                    Py_XDECREF(id);
                }
                Py_DECREF(ctx);
            }
        }
        else if (kind == constant_type) {
            PyObject *value = PyObject_GetAttr(node, value_name);
            if (value == NULL) {
                failed = 1;
            }
            else if (Py_IS_TYPE(value, &PyUnicode_Type)) {
                PyObject *match = PyObject_CallOneArg(fullmatch, value);
                int looks = match == NULL ? -1 : PyObject_IsTrue(match);
                Py_XDECREF(match);
                if (looks < 0) {
                    failed = 1;
                }
                else if (looks) {
                    PyObject *words = PyObject_CallOneArg(findall, value);
                    failed = words == NULL || add_all(used, words) < 0;
                    Py_XDECREF(words);
                }
            }
            Py_XDECREF(value);
        }
        else {
            PyObject *fields = fields_of(cache, kind, excluded);
            failed = fields == NULL || push_children(todo, node, fields, node_type, NULL) < 0;
        }
        Py_DECREF(node);
        if (failed) {
            goto error;
        }
    }
    Py_DECREF(todo);
    return used;
error:
    Py_XDECREF(used);
    Py_XDECREF(todo);
    return NULL;
}

static PyMethodDef walk_methods[] = {
    {"own_calls", own_calls, METH_VARARGS,
     "own_calls(function, node_type, leaves, nested, call, fields_of, excluded): "
     "_model.own_calls_pure's walk (see the C file)."},
    {"used_names", used_names, METH_VARARGS,
     "used_names(tree, node_type, name, constant, store, fullmatch, findall, fields_of, "
     "excluded): _imports.used_names_pure's walk (see the C file)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef walk_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "ambidex._callgraph._walk",
    .m_doc = "Two walks of a syntax tree, in C (optional; see the C file).",
    .m_size = -1,
    .m_methods = walk_methods,
};

PyMODINIT_FUNC
PyInit__walk(void)
{
    id_name = PyUnicode_InternFromString("id");
    ctx_name = PyUnicode_InternFromString("ctx");
    value_name = PyUnicode_InternFromString("value");
    if (id_name == NULL || ctx_name == NULL || value_name == NULL) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&walk_module);
    if (module == NULL) {
        return NULL;
    }
    if (PyModule_AddStringConstant(module, "SOURCE_HASH", AMBIDEX_SOURCE_HASH) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
