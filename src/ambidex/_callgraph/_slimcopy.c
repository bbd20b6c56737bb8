/* ambidex._callgraph._slimcopy: _slim.slim_tree's copy, in C.
 *
 * Optional, like ambidex.io._speedups, and built with it by the same hook and
 * switch (tools/hatch_speedups.py, AMBIDEX_BUILD_EXTENSIONS). Without it, or
 * with AMBIDEX_NO_EXTENSIONS=1, or when it was built from another version of
 * this file, _slim.py copies in Python, into the same tree
 * (tests/detect/test_slim_copy.py compares the two node by node).
 *
 * Why C: the lint copies every node of a site-packages (2.4 million) into its
 * slotted twin once. In Python that is a function call, a dict read per field
 * and ``SlimClass(**fields)`` per node, about a microsecond each: 2.5 s of the
 * lint's 14. Here it is a dict read per slot and stores into the new object's
 * slots, at the offsets its class's member descriptors name.
 *
 * What one node's copy does (the Python in _slim.slim_tree, step by step):
 *
 *     plan = plans.get(type(node))            # None: not a node to copy (kept)
 *     values = node.__dict__
 *     for each slot of plan.slim, in order:
 *         value = values[slot]
 *         CHILD:  a non-empty list: each item whose type has a plan is copied
 *                 in place (the list moves to the copy); an empty list is the
 *                 one shared ``empty``; a node with a plan is copied
 *         LINE:   an int above 256 is shared through ``numbers``
 *         VALUE:  (a constant's) a str, or an int above 256, is shared
 *                 through ``numbers`` (the build passes one dict for all
 *                 its modules: a value repeated in every module is one
 *                 object)
 *         PLAIN:  kept as it is
 *     return a new plan.slim with those slots set
 *
 * The end positions of nodes that are not definitions are not slots of their
 * twin: they are never read here, so they are left out.
 *
 * A tree nested deeper than ``limit`` raises RecursionError, as the Python
 * copy does at the recursion limit (the caller parses again and keeps the
 * parser's tree).
 *
 * ``prune`` is _slim.prune_bodies's pruning of a function's body, after the
 * call graph's walk (see the section further down).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>   /* T_OBJECT_EX, PyMemberDef (3.10 and 3.11 spell them only here) */

#ifndef AMBIDEX_SOURCE_HASH
#define AMBIDEX_SOURCE_HASH ""
#endif

enum { PLAIN = 0, CHILD = 1, LINE = 2, VALUE = 3 };
#define MAX_SLOTS 16

/* How to copy one node class: its slotted twin, and per slot the field's name,
 * where the twin keeps it, and what to do with its value. */
typedef struct {
    PyObject_HEAD
    PyTypeObject *slim;
    Py_ssize_t count;
    PyObject *names[MAX_SLOTS];
    Py_ssize_t offsets[MAX_SLOTS];
    char treatments[MAX_SLOTS];
} Plan;

static PyTypeObject PlanType;

