/* ambidex.detect._gilwatch: see the loop's C calls that keep the GIL, while they last.
 *
 * Optional, built like ambidex.io._speedups (tools/hatch_speedups.py); without
 * it the watchdog works as before and such calls go unseen (_watchdog.py).
 *
 * The problem. The watchdog (_watchdog.py) is a Python thread: to look at the
 * loop it needs the GIL. A C call on the loop's thread that keeps the GIL (a
 * regex that backtracks, a ctypes.PyDLL function, an extension that does its
 * I/O or a long computation without releasing it) keeps the watchdog from
 * running at all; when it runs again the call is over and the loop has moved
 * on. Only a thread that needs no GIL can look while the call lasts.
 *
 * The thread here (a pthread, no Python thread state) wakes every interval and
 * reads, without the GIL:
 *   - when the Python watchdog is due back (it says so before each of its
 *     waits, sleeping(deadline), and after, awake(): its turn takes less than
 *     an interval); a watchdog still not back threshold after that deadline
 *     waits for the GIL (or for a CPU: see below);
 *   - who holds the GIL now (the interpreter's GIL state: locked, last holder,
 *     the count of switches) and whether a waiting thread asked it to drop it;
 *   - how long the loop's thread has waited for a CPU (Linux:
 *     /proc/self/task/<tid>/schedstat and stat, as _runqueue.py does).
 * When the watchdog is threshold late, the loop's thread has kept the GIL
 * against a request to drop it at every look for threshold (no switch
 * between), has not waited for a CPU that long (its own time), and its Python
 * stack is inside a loop iteration (a frame of BaseEventLoop._run_once; a loop
 * written in C, uvloop's, has no such frame and lets the GIL go while it polls,
 * so its running thread holding the GIL is in a callback), that stack is the
 * block: it
 * is copied (file, line, function of each frame, as text) into this object. The
 * watchdog takes it when it gets the GIL back (awake()) and reports it as any
 * other block: the stack is the one of the call that kept the GIL, its line
 * the call's (a C function has no frame: the innermost line is its caller's).
 *
 * A busy loop that only runs Python drops the GIL within microseconds of a
 * request (a waiting thread asks after the switch interval, 5 ms), so a request
 * refused for threshold (100 ms by default) means the holder does not get to
 * the interpreter's checks: it is in C (or a garbage collection, also a block).
 * A watchdog that is merely late (it waits for a CPU on a busy machine) proves
 * nothing by itself: that loop may be running short callbacks.
 *
 * Reading another thread's frames without the GIL is what faulthandler's
 * dump_traceback_later does; the reads here happen only while that thread
 * holds the GIL and is stuck in a C call (its frames do not change), and copy
 * only numbers and the characters of two strings; nothing is allocated and no
 * object's reference count is touched. The structures read are internal to
 * CPython: this file compiles against each version's own headers (3.10 to
 * 3.13), and refuses others (then the module is not built).
 */
#define PY_SSIZE_T_CLEAN
/* The internal headers below need it, and with it defined only after Python.h
 * some of them redefine what Python.h already defined (3.12's _PyGC_FINALIZED). */
#define Py_BUILD_CORE 1
#include <Python.h>

#if PY_VERSION_HEX < 0x030A0000 || PY_VERSION_HEX >= 0x030E0000
#error "_gilwatch reads CPython 3.10-3.13's internal structures; other versions stay pure"
#endif
#ifdef Py_GIL_DISABLED
#error "_gilwatch is for a build with a GIL"
#endif

#include "internal/pycore_gil.h"
#include "internal/pycore_interp.h"
#include "internal/pycore_runtime.h"
#if PY_VERSION_HEX >= 0x030D0000
#include "internal/pycore_ceval.h"
#endif
#if PY_VERSION_HEX >= 0x030B0000
#include "internal/pycore_frame.h"
#else
#include <frameobject.h>
#endif

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif

#define MAX_FRAMES 64
#define FILE_MAX 1024
#define NAME_MAX_ 256

typedef struct {
    char file[FILE_MAX];
    char name[NAME_MAX_];
    int line;
} Frame;

