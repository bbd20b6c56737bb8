"""The optional C accelerator (ambidex.io._speedups) answers exactly as the pure methods do.

``Stream.read_until`` / ``read_exactly`` are C when the accelerator was built
(``AMBIDEX_BUILD_EXTENSIONS=1``; the test sessions build it and set
``AMBIDEX_EXPECT_EXTENSIONS=1``) and the pure-Python methods otherwise. The C
method takes only the plain case (bytes separator ending in "\\n", int limit
of at least 1, the C path open) and hands every other call, arguments
unchanged, to the pure one: these tests call both with every kind of
argument and compare what comes out, result or exception.
"""

from __future__ import annotations

import copy
import functools
import gc
import inspect
import os
import subprocess
import sys
import types
import weakref
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ambidex.io
from ambidex.io import AsyncStream, Stream, _accelerate
from ambidex.io._accelerate import accelerate, pure_methods
from ambidex.io._backends._sync import SocketReader
from tests.io.conftest import PureStream

from .test_socket_reader import TIMEOUT, ChunkSocket, split


class Bytes(bytes):
    pass


class Int(int):
    pass


def accelerated(cls: type) -> bool:
    return type(cls.__dict__["read_until"]).__name__ == "FastRead"


def test_stream_uses_the_c_reads_exactly_when_they_were_built():
    speedups = _accelerate._load()
    if os.environ.get("AMBIDEX_EXPECT_EXTENSIONS"):
        assert speedups is not None, "the test session was to build ambidex.io._speedups"
    assert accelerated(Stream) == (speedups is not None)
    assert ambidex.io.accelerated() is (speedups is not None)
    assert not accelerated(PureStream)
    assert inspect.isfunction(PureStream.read_until) and inspect.isfunction(PureStream.read_exactly)
    # Taken from a stream, a C read is bound without a types.MethodType (see below).
    bound = Stream(ChunkSocket([])).read_until  # type: ignore[arg-type]
    assert type(bound).__name__ == ("BoundRead" if speedups is not None else "method")


def test_the_c_reads_look_like_the_pure_methods_to_introspection():
    for name in ("read_until", "read_exactly"):
        method, pure = getattr(Stream, name), pure_methods(Stream)[name]
        assert inspect.signature(method) == inspect.signature(pure)
        assert inspect.signature(method) == inspect.signature(getattr(AsyncStream, name))
        assert (method.__name__, method.__qualname__, method.__doc__, method.__module__) == (
            pure.__name__, pure.__qualname__, pure.__doc__, pure.__module__
        )
        assert not inspect.iscoroutinefunction(method)
    s = Stream(ChunkSocket([b"one\ntwo\n"]))  # type: ignore[arg-type]
    assert Stream.read_until(s, b"\n") == b"one\n"  # called on the class, like a function
    bound: Any = s.read_until
    assert bound.__self__ is s and bound(limit=10) == b"two\n"


def test_a_build_from_another_version_of_the_source_is_not_used(monkeypatch):
    speedups = _accelerate._load()
    Fresh: type[Stream] = type("Fresh", (Stream,), pure_methods(Stream))
    if speedups is not None:
        monkeypatch.setattr(speedups, "SOURCE_HASH", "0" * 16)
    assert accelerate(Fresh) is False
    assert inspect.isfunction(Fresh.read_until)
    monkeypatch.undo()
    assert accelerate(Fresh) is (speedups is not None)


def test_the_pure_methods_run_when_extensions_are_turned_off():
    program = (
        "import inspect, socket\n"
        "from ambidex.io import Stream, accelerated\n"
        "assert inspect.isfunction(Stream.read_until), Stream.read_until\n"
        "assert accelerated() is False\n"
        "a, b = socket.socketpair()\n"
        "b.sendall(b'hi\\n1234')\n"
        "s = Stream(a)\n"
        "assert s.read_until(b'\\n') == b'hi\\n' and s.read_exactly(4) == b'1234'\n"
        "s.close(); b.close()\n"
    )
    env = {**os.environ, "AMBIDEX_NO_EXTENSIONS": "1"}
    subprocess.run([sys.executable, "-c", program], env=env, check=True, timeout=60)