static void
plan_dealloc(Plan *self)
{
    Py_XDECREF(self->slim);
    for (Py_ssize_t i = 0; i < self->count; i++) {
        Py_XDECREF(self->names[i]);
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject PlanType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ambidex._callgraph._slimcopy.Plan",
    .tp_basicsize = sizeof(Plan),
    .tp_dealloc = (destructor)plan_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "How to copy one node class (made by plan()).",
};

/* plan(slim, slots): slots is a tuple of (name, treatment) in the twin's slot
 * order; each name must be an object slot of ``slim`` (a member descriptor). */
static PyObject *
make_plan(PyObject *module, PyObject *args)
{
    PyObject *slim, *slots;
    if (!PyArg_ParseTuple(args, "O!O!:plan", &PyType_Type, &slim, &PyTuple_Type, &slots)) {
        return NULL;
    }
    Py_ssize_t count = PyTuple_GET_SIZE(slots);
    if (count > MAX_SLOTS) {
        PyErr_SetString(PyExc_ValueError, "too many slots");
        return NULL;
    }
    Plan *plan = PyObject_New(Plan, &PlanType);
    if (plan == NULL) {
        return NULL;
    }
    plan->count = 0;
    Py_INCREF(slim);
    plan->slim = (PyTypeObject *)slim;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *name;
        int treatment;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(slots, i), "Ui:plan", &name, &treatment)) {
            goto fail;
        }
        if (treatment < PLAIN || treatment > VALUE) {
            PyErr_SetString(PyExc_ValueError, "unknown treatment");
            goto fail;
        }
        PyObject *descr = PyDict_GetItemWithError(((PyTypeObject *)slim)->tp_dict, name);
        if (descr == NULL || !PyObject_TypeCheck(descr, &PyMemberDescr_Type)) {
            if (!PyErr_Occurred()) {
                PyErr_Format(PyExc_TypeError, "%R is not a slot of %R", name, slim);
            }
            goto fail;
        }
        PyMemberDef *member = ((PyMemberDescrObject *)descr)->d_member;
        if (member->type != T_OBJECT_EX || (member->flags & READONLY)) {
            PyErr_Format(PyExc_TypeError, "%R is not a writable object slot", name);
            goto fail;
        }
        Py_INCREF(name);
        PyUnicode_InternInPlace(&name);
        plan->names[i] = name;
        plan->offsets[i] = member->offset;
        plan->treatments[i] = (char)treatment;
        plan->count = i + 1;
    }
    return (PyObject *)plan;
fail:
    Py_DECREF(plan);
    return NULL;
}

typedef struct {
    PyObject *plans;     /* dict: node class -> Plan */
    PyObject *numbers;   /* dict: int or str -> the one object kept for that value */
    PyObject *empty;     /* the list every empty list becomes */
    int depth, limit;
} Copy;

static PyObject *copy_node(Copy *state, PyObject *node, Plan *plan);

/* The plan for ``value``'s class, or NULL (borrowed; never an error). */
static inline Plan *
plan_of(Copy *state, PyObject *value)
{
    PyObject *plan = PyDict_GetItemWithError(state->plans, (PyObject *)Py_TYPE(value));
    if (plan == NULL || Py_TYPE(plan) != &PlanType) {
        return NULL;
    }
    return (Plan *)plan;
}

/* A child field's value, copied (new reference), or NULL with an exception. */
static PyObject *
copy_child(Copy *state, PyObject *value)
{
    if (PyList_CheckExact(value)) {
        Py_ssize_t size = PyList_GET_SIZE(value);
        if (size == 0) {
            Py_INCREF(state->empty);
            return state->empty;
        }
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(value); i++) {
            PyObject *item = PyList_GET_ITEM(value, i);
            Plan *plan = plan_of(state, item);
            if (plan == NULL) {
                continue;
            }
            PyObject *twin = copy_node(state, item, plan);
            if (twin == NULL) {
                return NULL;
            }
            if (i >= PyList_GET_SIZE(value) || PyList_GET_ITEM(value, i) != item) {
                Py_DECREF(twin);  /* the list changed under us: not a parser's tree */
                PyErr_SetString(PyExc_RuntimeError, "a list of the tree changed while copied");
                return NULL;
            }
            PyList_SET_ITEM(value, i, twin);
            Py_DECREF(item);
        }
        Py_INCREF(value);
        return value;
    }
    Plan *plan = plan_of(state, value);
    if (plan != NULL) {
        return copy_node(state, value, plan);
    }
    Py_INCREF(value);
    return value;
}

