"""Fidelity: how close async -> sync comes to the sync code real projects ship.

Run: ``python tools/bench/fidelity.py`` (from the repo root, in the venv). Not
a test: it downloads (``pip download --no-deps``) into ``.bench-cache/fidelity``.

Projects that keep an async source and a generated sync twin, each converted
with the renames its own generator script applies (copied below from the
script, with the line of the script it comes from):

* httpcore 1.0.9 (``scripts/unasync.py``): ``_async`` -> ``_sync``;
* elasticsearch 9.5.1 (``utils/run-unasync.py``): the client, the vector
  store helpers and the DSL (``_async`` -> ``_sync`` in each);
* hishel 2.0.0 (``scripts/unasync``): the five source files it lists.

For each, ambidex (``to_sync``, all of a project's modules together) and
unasync 0.6 (its tokenizer rule with the same renames as
``additional_replacements``) convert the async source; both outputs and the
shipped sync code are parsed and unparsed (``ast.unparse``: comments and
layout gone, code and docstrings kept), and the lines where they differ from
the shipped code are counted (for each differing run, the longer side).
"Imports" says whether every converted module imports, with the package's
own modules replaced by the converted ones (its dependencies installed into
the cache with ``pip install --no-deps --target``).
"""

from __future__ import annotations

import argparse
import ast
import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".bench-cache" / "fidelity"
PYTHON = sys.executable

WHEELS = ["httpcore==1.0.9", "elasticsearch==9.5.1", "hishel==2.0.0", "psycopg==3.3.9",
          "pymongo==4.20.1"]
#: What the converted modules need to import (not the projects themselves).
DEPENDENCIES = [
    "h11", "certifi", "anyio", "sniffio", "idna", "elastic-transport", "urllib3",
    "python-dateutil", "six", "typing-extensions", "httpx", "msgpack", "anysqlite",
    "orjson", "redis", "async-timeout", "dnspython", "h2", "hpack", "hyperframe", "socksio",
    "httpx2",
]


@dataclass
class Project:
    name: str
    package: str
    pairs: list[tuple[str, str]]
    """(async path, sync path) relative to the unpacked wheel: folders or files."""
    renames: dict[str, str]
    """What the project's script renames, as ambidex's ``rename`` table."""
    unasync_renames: dict[str, str]
    """The same for unasync's ``additional_replacements`` (token by token)."""
    options: dict[str, object] = field(default_factory=dict)
    substitute: tuple[tuple[str, str], ...] = ()
    """Regex substitutions applied to the sources first: a project's own spelling of
    something ambidex spells differently (psycopg's `if True:  # ASYNC`)."""
    skip: tuple[str, ...] = ()
    """Files of a source folder that the script does not convert (kept by hand)."""


def httpcore(site: Path) -> Project:
    # httpcore scripts/unasync.py SUBS: ('Async([A-Z][A-Za-z0-9_]*)', r'\2') over every
    # name, ('handle_async_request', 'handle_request'), ('aiter_stream', 'iter_stream'),
    # ('aread', 'read'), ('from .._backends.auto import AutoBackend',
    # 'from .._backends.sync import SyncBackend'); the rest (aclose, __aenter__,
    # asynccontextmanager, AsyncIterator...) are the rule table's rows.
    text = "".join(p.read_text() for p in (site / "httpcore" / "_async").glob("*.py"))
    renames = {name: name[5:] for name in re.findall(r"\bAsync[A-Z]\w*", text)}
    renames.update({
        "handle_async_request": "handle_request", "aiter_stream": "iter_stream",
        "aread": "read", "AutoBackend": "SyncBackend",
        "httpcore._backends.auto": "httpcore._backends.sync",
    })
    unasync_renames = {k: v for k, v in renames.items() if "." not in k}
    unasync_renames.update({"auto": "sync", "aclose": "close"})  # the table's rows, for unasync
    # The regexes run over whole lines, docstrings included: rename_prose; and they
    # leave a renamed import where it was: sort_imports = false.
    return Project("httpcore 1.0.9", "httpcore", [("httpcore/_async", "httpcore/_sync")],
                   renames, unasync_renames, {"rename_prose": True, "sort_imports": False})