SEPARATORS = [b"\n", b"\r\n", b"ab\n", b"x", b"", Bytes(b"\n"), bytearray(b"\n")]
LIMITS = [1, 2, 3, 5, 8, 65536, 0, -1, True, 2**70, -(2**70), Int(4)]
SIZES = [0, 1, 3, 7, -1, True, 2**70, Int(2)]


def outcome(s: Stream, how: str, separator: Any, limit: Any, n: Any) -> tuple[str, object]:
    """What one call returns or raises (the exception's type and message)."""
    try:
        if how == "until":
            return "ok", s.read_until(separator, limit=limit)
        if how == "until-default":
            return "ok", s.read_until(separator)
        if how == "until-keywords":
            return "ok", s.read_until(separator=separator, limit=limit)
        if how == "until-limit":
            return "ok", s.read_until(limit=limit)
        if how == "exactly":
            return "ok", s.read_exactly(n)
        if how == "exactly-n=":
            return "ok", s.read_exactly(n=n)
        # Bound first, then called: through the bound read's own call, with the
        # arguments as the interpreter passes them and as a tuple and a dict.
        if how == "until-bound":
            read = s.read_until
            return "ok", read(separator, limit=limit)
        if how == "until-star":
            return "ok", s.read_until(*[separator], **{"limit": limit})
        if how == "exactly-star":
            return "ok", s.read_exactly(*[n])
        if how == "until-many":
            return "ok", s.read_until(*[separator] * 9)
        # The timeout decides whether the C path is open.
        s.timeout = None if s.timeout else 30.0
        return "ok", s.timeout
    except Exception as exc:
        return type(exc).__name__, str(exc)


CALLS = [
    "until", "until-default", "until-keywords", "until-limit", "exactly", "exactly-n=", "timeout",
    "until-bound", "until-star", "exactly-star", "until-many",
]
PIECES = [b"a", b"ab", b"\r", b"\n", b"\r\n", b"x", b"yyyy"]


@settings(max_examples=300, deadline=None)
@given(
    body=st.lists(st.sampled_from(PIECES), max_size=20),
    cuts=st.lists(st.integers(min_value=0, max_value=60), max_size=8),
    stalls=st.lists(st.integers(min_value=0, max_value=20), max_size=3),
    calls=st.lists(
        st.tuples(
            st.sampled_from(CALLS),
            st.sampled_from(SEPARATORS),
            st.sampled_from(LIMITS),
            st.sampled_from(SIZES),
        ),
        min_size=1, max_size=12,
    ),
)
def test_the_c_reads_and_the_pure_reads_agree_on_any_arguments(body, cuts, stalls, calls):
    data = b"".join(body)
    fast, pure = (
        cls(ChunkSocket(split(data, cuts, stalls)))  # type: ignore[arg-type]
        for cls in (Stream, PureStream)
    )
    for how, separator, limit, n in calls:
        assert outcome(fast, how, separator, limit, n) == outcome(pure, how, separator, limit, n), (
            how, separator, limit, n
        )
    assert fast._buffered() == pure._buffered()