typedef struct {
    PyObject_HEAD
    pthread_mutex_t mutex;      /* guards everything below; never held while waiting for anything */
    pthread_cond_t wake;        /* stop() wakes the thread early */
    pthread_t thread;
    int started, stopping;
    pid_t pid;                  /* the process that made it (a fork's child has no thread) */
    double threshold, interval;
    PyObject *run_once;         /* BaseEventLoop._run_once.__code__: "inside a loop iteration"; NULL: a loop written in C */
    /* The loop's thread. */
    PyInterpreterState *interp;
    PyThreadState *loop_tstate;
    unsigned long loop_ident;
    int loop_stat;              /* its /proc schedstat, or -1 */
    int loop_state;             /* its /proc stat (the state letter), or -1 */
    /* The watchdog's thread. */
    int watchdog_stat;
    int watchdog_state;
    int armed;                  /* the loop runs (the watchdog says so each tick) */
    double deadline;            /* when the watchdog is due back (sleeping() or awake()) */
    /* Counts taken when the watchdog was first seen late for `base_deadline`. */
    int base_valid;
    double base_deadline, base_time, loop_wait0, watchdog_cpu0, watchdog_wait0;
    double loop_cpu_last;       /* the loop thread's CPU time at the last look */
    double refused_since;       /* the first of those looks */
    int refused;                /* consecutive looks that saw the loop keep the GIL against a request */
    unsigned long refused_switch; /* the GIL's switch count at those looks */
    /* The block, once seen. */
    int captured;
    double since, seen;
    double capture_wait0;       /* the loop thread's wait for a CPU at since, or -1 */
    int nframes;
    Frame *frames;
    uintptr_t coroutine;        /* id() of the outermost coroutine, or 0 */
    int coroutine_frame;        /* its frame's index in frames, or -1 */
    unsigned long looks, late, busy, starved, elsewhere, captures;   /* counts (counts()) */
    int notify_fd;              /* a byte is written here at each capture (tests), or -1 */
} GilWatch;

static double
monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A /proc file (schedstat: the counts; stat: the state) of this process's
 * thread `tid` (0: the calling thread), or -1. */
static int
open_task_file(long tid, const char *name)
{
#ifdef __linux__
    char path[80];
    if (tid == 0) {
        tid = syscall(SYS_gettid);
    }
    snprintf(path, sizeof path, "/proc/self/task/%ld/%s", tid, name);
    return open(path, O_RDONLY | O_CLOEXEC);
#else
    (void)tid;
    (void)name;
    return -1;
#endif
}

/* The thread's state letter ('R' runnable or running, 'S' asleep, ...), or 0. */
static char
read_state(int fd)
{
    char buffer[512];
    ssize_t got;
    char *close_paren;
    if (fd < 0) {
        return 0;
    }
    got = pread(fd, buffer, sizeof buffer - 1, 0);
    if (got <= 0) {
        return 0;
    }
    buffer[got] = '\0';
    /* "tid (name) S ...": the name may hold spaces and parentheses. */
    close_paren = strrchr(buffer, ')');
    if (close_paren == NULL || close_paren[1] != ' ') {
        return 0;
    }
    return close_paren[2];
}

/* The thread's CPU time and its wait for a CPU so far, in seconds (the first
 * two fields); the wait is -1 if unknown. */
static void
read_clocks(int fd, double *cpu, double *wait)
{
    char buffer[128];
    ssize_t got;
    unsigned long long on, waited;
    *cpu = *wait = -1.0;
    if (fd < 0) {
        return;
    }
    got = pread(fd, buffer, sizeof buffer - 1, 0);
    if (got <= 0) {
        return;
    }
    buffer[got] = '\0';
    if (sscanf(buffer, "%llu %llu", &on, &waited) != 2) {
        return;
    }
    *cpu = (double)on / 1e9;
    *wait = (double)waited / 1e9;
}

/* --- what the thread reads without the GIL --------------------------------------- */