def elasticsearch(site: Path) -> Project:
    # utils/run-unasync.py: client (AsyncTransport -> Transport, AsyncElasticsearch ->
    # Elasticsearch, AsyncSearchClient kept, _TYPE_ASYNC_SNIFF_CALLBACK ->
    # _TYPE_SYNC_SNIFF_CALLBACK); vectorstore (AsyncBM25 -> BM25, ... async_bulk ->
    # bulk, _async -> _sync); dsl (AsyncSearch -> Search, ..., async_connections ->
    # connections, async_scan -> scan, aiter -> iter, anext -> next). The DSL and vector
    # store rules rename every Async* name they use, as the script's lists do
    # (derived here from the sources); the client's keeps AsyncSearchClient.
    text = "".join(p.read_text() for folder in ("dsl/_async", "helpers/vectorstore/_async")
                   for p in (site / "elasticsearch" / folder).glob("*.py"))
    derived = {n: n[5:] for n in re.findall(r"\bAsync[A-Z]\w*", text)}
    renames = {**derived,
        "AsyncTransport": "Transport", "AsyncElasticsearch": "Elasticsearch",
        "_TYPE_ASYNC_SNIFF_CALLBACK": "_TYPE_SYNC_SNIFF_CALLBACK",
        "AsyncBM25": "BM25", "AsyncDenseVector": "DenseVector",
        "AsyncDenseVectorScriptScore": "DenseVectorScriptScore",
        "AsyncElasticsearchEmbeddings": "ElasticsearchEmbeddings",
        "AsyncEmbeddingService": "EmbeddingService",
        "AsyncRetrievalStrategy": "RetrievalStrategy", "AsyncSparseVector": "SparseVector",
        "AsyncVectorStore": "VectorStore", "async_bulk": "bulk", "async_scan": "scan",
        "async_streaming_bulk": "streaming_bulk", "async_reindex": "reindex",
        "async_connections": "connections", "AsyncSearch": "Search",
        "AsyncMultiSearch": "MultiSearch", "AsyncDocument": "Document",
        "AsyncIndex": "Index", "AsyncIndexTemplate": "IndexTemplate",
        "AsyncComposableIndexTemplate": "ComposableIndexTemplate",
        "AsyncMapping": "Mapping", "AsyncFacetedSearch": "FacetedSearch",
        "AsyncUpdateByQuery": "UpdateByQuery", "AsyncEmptySearch": "EmptySearch",
        "AsyncIndexMeta": "IndexMeta", "AsyncESQL": "ESQL",
    }
    pairs = [
        ("elasticsearch/_async/client", "elasticsearch/_sync/client"),
        ("elasticsearch/helpers/vectorstore/_async", "elasticsearch/helpers/vectorstore/_sync"),
        ("elasticsearch/dsl/_async", "elasticsearch/dsl/_sync"),
    ]
    unasync_renames = {**renames, "AsyncSearchClient": "AsyncSearchClient"}
    return Project("elasticsearch 9.5.1", "elasticsearch", pairs, renames, unasync_renames,
                   skip=("elasticsearch/_async/client/utils.py",))


def hishel() -> Project:
    # scripts/unasync SUBS ("our public API" and "third-party libraries").
    renames = {
        "AsyncBaseStorage": "BaseStorage", "AsyncCacheClient": "CacheClient",
        "AsyncSqliteStorage": "SqliteStorage", "AsyncRedisStorage": "RedisStorage",
        "anysqlite": "sqlite3", "redis.asyncio": "redis", "aiter_raw": "iter_raw",
        "make_async_iterator": "make_sync_iterator", "AsyncCacheTransport": "CacheTransport",
        "AsyncCacheConfig": "CacheConfig", "_async_base": "_sync_base",
        "_async_redis": "_sync_redis", "_async_sqlite": "_sync_sqlite",
        "_async_rfc": "_sync_rfc", "AsyncClient": "Client", "aread": "read",
        "handle_async_request": "handle_request", "AsyncBaseTransport": "BaseTransport",
        "AsyncHTTPTransport": "HTTPTransport",
    }
    pairs = [
        ("hishel/_core/_storages/_async_base.py", "hishel/_core/_storages/_sync_base.py"),
        ("hishel/_core/_storages/_async_redis.py", "hishel/_core/_storages/_sync_redis.py"),
        ("hishel/_async_rfc.py", "hishel/_sync_rfc.py"),
        ("hishel/httpx/_async.py", "hishel/httpx/_sync.py"),
        ("hishel/httpx2/_async.py", "hishel/httpx2/_sync.py"),
    ]
    unasync_renames = {k: v for k, v in renames.items() if "." not in k}
    unasync_renames.update({"aclose": "close", "asyncio": "asyncio"})  # its SUBS has aclose
    return Project("hishel 2.0.0", "hishel", pairs, renames, unasync_renames,
                   {"rename_prose": True, "sort_imports": False})