/* A line number, shared per value above 256 (new reference). */
static PyObject *
share_line(Copy *state, PyObject *value)
{
    int above;
    if (PyLong_CheckExact(value)) {
        int overflow;
        long long line = PyLong_AsLongLongAndOverflow(value, &overflow);
        above = overflow > 0 || line > 256;
    }
    else if (value == Py_None) {
        above = 0;
    }
    else {
        PyObject *limit = PyLong_FromLong(256);
        if (limit == NULL) {
            return NULL;
        }
        above = PyObject_RichCompareBool(value, limit, Py_GT);
        Py_DECREF(limit);
        if (above < 0) {
            return NULL;
        }
    }
    if (!above) {
        Py_INCREF(value);
        return value;
    }
    PyObject *kept = PyDict_SetDefault(state->numbers, value, value);
    Py_XINCREF(kept);
    return kept;
}

/* A constant's value: a str, or an int above 256, shared per value (new reference). */
static PyObject *
share_value(Copy *state, PyObject *value)
{
    if (PyUnicode_CheckExact(value)) {
        PyObject *kept = PyDict_SetDefault(state->numbers, value, value);
        Py_XINCREF(kept);
        return kept;
    }
    if (PyLong_CheckExact(value)) {
        return share_line(state, value);
    }
    Py_INCREF(value);
    return value;
}

static PyObject *
copy_node(Copy *state, PyObject *node, Plan *plan)
{
    PyObject *values[MAX_SLOTS];
    Py_ssize_t count = plan->count, done = 0;
    PyObject *result = NULL;
    if (++state->depth > state->limit) {
        PyErr_SetString(PyExc_RecursionError,
                        "maximum recursion depth exceeded while copying a syntax tree");
        state->depth--;
        return NULL;
    }
    PyObject *fields = PyObject_GenericGetDict(node, NULL);
    if (fields == NULL) {
        goto out;
    }
    for (; done < count; done++) {
        PyObject *value = PyDict_GetItemWithError(fields, plan->names[done]);
        if (value == NULL) {
            if (PyErr_Occurred()) {
                goto out;
            }
            if (plan->treatments[done] == CHILD) {
                PyErr_SetObject(PyExc_KeyError, plan->names[done]);
                goto out;
            }
            values[done] = NULL;  /* left unset, as the Python copy leaves it */
            continue;
        }
        switch (plan->treatments[done]) {
        case CHILD:
            values[done] = copy_child(state, value);
            break;
        case LINE:
            values[done] = share_line(state, value);
            break;
        case VALUE:
            values[done] = share_value(state, value);
            break;
        default:
            Py_INCREF(value);
            values[done] = value;
        }
        if (values[done] == NULL) {
            goto out;
        }
    }
    result = plan->slim->tp_alloc(plan->slim, 0);
    if (result == NULL) {
        goto out;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        *(PyObject **)((char *)result + plan->offsets[i]) = values[i];  /* the reference moves */
    }
    done = 0;
out:
    for (Py_ssize_t i = 0; i < done; i++) {
        Py_XDECREF(values[i]);
    }
    Py_XDECREF(fields);
    state->depth--;
    return result;
}

/* copy(tree, plans, numbers, empty, limit) -> the slim tree. */
static PyObject *
copy_tree(PyObject *module, PyObject *args)
{
    PyObject *tree;
    Copy state = {0};
    if (!PyArg_ParseTuple(args, "OO!O!O!i:copy", &tree, &PyDict_Type, &state.plans,
                          &PyDict_Type, &state.numbers, &PyList_Type, &state.empty,
                          &state.limit)) {
        return NULL;
    }
    Plan *plan = plan_of(&state, tree);
    if (plan == NULL) {
        if (PyErr_Occurred()) {
            return NULL;
        }
        PyErr_Format(PyExc_TypeError, "no plan for %R", (PyObject *)Py_TYPE(tree));
        return NULL;
    }
    return copy_node(&state, tree, plan);
}

/* --- pruning: _slim.prune_bodies's _keep, in C ---------------------------------
 *
 * After the call graph's walk, a function's body keeps only the subtrees that
 * hold a node the walk's records refer to (``refs``), a ``return``, an
 * ``await`` or a ``yield``; every other place gets the one PRUNED node (a list
 * whose items were all pruned becomes the one shared list of as many PRUNED).
 * The Python in _slim._keep, step by step:
 *
 *     role WHOLE (return, await, yield):          kept as it is
 *     role BODIES (def, class) or a LOOP in refs:  kept; only its block slots looked into
 *     otherwise: in refs -> kept as it is; else every child slot looked into,
 *                kept when something under it is
 *
 * ``table`` maps each slotted twin to (role, plan, mask of its block slots).
 */