static int
loop_holds_gil(GilWatch *self)
{
#if PY_VERSION_HEX >= 0x030C0000
    struct _gil_runtime_state *gil = self->interp->ceval.gil;
#else
    struct _gil_runtime_state *gil = &_PyRuntime.ceval.gil;
#endif
    int locked;
    PyThreadState *holder;
    if (gil == NULL) {
        return 0;
    }
#if PY_VERSION_HEX >= 0x030D0000
    locked = _Py_atomic_load_int_relaxed(&gil->locked);
    holder = (PyThreadState *)_Py_atomic_load_ptr_relaxed(&gil->last_holder);
#else
    locked = _Py_atomic_load_relaxed(&gil->locked);
    holder = (PyThreadState *)_Py_atomic_load_relaxed(&gil->last_holder);
#endif
    /* While it holds the GIL the thread is alive: its state is not freed. */
    return locked && holder == self->loop_tstate && holder->thread_id == self->loop_ident;
}

/* Whether a thread waiting for the GIL has asked its holder to drop it (it
 * does after one switch interval, 5 ms). Python code drops it at its next
 * check, within microseconds; a request still there an interval later means
 * the holder runs C that does not check. Call only while the loop's thread
 * holds the GIL (3.13 keeps the request in the holder's state). */
static int
drop_requested(GilWatch *self)
{
#if PY_VERSION_HEX >= 0x030D0000
    uintptr_t bits = _Py_atomic_load_uintptr_relaxed(&self->loop_tstate->eval_breaker);
    return (bits & _PY_GIL_DROP_REQUEST_BIT) != 0;
#else
    return _Py_atomic_load_relaxed(&self->interp->ceval.gil_drop_request) != 0;
#endif
}

static unsigned long
switch_number(GilWatch *self)
{
#if PY_VERSION_HEX >= 0x030C0000
    struct _gil_runtime_state *gil = self->interp->ceval.gil;
#else
    struct _gil_runtime_state *gil = &_PyRuntime.ceval.gil;
#endif
    return gil != NULL ? gil->switch_number : 0;
}