def psycopg(site: Path) -> Project:
    # tools/async_to_sync.py (an ast transformer): *_async.py -> *.py, Async* -> *,
    # its `_names` map (aclose -> close, AsyncGenerator -> Generator, ...); the code
    # keeps `if True:  # ASYNC` blocks, which its tool resolves, like a flag.
    folder = site / "psycopg"
    files = sorted(p.name for p in folder.glob("*_async.py"))
    text = "".join((folder / name).read_text() for name in files)
    renames = {n: n[5:] for n in re.findall(r"\bAsync[A-Z]\w*", text)}
    renames.update({f"{name[:-9]}_async": name[:-9] for name in files})
    renames.update({"connection_async": "connection", "cursor_async": "cursor",
                    "_copy_async": "_copy", "_pipeline_async": "_pipeline",
                    "_server_cursor_async": "_server_cursor", "ensure_table_async": "ensure_table",
                    "wait_async": "wait", "wait_conn_async": "wait_conn",
                    "conninfo_attempts_async": "conninfo_attempts", "AEvent": "Event",
                    "ALock": "Lock", "AQueue": "Queue", "AWorker": "Worker",
                    "agather": "gather", "aspawn": "spawn", "asleep": "sleep",
                    "aspawn_sync": "spawn_sync"})
    pairs = [(f"psycopg/{name}", f"psycopg/{name[:-9]}.py") for name in files]
    # `if True:  # ASYNC` is psycopg's spelling of ambidex's `if IS_ASYNC:` (its tool reads
    # the comment); ambidex reads it too, so the sources are converted as shipped.
    unasync_renames = {k: v for k, v in renames.items() if "." not in k}
    return Project("psycopg 3.3.9", "psycopg", pairs, renames, unasync_renames,
                   {"rename_prose": True})


def pymongo(site: Path) -> Project:
    # tools/synchro.py: asynchronous -> synchronous (modules and names), Async* -> *,
    # async_* helpers -> *, _ALock/_ACondition, docstrings renamed, `_IS_SYNC` flag.
    folder = site / "pymongo" / "asynchronous"
    text = "".join(p.read_text() for p in folder.glob("*.py"))
    renames = {n: n.replace("Async", "", 1) for n in re.findall(r"\b_?Async[A-Z]\w*", text)}
    renames.update({m.group(0): m.group(1) + m.group(2)
                    for m in re.finditer(r"\b(_?)async_(\w+)", text)})
    renames.update({"asynchronous": "synchronous", "Asynchronous": "Synchronous",
                    "_ALock": "_Lock", "_ACondition": "_Condition",
                    "pymongo_server_monitor_task": "pymongo_server_monitor_thread",
                    "pymongo_server_rtt_task": "pymongo_server_rtt_thread",
                    "AsyncAutoEncrypter": "_Encrypter", "AsyncContextManager": "ContextManager"})
    unasync_renames = {k: v for k, v in renames.items() if "." not in k}
    return Project("pymongo 4.20.1", "pymongo",
                   [("pymongo/asynchronous", "pymongo/synchronous")], renames, unasync_renames,
                   {"rename_prose": True, "flags": {"_IS_SYNC": "sync"}})


def fetch() -> tuple[Path, Path]:
    """The wheels unpacked (one folder), and the dependencies' folder."""
    wheels, unpacked, deps = CACHE / "wheels", CACHE / "site", CACHE / "deps"
    wheels.mkdir(parents=True, exist_ok=True)
    if len(list(wheels.glob("*.whl"))) < len(WHEELS):
        subprocess.run([PYTHON, "-m", "pip", "download", "--quiet", "--no-deps", "-d",
                        str(wheels), *WHEELS], check=True)
    if not unpacked.exists():
        for wheel in wheels.glob("*.whl"):
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(unpacked)
    if not deps.exists():
        subprocess.run([PYTHON, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
                        str(deps), *DEPENDENCIES], check=False)
    return unpacked, deps


def _files(base: Path, relative: str) -> dict[str, Path]:
    path = base / relative
    if path.is_file():
        return {relative: path}
    return {f"{relative}/{p.relative_to(path).as_posix()}": p for p in sorted(path.rglob("*.py"))}


def _target(relative: str, pairs: list[tuple[str, str]]) -> str:
    for source, target in pairs:
        if relative == source or relative.startswith(source + "/"):
            return target + relative[len(source):]
    raise KeyError(relative)


def unparsed(text: str) -> list[str]:
    try:
        return ast.unparse(ast.parse(text)).splitlines()
    except SyntaxError:
        return ["<does not parse>"]


def differing_lines(output: str, shipped: str) -> int:
    a, b = unparsed(output), unparsed(shipped)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in matcher.get_opcodes()
               if tag != "equal")


