"""Renaming names in Python source, both directions, located by the AST.

A conversion renames things: the user's ``rename`` table (``AsyncClient`` ->
``Client``), the module path segments ``_async`` <-> ``_sync``, the rule
table's dunders (``__aenter__`` -> ``__enter__``) and method names
(``aclose`` -> ``close``), and, on request, the ``Async`` prefix of names the
source defines. Text search-and-replace gets these wrong in both directions:
it renames a word inside a comment or a docstring, and it misses a name that
the code spells inside a string. This module renames what the *code* names:

* identifiers: ``Name`` nodes, attribute names, ``def`` / ``class`` names,
  names imported by ``from x import name``;
* module paths in ``import`` and ``from ... import``, relative ones too
  (``from .._async.pool import X`` -> ``from .._sync.pool import X``; a
  module rename ``pkg._backends.auto = "pkg._backends.sync"`` also rewrites
  ``from .._backends.auto import AutoBackend`` in a module of ``pkg``);
* names that live in strings but belong to the code: ``__all__`` entries,
  forward references in string annotations (``"AsyncClient"``,
  ``"Optional[AsyncPool]"``), and the attribute name given to ``getattr``,
  ``hasattr``, ``setattr`` and ``delattr`` (``hasattr(obj, "aclose")``).

The API (the sync -> async converter uses it too):

``Renames``
    The maps, already oriented in the conversion's direction.
    ``Renames.build(user, to=..., defined=..., async_prefix=...)`` splits a
    user table into bare names and dotted module paths and adds the default
    ``_async`` <-> ``_sync`` segment rename. Its methods are pure string
    functions: :meth:`Renames.identifier`, :meth:`Renames.attribute`,
    :meth:`Renames.module`.

``RenameWalker(source, edits, renames, module_name=None)``
    An :class:`ast.NodeVisitor`; ``walker.visit(tree)`` adds to ``edits``
    (a :class:`~ambidex.codegen._source.Edits`) every rename above. A
    converter subclasses it and overrides :meth:`RenameWalker.rename_name`,
    :meth:`RenameWalker.visit_Attribute` etc. to add its own rewrites; the
    ``used`` set records which user renames matched something, so
    ``generate --check`` can report the ones that matched nothing.

``module_name_for(path)`` (from :mod:`ambidex._names`, the one name model)
    The dotted module name of a display path (``src/pkg/_async/x.py`` ->
    ``pkg._async.x``), needed to resolve relative imports.

Failure modes: a string that is not a plain literal (escapes, implicit
concatenation, an f-string) is left alone rather than guessed at; a module
rename whose target is outside the current package turns a relative import
into an absolute one.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

from ambidex._names import absolute_module
from ambidex.codegen._source import Edits, SourceText

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_LITERAL = re.compile(r"([rRuUbBfF]{0,2})('\'\'|\"\"\"|'|\")(.*?)\2", re.DOTALL)
"""A string literal: its prefix, its quotes and its body."""
_ATTR_FUNCTIONS = frozenset({"getattr", "hasattr", "setattr", "delattr"})
_DEFAULT_SEGMENTS = {"sync": {"_async": "_sync"}, "async": {"_sync": "_async"}}


@functools.lru_cache(maxsize=16)
def _prose_pattern(words: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w)(?:{words})(?!\w)")


def _strip_async_prefix(name: str) -> str | None:
    if len(name) > 5 and name.startswith("Async") and name[5].isupper():
        return name[5:]
    return None


@dataclass
class Renames:
    """The renames of one conversion, oriented old -> new."""

    names: dict[str, str] = field(default_factory=dict)
    """Identifiers renamed wherever the code names them (classes, functions,
    dunders, attributes, imported names, strings that hold a name)."""
    attributes: dict[str, str] = field(default_factory=dict)
    """Identifiers renamed only as attribute / method names (``obj.aclose``,
    ``def aclose`` in a class, ``getattr(obj, "aclose")``)."""
    modules: dict[str, str] = field(default_factory=dict)
    """Dotted module paths: ``pkg._backends.auto`` -> ``pkg._backends.sync``.
    A key matches a whole module path, a prefix of one, or a run of its
    segments (so it also matches relative imports)."""
    segments: dict[str, str] = field(default_factory=dict)
    """Single module path segments: ``_async`` -> ``_sync``."""
    prose: dict[str, str] = field(default_factory=dict)
    """Names renamed inside prose too (docstrings, messages, comments), word by
    word: the user's bare names and the prefix renames, when ``rename_prose``."""
    user_keys: frozenset[str] = frozenset()
    """The keys the user wrote, to report the ones that matched nothing."""
    used: set[str] = field(default_factory=set)
    used_attributes: set[str] = field(default_factory=set)

    @classmethod
    def build(
        cls,
        user: Mapping[str, str],
        *,
        to: Literal["sync", "async"],
        defined: Iterable[str] = (),
        async_prefix: bool | str = False,
        rename_prose: bool = False,
    ) -> Renames:
        """The renames for a conversion towards ``to``.

        ``user`` is the ``rename`` table (or ``--rename OLD=NEW``): a key
        without a dot is an identifier, a dotted key a module path (or a
        dotted name, which the converter resolves through the imports).
        ``defined`` are the names the converted modules define; with
        ``async_prefix`` (towards sync only) each ``AsyncFoo`` among them
        becomes ``Foo``, or, when it is a string such as ``"Sync"``, ``SyncFoo``
        (unasync's spelling). A bare name also renames module path segments.
        """
        renames = cls(segments=dict(_DEFAULT_SEGMENTS[to]), user_keys=frozenset(user))
        if async_prefix and to == "sync":
            prefix = async_prefix if isinstance(async_prefix, str) else ""
            for name in defined:
                stripped = _strip_async_prefix(name)
                if stripped is not None:
                    renames.names[name] = prefix + stripped
        for old, new in user.items():
            if "." in old.strip("."):
                renames.modules[old] = new
            else:
                renames.names[old] = new
                # A bare name is a module path segment too (`asynchronous` ->
                # `synchronous` in `pymongo.asynchronous.pool`).
                renames.segments[old] = new
        if rename_prose:
            renames.prose = {k: v for k, v in renames.names.items() if k != v}
        return renames

    def may_apply(self, text: str) -> bool:
        """Whether some rename could change ``text``; False only when the renames
        are module path segments alone (the port's ``_sync`` -> ``_async`` with
        no ``--rename``) and none of them is written in it: a segment is renamed
        where it is spelled, so the walk over the module can be skipped."""
        if self.names or self.attributes or self.modules or self.prose:
            return True
        return any(segment in text for segment in self.segments)

    def renames_an_import(self, tree: ast.Module) -> bool:
        """With :attr:`in_imports_only` renames: whether an import statement of
        ``tree`` (nested ones too) spells a segment they rename, where
        :class:`RenameWalker` would rename it (a part of a module path, or
        ``from . import _sync``). When none does, :func:`apply_renames` makes
        no edit, and the port skips it: most modules that spell ``_sync``
        do so in a docstring or a comment."""
        renamed = {old for old, new in self.segments.items() if old != new}
        for statement in _import_statements(tree.body):
            if isinstance(statement, ast.Import):
                if any(part in renamed for a in statement.names for part in a.name.split(".")):
                    return True
            elif statement.module is None:
                if any(alias.name in renamed for alias in statement.names):
                    return True
            elif statement.module != "__future__" and any(
                part in renamed for part in statement.module.split(".")
            ):
                return True
        return False

    @property
    def in_imports_only(self) -> bool:
        """Whether these renames can change import statements only: module
        path segments alone (``_sync`` -> ``_async``, no ``--rename``), which
        :class:`RenameWalker` renames in ``import`` and ``from ... import``
        statements and nowhere else."""
        return not (self.names or self.attributes or self.modules or self.prose)

    def prose_pattern(self) -> re.Pattern[str] | None:
        """The words :attr:`prose` renames, as one pattern (None when none)."""
        if not self.prose:
            return None
        words = "|".join(re.escape(w) for w in sorted(self.prose, key=len, reverse=True))
        return _prose_pattern(words)

    def identifier(self, name: str) -> str | None:
        """The new spelling of an identifier the code names, or None."""
        new = self.names.get(name)
        if new is not None:
            self.used.add(name)
        return new

    def attribute(self, name: str) -> str | None:
        """The new spelling of an attribute or method name, or None."""
        new = self.identifier(name)
        if new is None:
            new = self.attributes.get(name)
            if new is not None:
                self.used_attributes.add(name)
        return new

    def module(self, written: str, absolute: str | None = None) -> str | None:
        """The new spelling of a module path as written (without leading dots).

        ``absolute`` is the path resolved against the current package, for a
        relative import; a module rename may match either. Returns None when
        nothing changes.
        """
        parts = written.split(".") if written else []
        new_parts = self._rename_parts(parts)
        if new_parts != parts:
            return ".".join(new_parts)
        if absolute is not None and absolute != written:
            abs_parts = absolute.split(".")
            new_abs = self._rename_parts(abs_parts, segments=False)
            if new_abs != abs_parts:
                # Keep the relative form when the package part is unchanged.
                keep = len(abs_parts) - len(parts)
                if new_abs[:keep] == abs_parts[:keep]:
                    return ".".join(new_abs[keep:])
                return "." + ".".join(new_abs)  # marker: now absolute (see below)
        return None

    def _rename_parts(self, parts: list[str], *, segments: bool = True) -> list[str]:
        for old, new in self.modules.items():
            old_parts = old.strip(".").split(".")
            n = len(old_parts)
            for i in range(len(parts) - n + 1):
                if parts[i:i + n] == old_parts:
                    self.used.add(old)
                    parts = [*parts[:i], *new.strip(".").split("."), *parts[i + n:]]
                    break
        if segments:
            renamed = [self.segments.get(part, part) for part in parts]
            self.used.update(p for p, q in zip(parts, renamed, strict=True)
                             if p != q and p in self.user_keys)
            parts = renamed
        return parts