@pytest.mark.parametrize("cls", [Stream, PureStream], ids=["stream", "pure"])
def test_a_read_taken_from_a_stream_is_a_bound_method_to_whatever_asks(cls: type[Stream]):
    # With the accelerator, ``stream.read_until`` is a BoundRead (a bound
    # method kept on a free list: Python 3.10 binds one per keyword call);
    # everything that asks must see the bound method the pure class gives.
    s = cls(ChunkSocket([b"one\ntwo\nthree\n1234"]))  # type: ignore[arg-type]
    other = cls(ChunkSocket([]))  # type: ignore[arg-type]
    for name in ("read_until", "read_exactly"):
        bound, function = getattr(s, name), cls.__dict__.get(name, getattr(Stream, name))
        assert inspect.ismethod(bound) and isinstance(bound, types.MethodType)
        assert bound.__self__ is s and bound.__func__ is function
        pure = getattr(PureStream(ChunkSocket([])), name)  # type: ignore[arg-type]
        assert inspect.signature(bound) == inspect.signature(pure)
        assert (bound.__name__, bound.__qualname__, bound.__doc__, bound.__module__) == (
            pure.__name__, pure.__qualname__, pure.__doc__, pure.__module__
        )
        assert inspect.unwrap(bound).__code__ is pure_methods(Stream)[name].__code__
        again = getattr(s, name)
        assert bound == again and hash(bound) == hash(again) and not bound != again
        as_method = types.MethodType(function, s)
        assert bound == as_method and as_method == bound and hash(bound) == hash(as_method)
        assert bound != getattr(other, name) and bound != s.read and bound != 1
        assert repr(bound) == f"<bound method Stream.{name} of {s!r}>"
        assert bound.__reduce__() == (getattr, (s, name))
        assert copy.copy(bound) == bound
        # Binding a bound method again: itself on 3.10 and 3.13, bound anew on 3.11/3.12.
        rebound = bound.__get__(other)  # type: ignore[attr-defined]
        method_rebound = as_method.__get__(other)  # type: ignore[attr-defined]
        assert rebound == method_rebound and (rebound is bound) == (method_rebound is as_method)
        assert weakref.ref(bound)() is bound
    # Every way of calling one.
    read = s.read_until
    assert read(b"\n") == b"one\n" and read(limit=10) == b"two\n"
    assert read(*[b"\n"], **{"limit": 10}) == b"three\n"  # type: ignore[arg-type]
    assert functools.partial(s.read_exactly, 4)() == b"1234"


@pytest.mark.parametrize("cls", [Stream, PureStream], ids=["stream", "pure"])
def test_a_read_taken_from_a_stream_keeps_it_alive_until_it_is_dropped(cls):
    read = cls(ChunkSocket([b"one\n"])).read_until
    gone = weakref.ref(read.__self__)
    assert read(b"\n") == b"one\n" and gone() is not None
    del read
    assert gone() is None  # at once: no reference left behind
    # In a cycle (the read kept on its own stream), the collector frees it.
    s = cls(ChunkSocket([]))
    s.callback = s.read_until
    gone = weakref.ref(s)
    del s
    gc.collect()
    assert gone() is None
    # Many at once, then dropped in any order: each stays bound to its stream.
    streams = [cls(ChunkSocket([b"%d\n" % i, b"%d\n" % i])) for i in range(3)]
    reads = [s.read_until for _ in range(30) for s in streams]
    del reads[::3]
    assert [read.__self__ for read in reads] == [streams[i % 3] for i in range(90) if i % 3]
    assert [r(b"\n") for r in reads[:2]] == [b"1\n", b"2\n"]
    reads.clear()
    assert [s.read_until(limit=5) for s in streams] == [b"0\n", b"1\n", b"2\n"]


def fake(*args: object, **kwargs: object) -> str:
    return "fake"


@pytest.mark.parametrize("cls", [Stream, PureStream], ids=["stream", "pure"])
def test_an_instance_attribute_hides_a_read_as_it_hides_any_method(cls):
    # On Python 3.10 the C reads are data descriptors that search the instance's
    # dict themselves, remembering the last dict they found clean (see
    # fastread_get): keyword calls (an attribute load on 3.10) and positional
    # ones must both see whatever the instance holds, however it got there.
    s = cls(ChunkSocket([b"one\ntwo\nthree\n12345678"]))
    for name in ("read_until", "read_exactly"):
        assert inspect.getattr_static(s, name) is inspect.getattr_static(cls, name)
        setattr(s, name, fake)  # assignment
        assert getattr(s, name) is fake and inspect.getattr_static(s, name) is fake
        delattr(s, name)
        with pytest.raises(AttributeError):
            delattr(s, name)
        assert getattr(s, name).__self__ is s
    s.read_until = fake
    assert s.read_until(b"\n", limit=10) == "fake" and s.read_until(b"\n") == "fake"
    del s.read_until
    assert s.read_until(b"\n", limit=10) == b"one\n"  # the dict, seen clean
    vars(s)["read_until"] = fake  # straight into the dict, after a clean look
    assert s.read_until(b"\n", limit=10) == "fake" and s.read_until(b"\n") == "fake"
    del vars(s)["read_until"]
    assert s.read_until(b"\n", limit=10) == b"two\n"
    assert s.read_exactly(n=4) == b"thre"
    vars(s)["read_exactly"] = fake
    assert s.read_exactly(n=4) == "fake" and s.read_exactly(4) == "fake"
    vars(s).pop("read_exactly")
    assert s.read_exactly(n=2) == b"e\n"
    # Streams made and dropped in turn (a dict may take a freed one's address),
    # some with their own read_until.
    for i in range(20):
        t = cls(ChunkSocket([b"%d\n" % i]))
        if i % 2:
            vars(t)["read_until"] = fake
        assert t.read_until(b"\n", limit=10) == ("fake" if i % 2 else b"%d\n" % i)
        del t
    # To introspection a C read is a method descriptor, like the function it replaces.
    kinds = {a.name: a.kind for a in inspect.classify_class_attrs(cls)}
    assert kinds["read_until"] == kinds["read_exactly"] == "method"
    assert not inspect.isdatadescriptor(vars(Stream)["read_until"])


