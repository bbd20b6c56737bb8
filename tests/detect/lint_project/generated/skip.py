"""Ignored by [tool.ambidex.lint] ignore: never linted."""

from lint_project.store import cli_main


async def ignored() -> None:
    cli_main()