enum { WHOLE = 0, BODIES = 1, LOOP = 2, OTHER = 3 };

typedef struct {
    PyObject *table;         /* dict: twin class -> (role, plan, blocks mask) */
    PyObject *refs;          /* set of the nodes referred to */
    PyObject *pruned;        /* the PRUNED node */
    PyObject *pruned_lists;  /* dict: length -> the shared list of that many PRUNED */
    int depth, limit;
} Prune;

/* (role, plan, mask) of ``node``'s class, or 0 when it is not a twin (never an error). */
static inline int
rule_of(PyObject *table, PyObject *node, int *role, Plan **plan, unsigned long *mask)
{
    PyObject *entry = PyDict_GetItemWithError(table, (PyObject *)Py_TYPE(node));
    if (entry == NULL || !PyTuple_CheckExact(entry) || PyTuple_GET_SIZE(entry) != 3) {
        return 0;
    }
    *role = (int)PyLong_AsLong(PyTuple_GET_ITEM(entry, 0));
    *plan = (Plan *)PyTuple_GET_ITEM(entry, 1);
    *mask = PyLong_AsUnsignedLong(PyTuple_GET_ITEM(entry, 2));
    return 1;
}

/* The shared list of ``size`` PRUNED (new reference), or NULL with an exception. */
static PyObject *
pruned_list(Prune *state, Py_ssize_t size)
{
    PyObject *key = PyLong_FromSsize_t(size);
    if (key == NULL) {
        return NULL;
    }
    PyObject *shared = PyDict_GetItemWithError(state->pruned_lists, key);
    if (shared != NULL) {
        Py_DECREF(key);
        Py_INCREF(shared);
        return shared;
    }
    if (PyErr_Occurred()) {
        Py_DECREF(key);
        return NULL;
    }
    shared = PyList_New(size);
    if (shared == NULL) {
        Py_DECREF(key);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < size; i++) {
        Py_INCREF(state->pruned);
        PyList_SET_ITEM(shared, i, state->pruned);
    }
    if (PyDict_SetItem(state->pruned_lists, key, shared) < 0) {
        Py_DECREF(key);
        Py_DECREF(shared);
        return NULL;
    }
    Py_DECREF(key);
    return shared;
}