def convert_ambidex(
    project: Project, sources: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    from ambidex._rules import DEFAULT_TABLE
    from ambidex.codegen import to_sync

    result = to_sync(dict(sources), table=DEFAULT_TABLE, renames=project.renames,
                     **project.options)  # type: ignore[arg-type]
    errors = [str(d) for d in result.diagnostics if d.error]
    refused = {d.split(":")[0] for d in errors}
    outputs = {path: text for path, text in result.outputs.items() if path not in refused}
    return outputs, errors


def convert_unasync(project: Project, sources: Mapping[str, str]) -> dict[str, str]:
    import tokenize_rt
    import unasync

    replacements = {"_async": "_sync", **project.unasync_renames}
    rule = unasync.Rule("/", "/", additional_replacements=replacements)
    out = {}
    for path, text in sources.items():
        tokens = tokenize_rt.src_to_tokens(text)
        out[path] = str(tokenize_rt.tokens_to_src(rule._unasync_tokens(tokens)))
    return out


def imports(project: Project, outputs: Mapping[str, str], site: Path, deps: Path) -> str:
    """Whether every converted module imports, put in place of the shipped ones."""
    if not outputs:
        return "-"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(site / project.package, root / project.package)
        names = []
        for relative, text in outputs.items():
            target = root / _target(relative, project.pairs)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            module = _target(relative, project.pairs)[:-3].replace("/", ".")
            names.append(module.removesuffix(".__init__"))
        code = "import importlib, sys\nbad = []\nfor n in sys.argv[1:]:\n" \
               "    try: importlib.import_module(n)\n" \
               "    except Exception as e: bad.append(f'{n}: {type(e).__name__}: {e}')\n" \
               "print('\\n'.join(bad)); sys.exit(1 if bad else 0)\n"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(site), str(deps)])}
        run = subprocess.run([PYTHON, "-W", "ignore", "-c", code, *names], env=env,
                             capture_output=True, text=True, check=False)
        if run.returncode == 0:
            return "yes"
        first = run.stdout.strip().splitlines()[:1] or run.stderr.strip().splitlines()[-1:]
        return "no (" + (first[0][:90] if first else "?") + ")"


def measure(project: Project, site: Path, deps: Path, show: bool) -> dict[str, object]:
    sources: dict[str, str] = {}
    shipped: dict[str, str] = {}
    for source, _ in project.pairs:
        for relative, path in _files(site, source).items():
            if relative in project.skip:
                continue
            text = path.read_text(encoding="utf-8")
            for pattern, replacement in project.substitute:
                text = re.sub(pattern, replacement, text)
            sources[relative] = text
            shipped_path = site / _target(relative, project.pairs)
            shipped[relative] = shipped_path.read_text(encoding="utf-8") \
                if shipped_path.exists() else ""
    lines = sum(len(t.splitlines()) for t in sources.values())
    started = time.perf_counter()
    ours, errors = convert_ambidex(project, sources)
    ours_time = time.perf_counter() - started
    started = time.perf_counter()
    theirs = convert_unasync(project, sources)
    theirs_time = time.perf_counter() - started
    ours_diff = sum(differing_lines(text, shipped[p]) for p, text in ours.items())
    theirs_diff = sum(differing_lines(theirs[p], shipped[p]) for p in ours)
    theirs_all = sum(differing_lines(text, shipped[p]) for p, text in theirs.items())
    if show:
        for relative, text in ours.items():
            a, b = unparsed(shipped[relative]), unparsed(text)
            for line in difflib.unified_diff(a, b, f"shipped/{relative}", f"ambidex/{relative}",
                                             lineterm="", n=0):
                print("   ", line)
        for error in errors:
            print("    refused:", error)
    return {
        "project": project.name, "modules": len(sources), "lines": lines,
        "refused": len(sources) - len(ours), "ambidex": ours_diff,
        "unasync (same modules)": theirs_diff, "unasync (all)": theirs_all,
        "imports (ambidex)": imports(project, ours, site, deps),
        "imports (unasync)": imports(project, theirs, site, deps),
        "time ambidex s": round(ours_time, 2), "time unasync s": round(theirs_time, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", action="store_true", help="print ambidex's differences")
    parser.add_argument("--only", help="one project (httpcore, elasticsearch, hishel, psycopg, "
                        "pymongo)")
    args = parser.parse_args()
    site, deps = fetch()
    projects = [httpcore(site), elasticsearch(site), hishel(), psycopg(site), pymongo(site)]
    if args.only:
        projects = [p for p in projects if p.package == args.only]
    rows = [measure(project, site, deps, args.show) for project in projects]
    keys = list(rows[0])
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(str(row[k]) for k in keys) + " |")
    load = os.getloadavg()
    print(f"\nload average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