/* The characters of a str, as UTF-8, into out (truncated); no allocation. */
static void
copy_text(PyObject *text, char *out, size_t size)
{
    size_t at = 0;
    Py_ssize_t i, length;
    int kind;
    const void *data;
    out[0] = '\0';
    if (text == NULL || !PyUnicode_Check(text)) {
        return;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (!PyUnicode_IS_READY(text)) {
        return;
    }
#endif
    length = PyUnicode_GET_LENGTH(text);
    kind = PyUnicode_KIND(text);
    data = PyUnicode_DATA(text);
    for (i = 0; i < length; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        char encoded[4];
        size_t n;
        if (c < 0x80) {
            encoded[0] = (char)c;
            n = 1;
        }
        else if (c < 0x800) {
            encoded[0] = (char)(0xC0 | (c >> 6));
            encoded[1] = (char)(0x80 | (c & 0x3F));
            n = 2;
        }
        else if (c < 0x10000) {
            encoded[0] = (char)(0xE0 | (c >> 12));
            encoded[1] = (char)(0x80 | ((c >> 6) & 0x3F));
            encoded[2] = (char)(0x80 | (c & 0x3F));
            n = 3;
        }
        else {
            encoded[0] = (char)(0xF0 | (c >> 18));
            encoded[1] = (char)(0x80 | ((c >> 12) & 0x3F));
            encoded[2] = (char)(0x80 | ((c >> 6) & 0x3F));
            encoded[3] = (char)(0x80 | (c & 0x3F));
            n = 4;
        }
        if (at + n >= size) {
            break;
        }
        memcpy(out + at, encoded, n);
        at += n;
    }
    out[at] = '\0';
}

static void
record(GilWatch *self, PyCodeObject *code, int line)
{
    Frame *frame = &self->frames[self->nframes++];
    copy_text(code->co_filename, frame->file, FILE_MAX);
    copy_text(code->co_name, frame->name, NAME_MAX_);
    frame->line = line;
}

/* Copy the loop thread's stack, innermost first; 1 if it is inside a loop
 * iteration (a frame runs BaseEventLoop._run_once), else 0 (nothing kept). A
 * loop written in C (run_once NULL: uvloop's) has no such frame: its thread
 * holds the GIL only to run a callback (it lets it go while it polls), so a
 * running loop's thread is inside one whenever it holds the GIL. */
static int
walk(GilWatch *self)
{
    PyThreadState *tstate = self->loop_tstate;
    int inside = 0;
    const int no_loop_frame = self->run_once == NULL;
    self->nframes = 0;
    self->coroutine = 0;
    self->coroutine_frame = -1;
#if PY_VERSION_HEX >= 0x030B0000
#if PY_VERSION_HEX >= 0x030D0000
    _PyInterpreterFrame *frame = tstate->current_frame;
#else
    _PyInterpreterFrame *frame = tstate->cframe ? tstate->cframe->current_frame : NULL;
#endif
    for (; frame != NULL; frame = frame->previous) {
        PyCodeObject *code;
        int line;
        if (_PyFrame_IsIncomplete(frame)) {
            continue;
        }
#if PY_VERSION_HEX >= 0x030D0000
        if (frame->f_executable == NULL || !PyCode_Check(frame->f_executable)) {
            continue;
        }
        code = (PyCodeObject *)frame->f_executable;
        line = PyUnstable_InterpreterFrame_GetLine(frame);
#else
        code = frame->f_code;
        line = PyCode_Addr2Line(code, _PyInterpreterFrame_LASTI(frame) * (int)sizeof(_Py_CODEUNIT));
#endif
        if ((PyObject *)code == self->run_once) {
            inside = 1;
        }
        if (!inside && frame->owner == FRAME_OWNED_BY_GENERATOR && (code->co_flags & CO_COROUTINE)) {
            /* The task's coroutine is the outermost one before the loop's frames. */
            self->coroutine = (uintptr_t)_PyFrame_GetGenerator(frame);
            self->coroutine_frame = self->nframes < MAX_FRAMES ? self->nframes : -1;
        }
        if (self->nframes < MAX_FRAMES) {
            record(self, code, line);
        }
    }
#else
    PyFrameObject *frame = tstate->frame;
    for (; frame != NULL; frame = frame->f_back) {
        PyCodeObject *code = frame->f_code;
        if ((PyObject *)code == self->run_once) {
            inside = 1;
        }
        if (!inside && frame->f_gen != NULL && (code->co_flags & CO_COROUTINE)) {
            self->coroutine = (uintptr_t)frame->f_gen;
            self->coroutine_frame = self->nframes < MAX_FRAMES ? self->nframes : -1;
        }
        if (self->nframes < MAX_FRAMES) {
            record(self, code, PyCode_Addr2Line(code, frame->f_lasti * 2));
        }
    }
#endif
    if (no_loop_frame) {
        inside = 1;
    }
    if (!inside) {
        self->nframes = 0;
    }
    return inside;
}

/* One look, under the mutex. */
static void
look(GilWatch *self)
{
    double now, loop_cpu, loop_wait;
    int ran;
    unsigned long switches;
    self->looks++;
    if (!self->armed || self->deadline == 0.0 || self->loop_tstate == NULL || self->captured) {
        return;
    }
    now = monotonic();
    if (now < self->deadline) {
        return;
    }
    if (!self->base_valid || self->base_deadline != self->deadline) {
        /* First seen late for this deadline. */
        self->base_valid = 1;
        self->refused = 0;
        self->base_deadline = self->deadline;
        self->base_time = now;
        return;
    }
    /* The proof that the loop keeps the GIL in C: a request to drop it (a
     * thread that waits for the GIL asks its holder after one switch interval,
     * 5 ms) that the loop's thread keeps refusing, look after look, with no
     * switch between. Python code drops it at its next check, within
     * microseconds; a C call that keeps the GIL never checks. The time is
     * counted from the first look that saw the request refused (a lower
     * bound: the call began a switch interval or more before). */
    switches = switch_number(self);
    if (loop_holds_gil(self) && drop_requested(self)
        && (self->refused == 0 || switches == self->refused_switch)) {
        if (self->refused == 0) {
            self->refused_since = now;
            self->refused_switch = switches;
            read_clocks(self->loop_stat, &self->loop_cpu_last, &self->loop_wait0);
        }
        self->refused++;
    }
    else {
        self->refused = 0;
    }
    if (now - self->base_time < self->threshold) {
        return;
    }
    self->late++;
    if (self->refused < 2 || now - self->refused_since < self->threshold) {
        /* The watchdog is late, but not because the loop keeps the GIL (yet):
         * it waits for a CPU, or the GIL went to another thread. */
        if (self->refused < 2) {
            self->busy++;
        }
        return;
    }
    /* The loop's own time, as the watchdog counts it (_watchdog.py): a thread
     * that holds the GIL but waits for a CPU refuses the request too, and that
     * is the machine's load, not the loop's doing. */
    read_clocks(self->loop_stat, &loop_cpu, &loop_wait);
    ran = loop_cpu > self->loop_cpu_last;
    self->loop_cpu_last = loop_cpu;
    if (loop_wait >= 0 && self->loop_wait0 >= 0) {
        /* The kernel adds a wait for a CPU to the count when it ends: a thread
         * runnable now that has not run since the last look may be in the
         * middle of one. Its stack would be a random innocent line; look again. */
        if (!ran && read_state(self->loop_state) == 'R') {
            self->starved++;
            return;
        }
        if ((now - self->refused_since) - (loop_wait - self->loop_wait0) < self->threshold) {
            self->starved++;
            return;
        }
    }
    if (!loop_holds_gil(self) || !walk(self)) {
        self->elsewhere++;
        return;
    }
    self->captured = 1;
    self->captures++;
    self->since = self->refused_since;
    self->seen = now;
    self->capture_wait0 = self->loop_wait0;
    if (self->notify_fd >= 0) {
        ssize_t ignored = write(self->notify_fd, "!", 1);
        (void)ignored;
    }
}

static void *
watch_main(void *arg)
{
    GilWatch *self = (GilWatch *)arg;
    pthread_mutex_lock(&self->mutex);
    while (!self->stopping) {
        struct timespec until;
        double at = monotonic() + self->interval;
        until.tv_sec = (time_t)at;
        until.tv_nsec = (long)((at - (double)until.tv_sec) * 1e9);
        while (!self->stopping
               && pthread_cond_timedwait(&self->wake, &self->mutex, &until) != ETIMEDOUT) {
        }
        if (self->stopping) {
            break;
        }
        look(self);
    }
    pthread_mutex_unlock(&self->mutex);
    return NULL;
}

/* --- the Python side (all under the GIL) ------------------------------------------ */

/* Take the mutex from a thread that holds the GIL. The native thread holds it
 * for a look (microseconds), but a busy machine may preempt it right then: the
 * GIL is released while this thread waits, so that never holds up the loop. */
static void
lock(GilWatch *self)
{
    if (pthread_mutex_trylock(&self->mutex) != 0) {
        Py_BEGIN_ALLOW_THREADS
        pthread_mutex_lock(&self->mutex);
        Py_END_ALLOW_THREADS
    }
}

static int
GilWatch_init(GilWatch *self, PyObject *args, PyObject *kwds)
{
    static char *keywords[] = {"threshold", "interval", "run_once", NULL};
    double threshold, interval;
    PyObject *run_once;
    pthread_condattr_t attributes;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "ddO", keywords,
                                     &threshold, &interval, &run_once)) {
        return -1;
    }
    if (run_once != Py_None && !PyCode_Check(run_once)) {
        PyErr_SetString(PyExc_TypeError, "run_once must be a code object or None");
        return -1;
    }
    if (self->frames != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "GilWatch is initialized once");
        return -1;
    }
    if (!(threshold > 0) || !(interval > 0)) {
        PyErr_SetString(PyExc_ValueError, "threshold and interval must be positive");
        return -1;
    }
    self->frames = PyMem_RawCalloc(MAX_FRAMES, sizeof(Frame));
    if (self->frames == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    pthread_mutex_init(&self->mutex, NULL);
    pthread_condattr_init(&attributes);
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    pthread_cond_init(&self->wake, &attributes);
    pthread_condattr_destroy(&attributes);
    self->pid = getpid();
    self->threshold = threshold;
    self->interval = interval;
    if (run_once != Py_None) {
        Py_INCREF(run_once);
        self->run_once = run_once;
    }
    self->loop_stat = self->loop_state = self->watchdog_stat = self->watchdog_state = -1;
    self->notify_fd = -1;
    return 0;
}

