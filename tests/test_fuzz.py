"""Fuzzing (issue 11): valid manifests and specs, mutated in structure and in bytes, through
``load_manifests``, ``kverify trace`` and ``kverify check``.

Every run must end with exit 0, 1, 2 or 3 (``check`` may also exit 4: nothing to check;
``load_manifests`` returns or raises ``InputError``), never an exception, within a time bound, with
every message one printable line. The short profile runs in
CI; ``KVERIFY_FUZZ=long`` (optionally ``KVERIFY_FUZZ_EXAMPLES=N``) runs a long one on demand:

    KVERIFY_FUZZ=long .venv/bin/python -m pytest tests/test_fuzz.py -p no:cacheprovider

Every input that ever failed is kept below as an ``@example``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kverify.cli import main
from kverify.errors import InputError
from kverify.load import load_manifests
from kverify.load.sources import read_file

ROOT = Path(__file__).parent.parent
MANIFESTS = sorted((ROOT / "tests" / "data" / "manifests" / "valid").glob("*.*")) + sorted(
    (ROOT / "specs" / "manifests").glob("*.yaml")
)
SPECS = sorted((ROOT / "specs").glob("*.yaml"))
LONG = os.environ.get("KVERIFY_FUZZ") == "long"
EXAMPLES = int(os.environ.get("KVERIFY_FUZZ_EXAMPLES", 3000 if LONG else 60))
#: Seconds one run may take (the seeds take well under one): a bound against hangs, not a benchmark.
TIME_BOUND = 60

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)


class TooSlow(Exception):
    pass


@contextlib.contextmanager
def time_bound(seconds: int = TIME_BOUND) -> Iterator[None]:
    """Fail a run that takes longer than ``seconds`` (a hang), where SIGALRM exists."""
    if not hasattr(signal, "SIGALRM"):  # pragma: no cover - Windows
        yield
        return

    def expire(*_: object) -> None:
        raise TooSlow(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# -- mutations --------------------------------------------------------------------------------

#: Stands for an integer of 4,400 digits, which neither serializer writes: replaced in the text.
HUGE = "__HUGE_INT__"
HOSTILE: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 65536, 30080, 2**31, HUGE, float("inf"), float("nan"), -0.0, 1e308]),
    st.text(max_size=20),
    st.sampled_from(["", "None", "Local", "Cluster", "\x1b[2J", "a\nb", "\u202e", "x" * 300, "10.96.0.10", "::1"]),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.builds(lambda depth: json.loads("[" * depth + "]" * depth), st.integers(min_value=50, max_value=200)),
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _paths(child, (*prefix, i))


def _mutate(draw: st.DrawFn, data: Any) -> Any:
    """One structural mutation: replace, delete, duplicate or add at a random place."""
    paths = list(_paths(data))
    path = draw(st.sampled_from(paths))
    if not path:
        return draw(HOSTILE)
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    action = draw(st.sampled_from(["replace", "delete", "duplicate", "add-key"]))
    if action == "replace":
        parent[last] = draw(HOSTILE)
    elif action == "delete":
        del parent[last]
    elif action == "duplicate" and isinstance(parent, list):
        parent.insert(last, json.loads(json.dumps(parent[last], default=str)))
    elif isinstance(parent[last], dict):
        parent[last][draw(st.sampled_from(["extra", "nodePort", "clusterIP", "name", "\x07"]))] = draw(HOSTILE)
    else:
        parent[last] = draw(HOSTILE)
    return data


@functools.cache
def _seed_documents(seed: Path) -> str:
    """The seed's documents as kverify reads them (YAML, JSON, JSON streams), as JSON text."""
    problems: list[Any] = []
    docs = [d.data for d in read_file(str(seed), problems) if d.data is not None]
    assert not problems, problems
    return json.dumps(docs)


@st.composite
def mutated_documents(draw: st.DrawFn, seeds: list[Path]) -> tuple[str, str]:
    """(file name, text): a seed file with a few structural mutations, as YAML or JSON."""
    seed = draw(st.sampled_from(seeds))
    docs = json.loads(_seed_documents(seed))  # a fresh copy to mutate
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        i = draw(st.integers(min_value=0, max_value=len(docs) - 1))
        docs[i] = _mutate(draw, docs[i])
    if draw(st.booleans()):
        try:
            text = "\n".join(json.dumps(d) for d in docs)  # json.dumps writes inf/nan as JSON does not
            return seed.stem + ".json", text.replace(f'"{HUGE}"', "9" * 4400)
        except (ValueError, RecursionError):
            pass
    return seed.stem + ".yaml", yaml.safe_dump_all(docs, allow_unicode=True).replace(HUGE, "9" * 4400)


