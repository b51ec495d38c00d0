"""Building YAML documents from the parser's events gives what composing each document gave: the
same values, the same start lines, the same one-line problems (through ``read_file``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kverify.errors import Problem
from kverify.load.sources import _Loader, read_file, yaml_problem
from kverify.load.yaml_build import MAX_EVENT_DEPTH, build
from tests.test_fuzz import MANIFESTS, mutated_bytes, mutated_documents
from tests.test_load_fast_paths import _YAML_CASES


def _composed(text: str, file: str) -> tuple[list[tuple[str, int]], list[str]]:
    """(value and start line of each document, problems) as the loader found them when it composed
    every document whole, then built it (PyYAML's constructor where build declined)."""
    documents: list[tuple[str, int]] = []
    problems: list[str] = []
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            try:
                data = build(loader, node)
            except Exception:
                data = loader.construct_document(node)
            documents.append((repr(data), node.start_mark.line + 1))
    except (yaml.YAMLError, RecursionError, ValueError, OverflowError) as exc:
        problems.append(str(yaml_problem(exc, text, file)))
    finally:
        loader.dispose()
    return documents, problems


def _assert_as_composed(folder: Path, text: str) -> None:
    path = folder / "case.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    problems: list[Problem] = []
    docs = read_file(str(path), problems)
    if problems and problems[0].message.startswith("invalid UTF-8"):
        return  # not YAML's business: decoding comes first, the same for both
    assert ([(repr(d.data), d.line) for d in docs], [str(p) for p in problems]) == _composed(text, str(path))


#: What the event builder leaves to the composer, and errors after or inside such documents.
_DECLINED = [
    "a: *undefined\nb: [\n",
    "a: 1\n---\nb: *x\n",
    "- &a 1\n- &a 2\n- *a\n",
    "x: !!timestamp 2001-13-45\n",
    "a: 1\n<<: {a: 2}\nb: x\x07y\n",
    "a: é\n---\n<<: {a: 1}\nb: ü\x07y\n",
    "a: 1\n--- !!set\n? a\n",
    "--- |\n  text\n...\n--- &x [*x]\n--- {x: &y [*y, 1]}\n",
    "%YAML 1.1\n---\na: 1\n...\n%YAML 1.1\n---\nb: <<\n",
    "? [a]\n: 1\n",
    "{a: 1, a: 2}\n",
    "kind: List\nitems: &i\n- a: 1\nother: *i\n",
    "kind: List\nitems: [1]\nitems: [2]\n",
    "kind: List\nitems: &l [*l, {a: 1}]\n",
    "[" * (MAX_EVENT_DEPTH + 1) + "]" * (MAX_EVENT_DEPTH + 1) + "\n",
    "a: " + "[" * 5000 + "]" * 5000 + "\n",
    "  a: 1\n  b:\n  - c\n...\n  d: 2\n",
    "a: 1\n--- &x\nb: *x\n",
    "- !!python/object:os.system x\n- ok\n",
    "a: !!str 1\nb: !!int '2'\nc: !!float 1\nd: !!null ''\ne: ! 3\n",
]


@pytest.mark.parametrize("text", _YAML_CASES + _DECLINED)
def test_documents_and_problems_as_composed(tmp_path: Path, text: str) -> None:
    _assert_as_composed(tmp_path, text)


@settings(max_examples=60, deadline=None)
@given(mutated_bytes(MANIFESTS))
def test_mutated_manifest_bytes_as_composed(tmp_path_factory: pytest.TempPathFactory, case: tuple[str, bytes]) -> None:
    try:
        text = case[1].decode("utf-8-sig")
    except UnicodeDecodeError:
        return
    _assert_as_composed(tmp_path_factory.mktemp("y"), text)


@settings(max_examples=60, deadline=None)
@given(mutated_documents(MANIFESTS))
def test_mutated_manifests_as_composed(tmp_path_factory: pytest.TempPathFactory, case: tuple[str, str]) -> None:
    _assert_as_composed(tmp_path_factory.mktemp("y"), case[1])


_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=5))


@st.composite
def _shared(draw: st.DrawFn) -> Any:
    """A value whose parts appear twice (the dumper writes anchors and aliases for them)."""
    part = draw(st.lists(_LEAVES, max_size=3) | st.dictionaries(st.text(max_size=4), _LEAVES, max_size=3))
    return draw(st.sampled_from([{"a": part, "b": part}, [part, {"c": part}], {"kind": "List", "items": [part, part]}]))


@settings(max_examples=100, deadline=None)
@given(docs=st.lists(_shared(), min_size=1, max_size=3), flow=st.sampled_from([None, True, False]))
def test_anchored_documents_as_composed(tmp_path_factory: pytest.TempPathFactory, docs: list[Any], flow: bool) -> None:
    _assert_as_composed(tmp_path_factory.mktemp("y"), yaml.safe_dump_all(docs, default_flow_style=flow))


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        # go-yaml's words (resolve.go, resolve): "cannot decode !!str `nope` as a !!timestamp"
        (
            "metadata:\n  creationTimestamp: !!timestamp nope\n",
            2,
            "cannot decode !!str `nope` as a !!timestamp (column 22)",
        ),
        (
            "a: 1\n---\nkind: List\nitems:\n- b: [1, !!bool maybe]\n",
            5,
            "cannot decode !!str `maybe` as a !!bool (column 10)",
        ),
    ],
)
def test_a_value_pyyaml_fails_on_is_a_one_line_problem(tmp_path: Path, text: str, line: int, message: str) -> None:
    """PyYAML's constructors raise AttributeError and KeyError on these (a traceback before)."""
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    problems: list[Problem] = []
    read_file(str(path), problems)
    assert [str(p) for p in problems] == [f"{path}:{line}: invalid YAML: {message}"]