static PyObject *
GilWatch_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    GilWatch *self = (GilWatch *)type->tp_alloc(type, 0);
    if (self != NULL) {
        self->loop_stat = self->loop_state = self->watchdog_stat = self->watchdog_state = -1;
    self->notify_fd = -1;
    }
    return (PyObject *)self;
}

/* In a child made by fork() the native thread does not exist, and the mutex
 * may have been copied while it held it: both are made afresh, and the watcher
 * stays off in the child (its watchdog is gone too). */
static void
after_fork(GilWatch *self)
{
    pthread_condattr_t attributes;
    if (self->frames == NULL || self->pid == getpid()) {
        return;
    }
    self->pid = getpid();
    pthread_mutex_init(&self->mutex, NULL);
    pthread_condattr_init(&attributes);
    pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
    pthread_cond_init(&self->wake, &attributes);
    pthread_condattr_destroy(&attributes);
    self->started = 0;
    self->stopping = 1;
    self->captured = 0;
    self->armed = 0;
}

static int
ready(GilWatch *self)
{
    if (self->frames == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "GilWatch.__init__ was not called");
        return 0;
    }
    after_fork(self);
    return 1;
}

static void
stop_thread(GilWatch *self)
{
    if (!self->started) {
        return;
    }
    lock(self);
    self->stopping = 1;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->mutex);
    Py_BEGIN_ALLOW_THREADS
    pthread_join(self->thread, NULL);
    Py_END_ALLOW_THREADS
    self->started = 0;
}

