"""The two transports under the streams, one per colour, written by hand.

``ambidex.io._async._stream`` holds the stream (argument checks, limits,
error mapping, what a failed write or ``start_tls`` leaves behind) once, for
asyncio; ``ambidex.io._sync._stream`` is generated from it by ``ambidex
generate``. What cannot be written once is here, with the same names in
both modules, so the generated code needs no special case (httpcore's
``_backends`` do the same):

* ``_open`` connects (TCP, and TLS over it), returning what ``__init__`` takes;
* ``_reader`` reads with the StreamReader's vocabulary (``read``,
  ``readexactly``, ``readuntil``, its ``_limit``, its two exceptions
  ``IncompleteRead`` and ``LimitOverrun``): on asyncio it *is* the
  StreamReader, so a line costs one C-backed ``readuntil`` and no second
  buffer; on a socket it is :class:`~ambidex.io._backends._sync.SocketReader`,
  a buffered reader whose ``readline`` and ``read`` are C;
* ``_timed`` runs one read under the stream's timeout, ``_send_all``,
  ``_upgrade`` (start TLS), ``_close_transport`` and ``_abort`` do the rest.
"""
