# The optional compiled module (src/ambidex/_callgraph/_slimcopy.c); see _slim.py.
import ast

SOURCE_HASH: str
PLAIN: int
CHILD: int
LINE: int
VALUE: int

class Plan: ...

def plan(slim: type[ast.AST], slots: tuple[tuple[str, int], ...], /) -> Plan: ...
def copy(
    tree: ast.AST, plans: dict[type, Plan], numbers: dict[object, object], empty: list[ast.AST],
    limit: int, /,
) -> ast.AST: ...