/* 1: ``node`` stays (what it holds pruned); 0: it may go; -1: an exception. */
static int
keep(Prune *state, PyObject *node, int role, Plan *plan, unsigned long mask)
{
    int kept;
    if (role == WHOLE) {
        return 1;
    }
    if (role == BODIES) {
        kept = 1;
    }
    else {
        int in_refs = PySet_Contains(state->refs, node);
        if (in_refs < 0) {
            return -1;
        }
        if (in_refs && role == LOOP) {
            kept = 1;
        }
        else if (in_refs) {
            return 1;
        }
        else {
            kept = 0;
            mask = ~0UL;
        }
    }
    if (++state->depth > state->limit) {
        PyErr_SetString(PyExc_RecursionError,
                        "maximum recursion depth exceeded while pruning a syntax tree");
        state->depth--;
        return -1;
    }
    int result = -1;
    for (Py_ssize_t i = 0; i < plan->count; i++) {
        if (plan->treatments[i] != CHILD || !(mask & (1UL << i))) {
            continue;
        }
        PyObject **slot = (PyObject **)((char *)node + plan->offsets[i]);
        PyObject *value = *slot;
        int child_role;
        Plan *child_plan;
        unsigned long child_mask;
        if (value == NULL) {
            continue;
        }
        if (PyList_CheckExact(value)) {
            int some = 0, other = 0;
            Py_ssize_t size = PyList_GET_SIZE(value);
            for (Py_ssize_t j = 0; j < PyList_GET_SIZE(value); j++) {
                PyObject *item = PyList_GET_ITEM(value, j);
                if (!rule_of(state->table, item, &child_role, &child_plan, &child_mask)) {
                    if (PyErr_Occurred()) {
                        goto out;
                    }
                    other = 1;
                    continue;
                }
                int r = keep(state, item, child_role, child_plan, child_mask);
                if (r < 0) {
                    goto out;
                }
                if (r) {
                    some = 1;
                }
                else if (j < PyList_GET_SIZE(value) && PyList_GET_ITEM(value, j) == item) {
                    Py_INCREF(state->pruned);
                    PyList_SET_ITEM(value, j, state->pruned);
                    Py_DECREF(item);
                }
            }
            if (some) {
                kept = 1;
            }
            else if (size > 0 && !other && PyList_GET_SIZE(value) == size) {
                PyObject *shared = pruned_list(state, size);
                if (shared == NULL) {
                    goto out;
                }
                *slot = shared;  /* the reference moves */
                Py_DECREF(value);
            }
        }
        else if (rule_of(state->table, value, &child_role, &child_plan, &child_mask)) {
            int r = keep(state, value, child_role, child_plan, child_mask);
            if (r < 0) {
                goto out;
            }
            if (r) {
                kept = 1;
            }
            else {
                Py_INCREF(state->pruned);
                *slot = state->pruned;
                Py_DECREF(value);
            }
        }
        else if (PyErr_Occurred()) {
            goto out;
        }
    }
    result = kept;
out:
    state->depth--;
    return result;
}

/* prune(definition, refs, table, pruned, pruned_lists, limit): prune a definition's body. */
static PyObject *
prune_definition(PyObject *module, PyObject *args)
{
    PyObject *node;
    Prune state = {0};
    int role;
    Plan *plan;
    unsigned long mask;
    if (!PyArg_ParseTuple(args, "OO!O!OO!i:prune", &node, &PySet_Type, &state.refs,
                          &PyDict_Type, &state.table, &state.pruned, &PyDict_Type,
                          &state.pruned_lists, &state.limit)) {
        return NULL;
    }
    if (!rule_of(state.table, node, &role, &plan, &mask)) {
        if (!PyErr_Occurred()) {
            PyErr_Format(PyExc_TypeError, "no rule for %R", (PyObject *)Py_TYPE(node));
        }
        return NULL;
    }
    if (Py_TYPE(plan) != &PlanType) {
        PyErr_SetString(PyExc_TypeError, "a rule's plan is not a Plan");
        return NULL;
    }
    int kept = keep(&state, node, role, plan, mask);
    if (kept < 0) {
        return NULL;
    }
    return PyBool_FromLong(kept);
}

/* --- pooling: _slim.pool_constants's walk, in C -----------------------------------
 *
 * After the pruning, a definition's constants become one node per value: each
 * slim Constant under the definition (its signature and what its body kept)
 * is replaced by the first one of ``pool`` with the same key -- the str
 * itself for a plain string, else (type, value, kind) -- unless the walk's
 * records refer to it (it is in ``refs``: a name is bound to it) or its parent's
 * class is in ``fixed`` (a site whose position is its child's: a ``for``'s
 * iterable, a ``with`` item's expression). The Python in _slim._pool, step by
 * step: every child slot of a twin (``table``'s plans) is looked into; a list's
 * items too; PRUNED and what is not a twin are left as they are.
 */
typedef struct {
    PyObject *table;      /* dict: twin class -> (role, plan, blocks mask) */
    PyObject *refs;       /* set of the nodes referred to */
    PyObject *pool;       /* dict: key -> the one Constant node kept for it */
    PyObject *fixed;      /* set of the twin classes whose direct constants stay */
    PyTypeObject *constant;
    Py_ssize_t value_at, kind_at;  /* where a slim Constant keeps its value and its kind */
    int depth, limit;
} Pool;

