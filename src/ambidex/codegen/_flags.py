"""Colour flags: module constants that say which colour the code runs in.

ambidex's own flag is ``IS_ASYNC`` (True in async code). Projects keep their
own (pymongo's ``_IS_SYNC``, True in sync code) and declare them:
``--flag _IS_SYNC=sync`` on the command line, ``flags = { _IS_SYNC = "sync" }``
in a ``[[tool.ambidex.generate]]`` row. A flag is True in the colour it names.

In the output of a conversion each flag's value is known, so:

* its module-level assignment (``_IS_SYNC = False``) takes the target
  colour's value;
* an ``if`` whose condition the flags decide keeps only the branch that runs
  in the target colour (nothing in the other is converted or refused), and no
  ``if True:`` is left behind;
* a condition that combines a flag with ``and`` / ``or`` / ``not`` folds the
  same way: ``remaining is None or _IS_SYNC`` is always true in sync code, and
  ``a and _IS_SYNC`` is just ``a`` there.

A branch the flags keep is *target code* when the source colour would never
have run it (``else:`` of ``if not _IS_SYNC:``, towards sync): the converter
does not judge it as source (a coroutine called without ``await`` there is
sync code calling sync code).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from ._markers import MarkerComment

__all__ = [
    "DEFAULT_FLAGS",
    "Colour",
    "declared_flags",
    "flag_assignment",
    "flag_test",
    "fold",
    "render",
]

Colour = Literal["sync", "async"]

DEFAULT_FLAGS: Mapping[str, Colour] = {"IS_ASYNC": "async"}
"""ambidex's own flag, always known."""


def declared_flags(flags: Mapping[str, str] | None) -> dict[str, Colour]:
    """ambidex's flags with the project's; raises ValueError for a colour that is
    neither ``sync`` nor ``async`` or a name that is not an identifier."""
    merged: dict[str, Colour] = dict(DEFAULT_FLAGS)
    for name, colour in (flags or {}).items():
        if not name.isidentifier():
            raise ValueError(f"flag {name!r} is not a Python name")
        if colour not in ("sync", "async"):
            raise ValueError(f"flag {name}: colour must be \"sync\" or \"async\", got {colour!r}")
        merged[name] = "sync" if colour == "sync" else "async"
    return merged


def values_in(flags: Mapping[str, Colour], colour: Colour) -> dict[str, bool]:
    """Each flag's value in code of ``colour``."""
    return {name: flag_colour == colour for name, flag_colour in flags.items()}


def flag_assignment(statement: ast.stmt, flags: Mapping[str, Colour]) -> ast.Constant | None:
    """The bool constant of a module-level ``FLAG = True`` / ``FLAG: bool = False``."""
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target, value = statement.targets[0], statement.value
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        target, value = statement.target, statement.value
    else:
        return None
    if (
        isinstance(target, ast.Name)
        and target.id in flags
        and isinstance(value, ast.Constant)
        and isinstance(value.value, bool)
    ):
        return value
    return None


def flag_test(statement: ast.If, markers: Mapping[int, MarkerComment]) -> ast.expr:
    """The condition to fold for ``statement``: its test, or ``IS_ASYNC`` /
    ``not IS_ASYNC`` for psycopg's ``if True:  # ASYNC`` / ``if False:  # ASYNC``.

    psycopg writes its colour flag as a comment on a constant condition (its
    ``tools/async_to_sync.py`` keeps the ``else:`` of ``if True:  # ASYNC`` in
    the sync file, the body of ``if False:  # ASYNC``). Left to be read as
    Python, ``if True:`` would keep the async branch in sync code, silently. The
    comment is found by the one marker parser (kind ``async-flag``, on the
    ``if``'s own line); on any other condition it means nothing, as in psycopg.
    """
    test = statement.test
    marker = markers.get(statement.lineno)
    if (marker is None or marker.kind != "async-flag"
            or not isinstance(test, ast.Constant) or not isinstance(test.value, bool)):
        return test
    flag = ast.Name(id="IS_ASYNC", ctx=ast.Load())
    return flag if test.value else ast.UnaryOp(op=ast.Not(), operand=flag)


def fold(test: ast.expr, values: Mapping[str, bool]) -> bool | ast.expr | None:
    """What a condition becomes once the flags' values are known.

    True or False when the flags decide it; an expression (made of the
    original's parts) when flags were removed from it but it still depends on
    something else; None when no flag is in it.
    """
    result, involved = _fold(test, values)
    if not involved:
        return None
    return result


def _fold(node: ast.expr, values: Mapping[str, bool]) -> tuple[bool | ast.expr, bool]:
    if isinstance(node, ast.Name) and node.id in values:
        return values[node.id], True
    if isinstance(node, ast.Constant) and isinstance(node.value, bool):
        return node.value, False
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner, involved = _fold(node.operand, values)
        if isinstance(inner, bool):
            return (not inner), involved
        if inner is node.operand:
            return node, involved
        return ast.UnaryOp(op=ast.Not(), operand=inner), involved
    if isinstance(node, ast.BoolOp):
        is_and = isinstance(node.op, ast.And)
        kept: list[ast.expr] = []
        involved = False
        for operand in node.values:
            value, flagged = _fold(operand, values)
            involved = involved or flagged
            if isinstance(value, bool):
                if value is not is_and:  # False in `and`, True in `or`: decided
                    return value, True if flagged else involved
                continue  # True in `and`, False in `or`: drops out
            kept.append(value)
        if not involved:
            return node, False
        if not kept:
            return is_and, True
        if len(kept) == 1:
            return kept[0], True
        return ast.BoolOp(op=node.op, values=kept), True
    return node, False


def render(node: ast.expr, segment: Mapping[int, str]) -> str:
    """Source text for a folded condition: each original part by ``segment``
    (id of an original node -> its text), new ``and``/``or``/``not`` around them."""
    if id(node) in segment:
        return segment[id(node)]
    if isinstance(node, ast.UnaryOp):
        inner = render(node.operand, segment)
        return f"not ({inner})" if _needs_parens(node.operand) else f"not {inner}"
    if isinstance(node, ast.BoolOp):
        joiner = " and " if isinstance(node.op, ast.And) else " or "
        parts = []
        for value in node.values:
            text = render(value, segment)
            if _needs_parens(value) and not (
                isinstance(value, ast.BoolOp) and type(value.op) is type(node.op)
            ):
                text = f"({text})"
            parts.append(text)
        return joiner.join(parts)
    raise ValueError("a folded condition holds a part that is not in the source")


def _needs_parens(node: ast.expr) -> bool:
    return isinstance(node, (ast.BoolOp, ast.IfExp, ast.Lambda, ast.NamedExpr))


def originals(node: ast.expr, test: ast.expr) -> list[ast.expr]:
    """The nodes of ``test`` that a folded ``node`` keeps as they are written."""
    found: list[ast.expr] = []
    original = {id(n) for n in ast.walk(test)}

    def visit(part: ast.expr) -> None:
        if id(part) in original:
            found.append(part)
        elif isinstance(part, ast.UnaryOp):
            visit(part.operand)
        elif isinstance(part, ast.BoolOp):
            for value in part.values:
                visit(value)

    visit(node)
    return found