static PyObject *
GilWatch_start(GilWatch *self, PyObject *Py_UNUSED(ignored))
{
    int error;
    if (!ready(self)) {
        return NULL;
    }
    if (self->started || self->stopping) {
        PyErr_SetString(PyExc_RuntimeError, "GilWatch starts once");
        return NULL;
    }
    error = pthread_create(&self->thread, NULL, watch_main, self);
    if (error != 0) {
        errno = error;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    self->started = 1;
    Py_RETURN_NONE;
}

static PyObject *
GilWatch_stop(GilWatch *self, PyObject *Py_UNUSED(ignored))
{
    if (!ready(self)) {
        return NULL;
    }
    stop_thread(self);
    self->stopping = 1;
    Py_RETURN_NONE;
}

static PyObject *
GilWatch_loop_thread(GilWatch *self, PyObject *Py_UNUSED(ignored))
{
    PyThreadState *tstate = PyThreadState_Get();
    int stat, state;
    if (!ready(self)) {
        return NULL;
    }
    if (tstate == self->loop_tstate) {
        Py_RETURN_NONE;
    }
    stat = open_task_file(0, "schedstat");
    state = open_task_file(0, "stat");
    lock(self);
    if (self->loop_stat >= 0) {
        close(self->loop_stat);
    }
    if (self->loop_state >= 0) {
        close(self->loop_state);
    }
    self->loop_stat = stat;
    self->loop_state = state;
    self->interp = tstate->interp;
    self->loop_tstate = tstate;
    self->loop_ident = PyThread_get_thread_ident();
    self->base_valid = 0;
    pthread_mutex_unlock(&self->mutex);
    Py_RETURN_NONE;
}

static PyObject *
GilWatch_watchdog_thread(GilWatch *self, PyObject *arg)
{
    int stat, state;
    long tid;
    if (!ready(self)) {
        return NULL;
    }
    tid = PyLong_AsLong(arg);
    if (tid == -1 && PyErr_Occurred()) {
        return NULL;
    }
    stat = open_task_file(tid, "schedstat");
    state = open_task_file(tid, "stat");
    lock(self);
    if (self->watchdog_stat >= 0) {
        close(self->watchdog_stat);
    }
    if (self->watchdog_state >= 0) {
        close(self->watchdog_state);
    }
    self->watchdog_stat = stat;
    self->watchdog_state = state;
    self->base_valid = 0;
    pthread_mutex_unlock(&self->mutex);
    Py_RETURN_NONE;
}

static PyObject *
GilWatch_sleeping(GilWatch *self, PyObject *args)
{
    double deadline;
    int armed;
    if (!ready(self) || !PyArg_ParseTuple(args, "dp", &deadline, &armed)) {
        return NULL;
    }
    lock(self);
    self->deadline = deadline;
    self->armed = armed;
    pthread_mutex_unlock(&self->mutex);
    Py_RETURN_NONE;
}

static PyObject *
GilWatch_awake(GilWatch *self, PyObject *Py_UNUSED(ignored))
{
    PyObject *frames, *result;
    double since, seen, wait0;
    uintptr_t coroutine;
    int i, n, coroutine_frame;
    Frame *copy;
    if (!ready(self)) {
        return NULL;
    }
    lock(self);
    /* Its turn takes much less than an interval, unless it waits for the GIL
     * in the middle of it: that wait counts as much as one in its sleep. */
    self->deadline = monotonic() + self->interval;
    self->base_valid = 0;
    if (!self->captured) {
        pthread_mutex_unlock(&self->mutex);
        Py_RETURN_NONE;
    }
    /* Copied out under the mutex, turned into objects after it. */
    n = self->nframes;
    since = self->since;
    seen = self->seen;
    coroutine = self->coroutine;
    coroutine_frame = self->coroutine_frame;
    wait0 = self->capture_wait0;
    copy = PyMem_RawMalloc(sizeof(Frame) * (size_t)(n > 0 ? n : 1));
    if (copy != NULL) {
        memcpy(copy, self->frames, sizeof(Frame) * (size_t)n);
    }
    self->captured = 0;
    self->nframes = 0;
    pthread_mutex_unlock(&self->mutex);
    if (copy == NULL) {
        return PyErr_NoMemory();
    }
    frames = PyList_New(n);
    if (frames == NULL) {
        PyMem_RawFree(copy);
        return NULL;
    }
    for (i = 0; i < n; i++) {
        PyObject *item = Py_BuildValue(
            "(s#is#)",
            copy[i].file, (Py_ssize_t)strlen(copy[i].file), copy[i].line,
            copy[i].name, (Py_ssize_t)strlen(copy[i].name));
        if (item == NULL) {
            /* Not UTF-8 after a truncation in the middle of a character: keep going with less. */
            PyErr_Clear();
            item = Py_BuildValue("(sis)", "?", copy[i].line, "?");
            if (item == NULL) {
                Py_DECREF(frames);
                PyMem_RawFree(copy);
                return NULL;
            }
        }
        PyList_SET_ITEM(frames, i, item);
    }
    PyMem_RawFree(copy);
    result = Py_BuildValue("(ddNKid)", since, seen, frames, (unsigned long long)coroutine,
                           coroutine_frame, wait0);
    return result;
}

static PyObject *
GilWatch_counts(GilWatch *self, PyObject *Py_UNUSED(ignored))
{
    PyObject *counts;
    if (!ready(self)) {
        return NULL;
    }
    lock(self);
    counts = Py_BuildValue(
        "{sksksksksksk}", "looks", self->looks, "late", self->late, "busy", self->busy,
        "starved", self->starved, "elsewhere", self->elsewhere, "captures", self->captures);
    pthread_mutex_unlock(&self->mutex);
    return counts;
}

static PyObject *
GilWatch_get_notify_fd(GilWatch *self, void *Py_UNUSED(closure))
{
    return PyLong_FromLong(self->notify_fd);
}

static int
GilWatch_set_notify_fd(GilWatch *self, PyObject *value, void *Py_UNUSED(closure))
{
    long fd;
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "notify_fd cannot be deleted");
        return -1;
    }
    fd = PyLong_AsLong(value);
    if (fd == -1 && PyErr_Occurred()) {
        return -1;
    }
    lock(self);
    self->notify_fd = (int)fd;
    pthread_mutex_unlock(&self->mutex);
    return 0;
}