/* The pooled node for ``item`` (a slim Constant; new reference), or NULL with an exception. */
static PyObject *
pooled(Pool *state, PyObject *item)
{
    int in_refs = PySet_Contains(state->refs, item);
    if (in_refs < 0) {
        return NULL;
    }
    if (in_refs) {
        Py_INCREF(item);
        return item;
    }
    PyObject *value = *(PyObject **)((char *)item + state->value_at);
    PyObject *kind = *(PyObject **)((char *)item + state->kind_at);
    PyObject *key;
    if (value == NULL || kind == NULL) {
        Py_INCREF(item);  /* a constant made by hand without them: left alone */
        return item;
    }
    if (PyUnicode_CheckExact(value) && kind == Py_None) {
        Py_INCREF(value);
        key = value;
    }
    else {
        key = PyTuple_Pack(3, (PyObject *)Py_TYPE(value), value, kind);
        if (key == NULL) {
            return NULL;
        }
    }
    PyObject *kept = PyDict_SetDefault(state->pool, key, item);
    Py_DECREF(key);
    Py_XINCREF(kept);
    return kept;
}

/* 0: done; -1: an exception. */
static int
pool_node(Pool *state, PyObject *node, Plan *plan)
{
    if (++state->depth > state->limit) {
        PyErr_SetString(PyExc_RecursionError,
                        "maximum recursion depth exceeded while pooling a syntax tree's constants");
        state->depth--;
        return -1;
    }
    int result = -1;
    for (Py_ssize_t i = 0; i < plan->count; i++) {
        if (plan->treatments[i] != CHILD) {
            continue;
        }
        PyObject **slot = (PyObject **)((char *)node + plan->offsets[i]);
        PyObject *value = *slot;
        int role;
        Plan *child_plan;
        unsigned long mask;
        if (value == NULL) {
            continue;
        }
        if (PyList_CheckExact(value)) {
            for (Py_ssize_t j = 0; j < PyList_GET_SIZE(value); j++) {
                PyObject *item = PyList_GET_ITEM(value, j);
                if (Py_TYPE(item) == state->constant) {
                    PyObject *kept = pooled(state, item);
                    if (kept == NULL) {
                        goto out;
                    }
                    if (kept != item && j < PyList_GET_SIZE(value)
                            && PyList_GET_ITEM(value, j) == item) {
                        PyList_SET_ITEM(value, j, kept);  /* the reference moves */
                        Py_DECREF(item);
                    }
                    else {
                        Py_DECREF(kept);
                    }
                }
                else if (rule_of(state->table, item, &role, &child_plan, &mask)) {
                    if (pool_node(state, item, child_plan) < 0) {
                        goto out;
                    }
                }
                else if (PyErr_Occurred()) {
                    goto out;
                }
            }
        }
        else if (Py_TYPE(value) == state->constant) {
            /* (asked here, not per node: most nodes hold no constant in a slot of their own) */
            int fixed = PySet_Contains(state->fixed, (PyObject *)Py_TYPE(node));
            if (fixed < 0) {
                goto out;
            }
            if (fixed) {
                continue;
            }
            PyObject *kept = pooled(state, value);
            if (kept == NULL) {
                goto out;
            }
            if (kept != value) {
                *slot = kept;  /* the reference moves */
                Py_DECREF(value);
            }
            else {
                Py_DECREF(kept);
            }
        }
        else if (rule_of(state->table, value, &role, &child_plan, &mask)) {
            if (pool_node(state, value, child_plan) < 0) {
                goto out;
            }
        }
        else if (PyErr_Occurred()) {
            goto out;
        }
    }
    result = 0;
out:
    state->depth--;
    return result;
}

