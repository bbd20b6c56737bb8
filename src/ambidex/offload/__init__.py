"""Move what must block off the event loop, with bounded pools and honest cancellation.

The last resort, for code that cannot be ported to asyncio:

* :func:`run_in_thread` / :class:`ThreadPool` -- for code that *waits*: a
  blocking client library, file I/O, a C call that releases the GIL;
* :class:`ProcessPool` -- for Python code that *computes*: threads cannot run
  it in parallel (the GIL), processes can;
* :func:`open_file` -- files whose every call runs on the thread pool, the
  twin the lint suggests for ``open``;
* :func:`wrap` -- an async facade over a blocking client object (a DB-API
  connection first): the rule table says which methods block, each object
  graph stays on one of a bounded set of :class:`PinnedThreads`, and a
  cancelled query is stopped in the database by the driver's own hook.

Two promises hold for every pool:

1. **Bounded.** At most ``max_workers`` functions run at once; more calls
   wait, first come first served, in a queue that holds only calls whose
   callers are still awaiting them (a cancelled one is marked and skipped in
   constant time). A worker that finishes takes the next call itself.
2. **Honest cancellation.** Cancelling the awaiting task raises
   :class:`asyncio.CancelledError` at once. A function not yet started never
   starts. A function already running cannot be killed: it runs to its end
   and keeps its worker until then, so the bound stays true. Nothing here
   pretends otherwise.
"""

from ambidex.offload._affinity import PinnedThreads
from ambidex.offload._files import AsyncFile, open_file
from ambidex.offload._pool import PoolClosedError
from ambidex.offload._processes import ProcessPool, RemoteTraceback, WorkerDiedError
from ambidex.offload._threads import ThreadPool, default_thread_pool, run_in_thread
from ambidex.offload._wrap import (
    OutOfStepError,
    ResultsLostError,
    Wrapped,
    WrappedClosedError,
    Wrapper,
    wrap,
)

__all__ = [
    "AsyncFile",
    "OutOfStepError",
    "PinnedThreads",
    "PoolClosedError",
    "ProcessPool",
    "RemoteTraceback",
    "ResultsLostError",
    "ThreadPool",
    "WorkerDiedError",
    "Wrapped",
    "WrappedClosedError",
    "Wrapper",
    "default_thread_pool",
    "open_file",
    "run_in_thread",
    "wrap",
]