static void
GilWatch_dealloc(GilWatch *self)
{
    if (self->frames != NULL) {
        after_fork(self);
        stop_thread(self);
        if (self->loop_stat >= 0) {
            close(self->loop_stat);
        }
        if (self->loop_state >= 0) {
            close(self->loop_state);
        }
        if (self->watchdog_stat >= 0) {
            close(self->watchdog_stat);
        }
        if (self->watchdog_state >= 0) {
            close(self->watchdog_state);
        }
        pthread_cond_destroy(&self->wake);
        pthread_mutex_destroy(&self->mutex);
        PyMem_RawFree(self->frames);
    }
    Py_XDECREF(self->run_once);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef GilWatch_methods[] = {
    {"start", (PyCFunction)GilWatch_start, METH_NOARGS, "Start the native thread."},
    {"stop", (PyCFunction)GilWatch_stop, METH_NOARGS, "Stop and join the native thread."},
    {"loop_thread", (PyCFunction)GilWatch_loop_thread, METH_NOARGS,
     "Called on the loop's thread: the thread to watch."},
    {"watchdog_thread", (PyCFunction)GilWatch_watchdog_thread, METH_O,
     "watchdog_thread(native_id): the Python watchdog's thread, whose lateness is measured."},
    {"sleeping", (PyCFunction)GilWatch_sleeping, METH_VARARGS,
     "sleeping(deadline, armed): the watchdog waits until deadline (time.monotonic()); "
     "armed: the loop runs."},
    {"awake", (PyCFunction)GilWatch_awake, METH_NOARGS,
     "The watchdog is back: None, or (since, seen, frames innermost first, the outermost "
     "coroutine's id, its frame's index or -1, the loop thread's wait for a CPU at since "
     "or -1) of a block seen while it waited."},
    {"counts", (PyCFunction)GilWatch_counts, METH_NOARGS, "The thread's counts: looks; late (the watchdog threshold late); of those, busy (the "
     "watchdog waited for a CPU, not the GIL), starved (the loop's thread did), elsewhere "
     "(the GIL was not the loop's, or the loop was not in an iteration), captures."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef GilWatch_getset[] = {
    {"notify_fd", (getter)GilWatch_get_notify_fd, (setter)GilWatch_set_notify_fd,
     "A file descriptor that gets one byte at each block seen (for tests), or -1.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject GilWatchType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ambidex.detect._gilwatch.GilWatch",
    .tp_basicsize = sizeof(GilWatch),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A native thread that sees the loop's C calls that keep the GIL (see the module).",
    .tp_new = GilWatch_new,
    .tp_init = (initproc)GilWatch_init,
    .tp_dealloc = (destructor)GilWatch_dealloc,
    .tp_methods = GilWatch_methods,
    .tp_getset = GilWatch_getset,
};

static struct PyModuleDef gilwatch_module = {
    PyModuleDef_HEAD_INIT,
    "ambidex.detect._gilwatch",
    "A native thread that sees the loop's C calls that keep the GIL (see _gilwatch.c).",
    -1,
    NULL,
};

#ifndef AMBIDEX_SOURCE_HASH
#define AMBIDEX_SOURCE_HASH ""
#endif

PyMODINIT_FUNC
PyInit__gilwatch(void)
{
    PyObject *module;
    if (PyType_Ready(&GilWatchType) < 0) {
        return NULL;
    }
    module = PyModule_Create(&gilwatch_module);
    if (module == NULL) {
        return NULL;
    }
    Py_INCREF(&GilWatchType);
    if (PyModule_AddObject(module, "GilWatch", (PyObject *)&GilWatchType) < 0
        || PyModule_AddStringConstant(module, "SOURCE_HASH", AMBIDEX_SOURCE_HASH) < 0) {
        Py_DECREF(&GilWatchType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