/* pool(definition, refs, table, pool, fixed, constant, limit): pool a definition's constants. */
static PyObject *
pool_definition(PyObject *module, PyObject *args)
{
    PyObject *node, *constant;
    Pool state = {0};
    int role;
    Plan *plan;
    unsigned long mask;
    if (!PyArg_ParseTuple(args, "OO!O!O!O!O!i:pool", &node, &PySet_Type, &state.refs,
                          &PyDict_Type, &state.table, &PyDict_Type, &state.pool,
                          &PyFrozenSet_Type, &state.fixed, &PyType_Type, &constant,
                          &state.limit)) {
        return NULL;
    }
    state.constant = (PyTypeObject *)constant;
    Plan *constant_plan;
    PyObject *entry = PyDict_GetItemWithError(state.table, constant);
    if (entry == NULL || !PyTuple_CheckExact(entry) || PyTuple_GET_SIZE(entry) != 3
            || Py_TYPE(PyTuple_GET_ITEM(entry, 1)) != &PlanType) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_TypeError, "no plan for the constant's class");
        }
        return NULL;
    }
    constant_plan = (Plan *)PyTuple_GET_ITEM(entry, 1);
    state.value_at = state.kind_at = -1;
    for (Py_ssize_t i = 0; i < constant_plan->count; i++) {
        if (PyUnicode_CompareWithASCIIString(constant_plan->names[i], "value") == 0) {
            state.value_at = constant_plan->offsets[i];
        }
        else if (PyUnicode_CompareWithASCIIString(constant_plan->names[i], "kind") == 0) {
            state.kind_at = constant_plan->offsets[i];
        }
    }
    if (state.value_at < 0 || state.kind_at < 0) {
        PyErr_SetString(PyExc_TypeError, "the constant's class has no value or kind slot");
        return NULL;
    }
    if (!rule_of(state.table, node, &role, &plan, &mask)) {
        if (!PyErr_Occurred()) {
            PyErr_Format(PyExc_TypeError, "no rule for %R", (PyObject *)Py_TYPE(node));
        }
        return NULL;
    }
    if (Py_TYPE(plan) != &PlanType) {
        PyErr_SetString(PyExc_TypeError, "a rule's plan is not a Plan");
        return NULL;
    }
    if (pool_node(&state, node, plan) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef slimcopy_methods[] = {
    {"plan", make_plan, METH_VARARGS,
     "plan(slim, slots): how to copy a node into ``slim`` (slots: (name, treatment) pairs)."},
    {"copy", copy_tree, METH_VARARGS,
     "copy(tree, plans, numbers, empty, limit): the slim twin of ``tree`` (see _slim.py)."},
    {"prune", prune_definition, METH_VARARGS,
     "prune(definition, refs, table, pruned, pruned_lists, limit): _slim.prune_bodies's "
     "pruning of one definition (see the C file)."},
    {"pool", pool_definition, METH_VARARGS,
     "pool(definition, refs, table, pool, fixed, constant, limit): _slim.pool_constants's "
     "pooling of one definition's constants (see the C file)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef slimcopy_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "ambidex._callgraph._slimcopy",
    .m_doc = "_slim.slim_tree's copy, in C (optional; see the C file).",
    .m_size = -1,
    .m_methods = slimcopy_methods,
};

PyMODINIT_FUNC
PyInit__slimcopy(void)
{
    if (PyType_Ready(&PlanType) < 0) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&slimcopy_module);
    if (module == NULL) {
        return NULL;
    }
    if (PyModule_AddIntConstant(module, "PLAIN", PLAIN) < 0
            || PyModule_AddIntConstant(module, "CHILD", CHILD) < 0
            || PyModule_AddIntConstant(module, "LINE", LINE) < 0
            || PyModule_AddIntConstant(module, "VALUE", VALUE) < 0
            || PyModule_AddIntConstant(module, "WHOLE", WHOLE) < 0
            || PyModule_AddIntConstant(module, "BODIES", BODIES) < 0
            || PyModule_AddIntConstant(module, "LOOP", LOOP) < 0
            || PyModule_AddIntConstant(module, "OTHER", OTHER) < 0
            || PyModule_AddStringConstant(module, "SOURCE_HASH", AMBIDEX_SOURCE_HASH) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