@st.composite
def mutated_bytes(draw: st.DrawFn, seeds: list[Path]) -> tuple[str, bytes]:
    """(file name, bytes): a seed file with bytes flipped, inserted, deleted or cut."""
    seed = draw(st.sampled_from(seeds))
    raw = bytearray(seed.read_bytes())
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        at = draw(st.integers(min_value=0, max_value=max(len(raw) - 1, 0)))
        action = draw(st.sampled_from(["flip", "insert", "delete", "cut"]))
        if action == "flip" and raw:
            raw[at] = draw(st.integers(min_value=0, max_value=255))
        elif action == "insert":
            raw[at:at] = draw(
                st.one_of(
                    st.binary(max_size=8), st.sampled_from([b"*a", b"&a ", b"- ", b": ", b"{", b"[", b"\t", b"\xef"])
                )
            )
        elif action == "delete":
            del raw[at : at + draw(st.integers(min_value=1, max_value=16))]
        else:
            del raw[at:]
    return seed.name, bytes(raw)


# -- what every run must satisfy ----------------------------------------------------------------


def _run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> int:
    with time_bound():
        code = main(argv)
    err = capsys.readouterr().err
    assert code in (0, 1, 2, 3, 4), (code, err)  # 4: check found nothing to check (issue 12)
    if code == 2:
        assert err.strip(), "exit 2 without saying why"
    for line in err.splitlines():
        assert line.isprintable(), repr(line)  # one line per message: no raw control characters
    return code


def _load(path: Path) -> None:
    with time_bound(), contextlib.suppress(InputError):
        load_manifests([path])


def _check_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: str | bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
    _load(path)
    for service in ("shop/web", "default/kubernetes"):
        for to, client in (("cluster-ip", "pod"), ("node-port", "external")):
            _run(capsys, ["trace", str(path), "--service", service, "--to", to, "--from", client])
    _run(capsys, ["check", str(path)])


def _check_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: str | bytes) -> None:
    folder = tmp_path / "specs"
    folder.mkdir(exist_ok=True)
    if not (folder / "manifests").exists():
        (folder / "manifests").symlink_to(ROOT / "specs" / "manifests")
    path = folder / (Path(name).stem + ".yaml")
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
    _run(capsys, ["check", str(path)])


# Inputs the issue found by hand, kept as examples of what the fuzzer must survive.
DEEP_JSON = "[" * 1000 + "]" * 1000
BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{i}: &a{i} [{', '.join(['*a' if i == 1 else f'*a{i - 1}'] * 10)}]\n" for i in range(1, 10)
)


@FUZZ
@given(mutated_documents(MANIFESTS))
@example(("deep.json", DEEP_JSON))
@example(("big.yaml", "apiVersion: v1\nkind: Node\nmetadata: {name: " + "9" * 5000 + "}\n"))
@example(
    (
        "bomb.yaml",
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec:\n  type:\n    "
        + BOMB.replace("\n", "\n    "),
    )
)
def test_mutated_manifests(tmp_path_factory, capsys, document) -> None:  # type: ignore[no-untyped-def]
    _check_manifest(tmp_path_factory.mktemp("fuzz"), capsys, *document)


@FUZZ
@given(mutated_bytes(MANIFESTS))
@example(("nul.yaml", b"\x00"))
@example(("utf16.yaml", "\ufeffapiVersion: v1\n".encode("utf-16")))
def test_manifest_bytes(tmp_path_factory, capsys, document) -> None:  # type: ignore[no-untyped-def]
    _check_manifest(tmp_path_factory.mktemp("fuzz"), capsys, *document)


@FUZZ
@given(mutated_documents(SPECS))
def test_mutated_specs(tmp_path_factory, capsys, document) -> None:  # type: ignore[no-untyped-def]
    _check_spec(tmp_path_factory.mktemp("fuzz"), capsys, *document)


@FUZZ
@given(mutated_bytes(SPECS))
def test_spec_bytes(tmp_path_factory, capsys, document) -> None:  # type: ignore[no-untyped-def]
    _check_spec(tmp_path_factory.mktemp("fuzz"), capsys, *document)
