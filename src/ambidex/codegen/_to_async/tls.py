"""sync -> async, one test the port cannot keep: ``isinstance(sock, ssl.SSLSocket)``.

A ported socket is an :class:`ambidex.io.AsyncSocket`, and TLS starts on it in
place (``await ambidex.io.wrap_socket(context, sock)`` returns the same
object), so it is never an ``ssl.SSLSocket``: a test that asks is False in the
port where the sync code found True. ftplib's ``FTP_TLS`` asks it to know
whether TLS is on: ported as written, ``ccc()`` always raised "not using TLS",
``auth()`` did not see that TLS was on, and ``login(secure=True)`` sent
``AUTH TLS`` again. Nothing in the port can answer the question the same way
(the object does not say whether it speaks TLS), so each such test on a
socket the analysis knows is a located warning (an error with ``--strict``):
the code around it needs a person (a flag of the class's own, as poplib's
``_tls_established``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ambidex._callgraph import CallGraph
from ambidex.codegen._source import Diagnostic

__all__ = ["tls_type_tests"]

_SOCKETS = frozenset({"socket.socket", "ssl.SSLSocket"})
"""The sync types of what the port turns into an ``AsyncSocket``."""


def tls_type_tests(graph: CallGraph) -> Iterator[Diagnostic]:
    """A located warning for each ``isinstance(x, ssl.SSLSocket)`` (or a tuple
    holding it) whose ``x`` the analysis knows is a socket the port replaces."""
    modules = {path for path, module in graph.modules.items() if "SSLSocket" in module.text}
    if not modules:  # the usual case: no walk at all
        return
    seen: set[int] = set()
    for function in graph.functions.values():
        if function.module.path not in modules:
            continue
        for node in ast.walk(function.node):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "isinstance" and len(node.args) == 2) \
                    or id(node) in seen:
                continue
            seen.add(id(node))
            types = node.args[1].elts if isinstance(node.args[1], ast.Tuple) else [node.args[1]]
            if not any(graph.dotted_name(t, function) == "ssl.SSLSocket" for t in types):
                continue
            value = graph.resolver.eval(node.args[0], function)
            if value is None or value.instance not in _SOCKETS:
                continue
            tested = ast.unparse(node.args[0])
            yield Diagnostic(
                function.module.path, node.lineno, node.col_offset + 1,
                f"`{ast.unparse(node)}`: {tested} is an ambidex.io.AsyncSocket in the port, "
                "which starts TLS in place and is never an ssl.SSLSocket: this test is "
                "False there where the sync code found True; keep whether TLS is on in a "
                "flag of your own and test that", error=False)