def swap_reader(s: Stream, chunks: list[object]) -> None:
    """What start_tls does: a new reader (here over new bytes) for the same stream."""
    s._reader = SocketReader(ChunkSocket(chunks), owner=s)  # type: ignore[arg-type]


def test_a_new_reader_retires_the_door_the_c_reads_remembered():
    for cls in (Stream, PureStream):
        s = cls(ChunkSocket([b"old\nold\n1234"]))  # type: ignore[arg-type]
        assert s.read_until(b"\n") == b"old\n" and s.read_exactly(2) == b"ol"
        old = s._reader  # kept alive, and its door with it
        swap_reader(s, [b"new\n5678"])
        assert s.read_until(b"\n") == b"new\n" and s.read_exactly(4) == b"5678"
        if accelerated(cls):
            assert s._door is not None and s._door.serves(s)
            assert old._door is not None and not old._door.serves(s)


def test_the_c_reads_keep_no_stream_alive():
    import weakref

    s = Stream(ChunkSocket([b"one\n1234"]))  # type: ignore[arg-type]
    assert s.read_until(b"\n") == b"one\n" and s.read_exactly(4) == b"1234"
    gone = weakref.ref(s)
    del s  # the C reads remember its door without holding it: freed at once
    assert gone() is None
    # Streams made and dropped one after another (an address may come back):
    # each reads its own bytes.
    for i in range(50):
        t = Stream(ChunkSocket([b"%d\n" % i]))  # type: ignore[arg-type]
        assert t.read_until(b"\n") == b"%d\n" % i
        del t


STEPS = ["until", "exactly", "timeout", "swap", "new", "close"]


@settings(max_examples=150, deadline=None)
@given(
    bodies=st.lists(st.lists(st.sampled_from(PIECES), max_size=12), min_size=3, max_size=3),
    steps=st.lists(
        st.tuples(st.integers(0, 2), st.sampled_from(STEPS), st.sampled_from(PIECES)),
        min_size=1, max_size=30,
    ),
)
def test_the_c_reads_serve_each_stream_its_own_bytes_when_calls_alternate(bodies, steps):
    """Reads alternate over three streams (the C reads remember the last one's
    door) while their doors open and shut, readers are replaced, streams are
    dropped and made anew and closed: every answer is the pure methods'."""
    def make(cls: type[Stream], body: list[bytes]) -> Stream:
        return cls(ChunkSocket(split(b"".join(body), [3, 7], [])))  # type: ignore[arg-type]

    fast = [make(Stream, body) for body in bodies]
    pure = [make(PureStream, body) for body in bodies]
    for i, step, piece in steps:
        answers = []
        for streams, cls in ((fast, Stream), (pure, PureStream)):
            s = streams[i]
            if step == "until":
                answers.append(outcome(s, "until", b"\n", 8, 0))
            elif step == "exactly":
                answers.append(outcome(s, "exactly", b"\n", 8, len(piece)))
            elif step == "timeout":
                answers.append(outcome(s, "timeout", b"\n", 8, 0))
            elif step == "swap":
                swap_reader(s, [piece * 3])
            elif step == "new":
                streams[i] = make(cls, [piece, b"\n"])
            else:
                s.close()
        assert len(answers) in (0, 2) and (not answers or answers[0] == answers[1]), (i, step)
    assert [s._buffered() if not s._closed else -1 for s in fast] == [
        s._buffered() if not s._closed else -1 for s in pure
    ]


