"""sync -> async, one test the port rewrites: ``isinstance(sock, ssl.SSLSocket)``.

A ported socket is an :class:`ambidex.io.AsyncSocket`, and TLS starts on it in
place (``await ambidex.io.wrap_socket(context, sock)`` returns the same
object), so it is never an ``ssl.SSLSocket``: the test kept as written is
False in the port where the sync code found True. ftplib's ``FTP_TLS`` asks it
to know whether TLS is on: ported as written, ``ccc()`` always raised "not
using TLS", ``auth()`` did not see that TLS was on, ``login(secure=True)``
sent ``AUTH TLS`` again, and the data transfers never shut TLS down.

So the port asks the question the test means:
``isinstance(sock, ssl.SSLSocket)`` becomes ``ambidex.io.speaks_tls(sock)``
for a socket the analysis knows is one the port replaces (a module-level
alias of the class, ftplib's ``_SSLSocket``, counts as the class). The two
answers differ in one place, documented at :func:`ambidex.io.speaks_tls`:
``SSLSocket.unwrap()`` returns the same object in clear text, still an
``SSLSocket``. A tuple of types holding ``ssl.SSLSocket`` asks that and the
rest: ``isinstance(sock, (ssl.SSLSocket, T))`` becomes
``(ambidex.io.speaks_tls(sock) or isinstance(sock, T))``, the other types
kept as written (and as the port rewrites them: ``socket.socket`` is
``AsyncSocket`` there). That reads ``sock`` twice, so only a plain name or
attribute is rewritten; a call (``isinstance(self._make(), (...))``) or a
starred part of the tuple stays a located warning, an error with ``--strict``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

from ambidex._callgraph import CallGraph
from ambidex.codegen._source import Diagnostic

__all__ = ["TLSTest", "tls_type_tests"]

_SOCKETS = frozenset({"socket.socket", "ssl.SSLSocket"})
"""The sync types of what the port turns into an ``AsyncSocket``."""


@dataclass(frozen=True)
class TLSTest:
    """One ``isinstance(x, ssl.SSLSocket)`` on a socket the port replaces."""

    path: str
    call: ast.Call
    rewritten: bool
    """False for what has no faithful rewrite (see the module): said
    (``diagnostic``), not rewritten."""
    ssl_type: ast.expr | None = None
    """In a tuple of types, the element that names ``ssl.SSLSocket``."""

    def diagnostic(self) -> Diagnostic:
        node = self.call
        tested = ast.unparse(node.args[0])
        return Diagnostic(
            self.path, node.lineno, node.col_offset + 1,
            f"`{ast.unparse(node)}`: {tested} is an ambidex.io.AsyncSocket in the port, "
            "which starts TLS in place and is never an ssl.SSLSocket: this test is "
            "False there where the sync code found True; test ambidex.io.speaks_tls("
            f"{tested}) for TLS and the other types apart", error=False)


def tls_type_tests(graph: CallGraph) -> Iterator[TLSTest]:
    """Each ``isinstance(x, ssl.SSLSocket)`` (or a tuple holding it) whose ``x``
    the analysis knows is a socket the port replaces."""
    modules = {path for path, module in graph.modules.items() if "SSLSocket" in module.text}
    if not modules:  # the usual case: no walk at all
        return
    seen: set[int] = set()
    for function in graph.functions.values():
        if function.module.path not in modules:
            continue
        for node in ast.walk(function.node):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "isinstance" and len(node.args) == 2
                    and not node.keywords) \
                    or id(node) in seen:
                continue
            seen.add(id(node))
            tuple_ = isinstance(node.args[1], ast.Tuple)
            types = node.args[1].elts if isinstance(node.args[1], ast.Tuple) else [node.args[1]]
            named = [t for t in types if graph.dotted_name(t, function) == "ssl.SSLSocket"]
            if not named:
                continue
            value = graph.resolver.eval(node.args[0], function)
            if value is None or value.instance not in _SOCKETS:
                continue
            if not tuple_:
                yield TLSTest(function.module.path, node, rewritten=True)
                continue
            rewritable = len(named) == 1 and len(types) > 1 \
                and not any(isinstance(t, ast.Starred) for t in types) \
                and _read_twice_alike(node.args[0])
            yield TLSTest(function.module.path, node, rewritten=rewritable, ssl_type=named[0])


def _read_twice_alike(node: ast.expr) -> bool:
    """Whether reading ``node`` twice gives the same object as reading it once,
    for all the analysis needs: a name or a chain of attributes of one."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name)
