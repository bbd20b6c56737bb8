# The optional compiled module (src/ambidex/io/_speedups.c); see _accelerate.py.
from collections.abc import Callable
from typing import Any

SOURCE_HASH: str

class FastRead:
    __wrapped__: Callable[..., Any]
    def __init__(
        self, pure: Callable[..., Any], kind: int, separator: bytes, limit: int
    ) -> None: ...
    def __call__(self, *args: Any, **kwargs: Any) -> Any: ...
    def __get__(self, obj: object, type: type | None = None) -> Any: ...

class Door:
    lines: Callable[[int], bytes] | None
    exact: Callable[[int], bytes | None] | None
    def __init__(self, stream: object) -> None: ...
    def serves(self, stream: object) -> bool: ...