def string_body(source: SourceText, node: ast.Constant) -> tuple[int, int] | None:
    """Offsets of a plain string literal's content, or None when it is not plain."""
    if not isinstance(node.value, str):
        return None
    try:
        start, end = source.span(node)
    except ValueError:
        return None
    literal = source.text[start:end]
    match = re.fullmatch(r"([rRuU]?)('''|\"\"\"|'|\")(.*)\2", literal, re.DOTALL)
    if match is None or "\\" in match.group(3) or match.group(3) != node.value:
        return None
    return start + len(match.group(1)) + len(match.group(2)), end - len(match.group(2))


class RenameWalker(ast.NodeVisitor):
    """Adds the edits for ``renames`` to ``edits`` while visiting a module."""

    def __init__(
        self,
        source: SourceText,
        edits: Edits,
        renames: Renames,
        module_name: str | None = None,
    ) -> None:
        self.source = source
        self.edits = edits
        self.renames = renames
        self.module_name = module_name
        self.is_package = False
        self._in_class = 0
        self._in_annotation = 0

    # --- hooks a converter overrides -------------------------------------------
    def rename_name(self, node: ast.Name) -> str | None:
        """The new text of a bare name in the code, or None."""
        return self.renames.identifier(node.id)

    # --- identifiers -------------------------------------------------------------
    def visit_Name(self, node: ast.Name) -> None:
        new = self.rename_name(node)
        if new is not None and new != node.id:
            self.edits.replace_node(node, new)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.visit(node.value)
        self.rename_attr(node)

    def rename_attr(self, node: ast.Attribute) -> None:
        new = self.renames.attribute(node.attr)
        if new is not None and new != node.attr:
            _start, end = self.source.span(node)
            self.edits.replace(end - len(node.attr), end, new)

    def _rename_def_name(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef,
                         keyword: str) -> None:
        if isinstance(node, ast.ClassDef) or not self._in_class:
            new = self.renames.identifier(node.name)
        else:
            new = self.renames.attribute(node.name)
        if new is None or new == node.name:
            return
        start = self.source.offset(node.lineno, node.col_offset)
        match = re.compile(rf"{keyword}\s+({re.escape(node.name)})\b").search(
            self.source.text, start
        )
        if match is not None:
            self.edits.replace(match.start(1), match.end(1), new)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._visit_function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._visit_function(node)

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._rename_def_name(node, "def")
        in_class, self._in_class = self._in_class, 0
        for decorator in node.decorator_list:
            self.visit(decorator)
        self._visit_arguments(node.args)
        if node.returns is not None:
            self.visit_annotation(node.returns)
        for statement in node.body:
            self.visit(statement)
        self._in_class = in_class

    def _visit_arguments(self, args: ast.arguments) -> None:
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs,
                    *([args.vararg] if args.vararg else []),
                    *([args.kwarg] if args.kwarg else [])):
            if arg.annotation is not None:
                self.visit_annotation(arg.annotation)
        for default in (*args.defaults, *args.kw_defaults):
            if default is not None:
                self.visit(default)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._visit_arguments(node.args)
        self.visit(node.body)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._rename_def_name(node, "class")
        for decorator in node.decorator_list:
            self.visit(decorator)
        for base in node.bases:
            self.visit_annotation(base)  # Base["AsyncConnection[Any]"]: a type
        for keyword in node.keywords:
            self.visit(keyword.value)
        self._in_class += 1
        for statement in node.body:
            self.visit(statement)
        self._in_class -= 1

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.visit(node.target)
        self.visit_annotation(node.annotation)
        if node.value is not None:
            self.visit(node.value)

    # --- imports ---------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            new = self.renames.module(alias.name)
            if new is not None:
                start = self.source.offset(alias.lineno, alias.col_offset)
                self._replace_dotted(start, alias.name, new)

    def _replace_dotted(self, start: int, dotted: str, new: str) -> None:
        # A dotted name may be spelled with spaces around the dots; match it.
        pattern = r"\s*\.\s*".join(re.escape(part) for part in dotted.split("."))
        match = re.compile(pattern).match(self.source.text, start)
        if match is not None:
            self.edits.replace(match.start(), match.end(), new)

    def resolve_relative(self, module: str | None, level: int) -> str | None:
        """The absolute module path of ``from <level dots><module> import``."""
        return absolute_module(self.module_name, self.is_package, module, level)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module == "__future__":
            return
        start = self.source.offset(node.lineno, node.col_offset)
        if node.module is not None:
            absolute = self.resolve_relative(node.module, node.level)
            new = self.renames.module(node.module, absolute if node.level else None)
            if new is not None:
                header = re.compile(r"from\s*((?:\.\s*)*)").match(self.source.text, start)
                if header is not None:
                    if new.startswith("."):  # it became absolute
                        self.edits.replace(header.start(1), header.end(1), "")
                        new = new[1:]
                    self._replace_dotted(header.end(), node.module, new)
        for alias in node.names:
            new_name = self.renames.identifier(alias.name)
            if node.module is None and new_name is None:
                new_name = self.renames.segments.get(alias.name)
            if new_name is not None and new_name != alias.name:
                alias_start = self.source.offset(alias.lineno, alias.col_offset)
                self.edits.replace(alias_start, alias_start + len(alias.name), new_name)

    # --- names inside strings ----------------------------------------------------
    def visit_annotation(self, node: ast.expr) -> None:
        """Visit an annotation; its strings are forward references."""
        self._in_annotation += 1
        try:
            self.visit(node)
        finally:
            self._in_annotation -= 1

    def visit_Constant(self, node: ast.Constant) -> None:
        if self._in_annotation and isinstance(node.value, str):
            self.rename_in_string_expression(node)
        elif self.renames.prose and isinstance(node.value, str):
            self.rename_prose_string(node)

    def rename_prose_string(self, node: ast.Constant) -> None:
        """Rename the :attr:`Renames.prose` words inside a string literal (each
        part of an implicit concatenation; not inside f-strings or bytes)."""
        pattern = self.renames.prose_pattern()
        if pattern is None:
            return
        try:
            start, end = self.source.span(node)
        except ValueError:
            return
        for literal in _LITERAL.finditer(self.source.text, start, end):
            if set(literal.group(1)) & set("bBfF"):
                continue
            for match in pattern.finditer(self.source.text, literal.start(3), literal.end(3)):
                self.renames.used.add(match.group())
                self.edits.replace(match.start(), match.end(),
                                   self.renames.prose[match.group()])

    def visit_Compare(self, node: ast.Compare) -> None:
        """``type(x).__name__ == "AsyncClient"``: the string is a class's name."""
        sides = [node.left, *node.comparators]
        names_a_class = any(isinstance(s, ast.Attribute) and s.attr in ("__name__", "__qualname__")
                            for s in sides)
        for side in sides:
            if names_a_class and isinstance(side, ast.Constant) and isinstance(side.value, str):
                self.rename_identifier_string(side, attribute=False)
            else:
                self.visit(side)

    def rename_in_string_expression(self, node: ast.Constant) -> None:
        """Rename inside a string that holds an expression (a forward reference)."""
        body = string_body(self.source, node)
        if body is None:
            return
        text = self.source.text[body[0]:body[1]]
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError:
            return
        lead = len(text) - len(text.lstrip())
        inner_source = SourceText(text.strip())
        inner_edits = Edits(inner_source)
        outer_source, outer_edits = self.source, self.edits
        self.source, self.edits = inner_source, inner_edits
        try:
            self.visit(tree.body)
        finally:
            self.source, self.edits = outer_source, outer_edits
        if len(inner_edits):
            new = inner_edits.apply()
            self.edits.replace(body[0] + lead, body[0] + lead + len(inner_source.text), new)

    def rename_identifier_string(self, node: ast.expr, *, attribute: bool) -> None:
        """Rename a string that holds one identifier (``__all__``, ``getattr``)."""
        if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
            return
        if not _IDENTIFIER.match(node.value):
            return
        new = (self.renames.attribute if attribute else self.renames.identifier)(node.value)
        if new is None or new == node.value:
            return
        body = string_body(self.source, node)
        if body is not None:
            self.edits.replace(body[0], body[1], new)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self.visit(target)
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets) \
                and isinstance(node.value, (ast.List, ast.Tuple)):
            for element in node.value.elts:
                if isinstance(element, ast.Constant):
                    self.rename_identifier_string(element, attribute=False)
                else:
                    self.visit(element)
            return
        self.visit(node.value)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.target)
        if isinstance(node.target, ast.Name) and node.target.id == "__all__" \
                and isinstance(node.value, (ast.List, ast.Tuple)):
            for element in node.value.elts:
                if isinstance(element, ast.Constant):
                    self.rename_identifier_string(element, attribute=False)
                else:
                    self.visit(element)
            return
        self.visit(node.value)

    def visit_Call(self, node: ast.Call) -> None:
        self.visit(node.func)
        attr_call = isinstance(node.func, ast.Name) and node.func.id in _ATTR_FUNCTIONS
        called = node.func.id if isinstance(node.func, ast.Name) else \
            node.func.attr if isinstance(node.func, ast.Attribute) else ""
        # Arguments that are type expressions: TypeVar's constraints and bound,
        # cast's type (a string there is a forward reference).
        types = {index for index in range(1, len(node.args))} if called == "TypeVar" else \
            {0} if called == "cast" else set()
        for index, argument in enumerate(node.args):
            if attr_call and index == 1:
                self.rename_identifier_string(argument, attribute=True)
            elif index in types:
                self.visit_annotation(argument)
            else:
                self.visit(argument)
        for keyword in node.keywords:
            if called == "TypeVar" and keyword.arg == "bound":
                self.visit_annotation(keyword.value)
            else:
                self.visit(keyword.value)


def apply_renames(
    tree: ast.Module,
    source: SourceText,
    edits: Edits,
    renames: Renames,
    module_name: str | None = None,
    *,
    is_package: bool = False,
) -> None:
    """Add to ``edits`` the renames of one parsed module (no other rewriting).

    When the renames can change import statements only
    (:attr:`Renames.in_imports_only`), only those are visited: the same
    edits, without walking every expression of the module."""
    walker = RenameWalker(source, edits, renames, module_name)
    walker.is_package = is_package
    if renames.in_imports_only:
        for statement in _import_statements(tree.body):
            walker.visit(statement)
    else:
        walker.visit(tree)


_BLOCKS = ("body", "handlers", "orelse", "finalbody", "cases")


def _import_statements(block: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements of ``block`` and of the blocks inside it, in order."""
    for statement in block:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            yield statement
            continue
        for name in _BLOCKS:
            inner = getattr(statement, name, None)
            if not inner:
                continue
            if name in ("handlers", "cases"):  # except / case clauses
                for part in inner:
                    yield from _import_statements(part.body)
            else:
                yield from _import_statements(inner)