def test_a_timeout_inside_the_c_read_consumes_nothing():
    for cls in (Stream, PureStream):
        sock = ChunkSocket([b"hel", TIMEOUT, b"lo\n12", TIMEOUT, b"34"])
        s = cls(sock)  # type: ignore[arg-type]
        with pytest.raises(TimeoutError):
            s.read_until(b"\n", limit=100)
        assert s.read_until(b"\n", limit=100) == b"hello\n"
        with pytest.raises(TimeoutError):
            s.read_exactly(4)
        assert s.read_exactly(4) == b"1234"
        assert sock.timeouts == 2


def load_hook() -> Any:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "tools" / "hatch_speedups.py"
    spec = importlib.util.spec_from_file_location("hatch_speedups", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeBuild:
    """What the hook reads of hatchling's BuildHookInterface."""

    def __init__(self, root: Any) -> None:
        self.root = str(root)
        self.target_name = "wheel"


def copy_source(tmp_path: Any) -> Any:
    from pathlib import Path

    import ambidex.io

    source = Path(ambidex.io.__file__).with_name("_speedups.c")
    target = tmp_path / "src" / "ambidex" / "io" / "_speedups.c"
    target.parent.mkdir(parents=True)
    target.write_bytes(source.read_bytes())
    return target


def build_data() -> dict[str, Any]:
    return {"pure_python": True, "infer_tag": False, "force_include": {}}


@pytest.mark.primary_only
def test_the_build_hook_compiles_by_default_and_falls_back_to_pure_python_without_a_compiler(
    tmp_path, monkeypatch, capsys
):
    import sysconfig

    hook = load_hook()
    source = copy_source(tmp_path)
    build = FakeBuild(tmp_path)
    for name in ("AMBIDEX_BUILD_EXTENSIONS", "CC", "LDSHARED", "CFLAGS"):
        monkeypatch.delenv(name, raising=False)

    # The default: compiled in place, in the wheel, which is tagged for this Python.
    data = build_data()
    hook.SpeedupsHook.initialize(build, "standard", data)
    (module,) = source.parent.glob("_speedups*" + sysconfig.get_config_var("EXT_SUFFIX"))
    assert data == {
        "pure_python": False, "infer_tag": True,
        "force_include": {str(module): f"ambidex/io/{module.name}"},
    }
    data = build_data()
    hook.SpeedupsHook.initialize(build, "editable", data)  # found in place by the .pth
    assert data["pure_python"] is False and data["force_include"] == {}
    assert capsys.readouterr().err == ""

    # No working compiler (CC is honoured, as distutils does): one line on stderr,
    # and the wheel is pure. An editable install drops the module built earlier.
    for compiler in ("/bin/false", str(tmp_path / "no-such-cc")):
        monkeypatch.setenv("CC", compiler)
        data = build_data()
        hook.SpeedupsHook.initialize(build, "standard", data)
        assert data == build_data()
        (line,) = capsys.readouterr().err.splitlines()
        assert line.startswith("ambidex: building pure Python, without the accelerator: ")
        assert compiler in line
        assert module.exists()
    hook.SpeedupsHook.initialize(build, "editable", build_data())
    assert not module.exists()
    assert list(source.parent.iterdir()) == [source]
    monkeypatch.delenv("CC")

    # A free-threaded build stays pure too (the C is written for the GIL).
    real = sysconfig.get_config_var

    def free_threaded(name: str) -> Any:
        return 1 if name == "Py_GIL_DISABLED" else real(name)

    with monkeypatch.context() as patch:
        patch.setattr(hook.sysconfig, "get_config_var", free_threaded)
        data = build_data()
        hook.SpeedupsHook.initialize(build, "standard", data)
        assert data == build_data()
        assert "free-threaded" in capsys.readouterr().err

    # =0 does not try (and an editable install drops a module built earlier).
    hook.SpeedupsHook.initialize(build, "editable", build_data())
    assert module.exists()
    monkeypatch.setenv("AMBIDEX_BUILD_EXTENSIONS", "0")
    monkeypatch.setenv("CC", "/bin/false")
    data = build_data()
    hook.SpeedupsHook.initialize(build, "standard", data)
    assert data == build_data() and module.exists()
    hook.SpeedupsHook.initialize(build, "editable", data)
    assert not module.exists()
    assert capsys.readouterr().err == ""

    # =require makes a failure fatal (CI: both paths must be tested); a value the
    # hook does not know is refused rather than guessed.
    monkeypatch.setenv("AMBIDEX_BUILD_EXTENSIONS", "require")
    with pytest.raises(RuntimeError, match="/bin/false"):
        hook.SpeedupsHook.initialize(build, "standard", build_data())
    monkeypatch.setenv("AMBIDEX_BUILD_EXTENSIONS", "requre")
    with pytest.raises(ValueError, match="requre"):
        hook.SpeedupsHook.initialize(build, "standard", build_data())


@pytest.mark.primary_only
def test_the_build_hook_compiles_the_lints_tree_copy_beside_the_accelerator(
    tmp_path, monkeypatch, capsys
):
    import sysconfig
    from pathlib import Path

    import ambidex._callgraph

    hook = load_hook()
    copy_source(tmp_path)
    source = tmp_path / "src" / "ambidex" / "_callgraph" / "_slimcopy.c"
    source.parent.mkdir(parents=True)
    source.write_bytes(Path(ambidex._callgraph.__file__).with_name("_slimcopy.c").read_bytes())
    build = FakeBuild(tmp_path)
    for name in ("AMBIDEX_BUILD_EXTENSIONS", "CC", "LDSHARED", "CFLAGS"):
        monkeypatch.delenv(name, raising=False)
    data = build_data()
    hook.SpeedupsHook.initialize(build, "standard", data)
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    (module,) = source.parent.glob("_slimcopy*" + suffix)
    assert data["force_include"][str(module)] == f"ambidex/_callgraph/{module.name}"
    assert capsys.readouterr().err == ""
    # =0 in an editable install drops it with the accelerator.
    monkeypatch.setenv("AMBIDEX_BUILD_EXTENSIONS", "0")
    hook.SpeedupsHook.initialize(build, "editable", build_data())
    assert not module.exists()


@pytest.mark.primary_only
def test_pip_builds_a_pure_wheel_when_the_compiler_fails_and_a_tagged_one_when_it_works(tmp_path):
    """The whole chain (pyproject -> hatchling -> the hook -> pip), on a copy of the project."""
    import shutil
    import sysconfig
    import zipfile
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    project = tmp_path / "project"
    (project / "tools").mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(root / name, project / name)
    shutil.copy(root / "tools" / "hatch_speedups.py", project / "tools")
    shutil.copytree(
        root / "src", project / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyd", "*.egg-info"),
    )

    def wheel(out: str, **env: str) -> tuple[str, list[str], str]:
        result = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation",
             "--no-index", "-w", str(tmp_path / out), str(project)],
            env={**os.environ, "AMBIDEX_BUILD_EXTENSIONS": "", **env},
            capture_output=True, text=True, timeout=300, check=True,
        )
        (built,) = (tmp_path / out).glob("*.whl")
        with zipfile.ZipFile(built) as archive:
            names = [n for n in archive.namelist() if "_speedups" in n]
        said = [line.strip() for line in result.stderr.splitlines() + result.stdout.splitlines()]
        return built.name, names, "\n".join(line for line in said if line.startswith("ambidex:"))

    name, files, said = wheel("nocc", CC="/bin/false")
    assert name.endswith("-py3-none-any.whl") and not any(f.endswith(".so") for f in files)
    assert said.startswith("ambidex: building pure Python, without the accelerator")
    name, files, said = wheel("cc")
    tag = sysconfig.get_config_var("EXT_SUFFIX")
    assert not name.endswith("-none-any.whl") and f"ambidex/io/_speedups{tag}" in files
    assert f"ambidex/sansio/_speedups{tag}" in files  # CountedFraming.split, built alongside
    assert said == ""
