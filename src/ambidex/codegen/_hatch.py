"""A hatchling build hook: ``ambidex generate`` runs while a wheel or sdist is built.

The generated twins are committed, so a build normally finds them current
and this costs milliseconds. The hook is the safety net: a wheel is never
built from a stale ``_sync`` (or ``_async``) tree.

Turning it on in a project (``pyproject.toml``)::

    [build-system]
    requires = ["hatchling", "ambidex"]
    build-backend = "hatchling.build"

    [tool.hatch.build.hooks.ambidex]
    # check = true     # fail the build when a twin is stale, instead of writing it

    [[tool.ambidex.generate]]
    source = "src/mylib/_async"
    target = "src/mylib/_sync"
    to = "sync"

hatchling finds the hook through ambidex's ``hatch`` entry point
(``[project.entry-points.hatch] ambidex = "ambidex.codegen._hatch"``).

Failure modes: a source that does not parse, a conversion that is refused
(an async-only API outside a marked block), or a hand-written file where a
twin should go stop the build with the same ``path:line:col: message``
lines that ``ambidex generate`` prints. With ``check = true`` a stale twin
stops it too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface
from hatchling.plugin import hookimpl

from ambidex._config import ConfigError, load_config
from ambidex.codegen import _generate


class GenerateError(RuntimeError):
    """The build hook could not bring the generated files up to date."""


def generate(root: Path, *, check: bool = False) -> list[Path]:
    """Bring the ``[[tool.ambidex.generate]]`` twins of the project at ``root`` up to date.

    Returns the files written. Raises :class:`GenerateError` with the
    diagnostics when something stops it (nothing is written then).
    """
    try:
        config = load_config(root)
        result = _generate.plan(config, full=check)
    except (ConfigError, _generate.GenerateError) as exc:
        raise GenerateError(f"ambidex generate: {exc}") from exc
    if result.errors:
        raise GenerateError("ambidex generate failed:\n" + "\n".join(result.messages))
    if check and (result.writes or result.deletes):
        stale = [*map(str, result.writes), *map(str, result.deletes)]
        raise GenerateError("ambidex generate --check: stale generated files:\n"
                            + "\n".join(stale))
    if not check:
        _generate.write(result)
    return list(result.writes)


class AmbidexBuildHook(BuildHookInterface):  # type: ignore[type-arg,misc,unused-ignore]
    """Runs ``ambidex generate`` (or ``--check``) before hatchling collects the files."""

    PLUGIN_NAME = "ambidex"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        check = bool(self.config.get("check", False))
        written = generate(Path(self.root), check=check)
        for path in written:
            self.app.display_info(f"ambidex: generated {path}")


@hookimpl  # type: ignore[misc,unused-ignore]
def hatch_register_build_hook() -> type[AmbidexBuildHook]:
    return AmbidexBuildHook
