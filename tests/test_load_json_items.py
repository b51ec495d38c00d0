"""The items of a JSON List read by orjson (``kverify.load.sources._json_items_fast``) are the values,
lines and locators the json module's scanner gives, on any layout; orjson is used where it applies."""

from __future__ import annotations

import json
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kverify.errors import Problem
from kverify.load import sources

orjson = pytest.importorskip("orjson")


def _read(text: str, *, fast: bool) -> tuple[str, list[Problem]]:
    """What read_file gives for ``text``, with orjson (``fast``) or without, as text: every document's
    data, line, items' data and lines, and where each locator points."""
    problems: list[Problem] = []
    with mock.patch.object(sources, "orjson", orjson if fast else None):
        docs = list(sources._json_docs(text, "f.json", problems))
    seen = []
    for doc in docs:
        items = [(repr(data), line, locate.offset, locate.line) for data, line, locate in doc.items or ()]
        seen.append((repr(doc.data), doc.line, doc.locate(("items", 0)), items))
    return repr(seen), problems


def _same(text: str) -> None:
    assert _read(text, fast=True) == _read(text, fast=False)


_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63 - 10, max_value=2**70),  # beyond 64 bits: orjson would give a float
    st.floats(),  # NaN and Infinity: the json module writes them, orjson refuses them
    st.text(max_size=5),  # any character: escapes, non-ASCII, lone surrogates
)
_VALUES = st.recursive(
    _LEAVES,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=12,
)
_ITEMS = st.lists(st.one_of(st.dictionaries(st.text(max_size=3), _VALUES, max_size=4), _VALUES), max_size=5)


@settings()  # examples per profile: 100 by default, 600 in CI (tests/conftest.py)
@given(
    items=_ITEMS,
    indent=st.one_of(st.none(), st.integers(min_value=0, max_value=4), st.just("\t")),
    ascii_only=st.booleans(),
    second=st.booleans(),
)
def test_random_lists_read_alike(items: list[Any], indent: int | str | None, ascii_only: bool, second: bool) -> None:
    document = {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {}}
    text = json.dumps(document, indent=indent, ensure_ascii=ascii_only)
    if second:  # a stream: another List after this one
        text += "\n" + json.dumps({"kind": "List", "items": items[::-1]}, indent=indent)
    _same(text)


_ITEM_SEP = ",\n  {"
_LAYOUTS = [
    pytest.param(
        '{"kind": "List", "items": [\n  {"a": 1},\n  {"b": [\n  {"c": 2},\n  {"d": 3}]},\n  {"e": 4}\n]}',
        id="an element's nested objects at the items' indentation",
    ),
    pytest.param(
        '{"kind": "List", "items": [\n  {"a": [1,\n  {"b": 2}]},\n  {"c": 3}\n]}',
        id="a nested object after a comma inside a list",
    ),
    pytest.param(
        '{"kind": "List", "items": [\n  {"a": NaN},\n  {"b": Infinity},\n  {"c": -Infinity}\n]}',
        id="values only the json module reads",
    ),
    pytest.param(
        '{"kind": "List", "items": [\n  {"a": 123456789012345678901234567890},\n  {"b": 1}\n]}',
        id="an integer beyond 64 bits",
    ),
    pytest.param('{"kind": "List", "items": [\n  {"a": "\\ud800"},\n  {"b": 1}\n]}', id="a lone surrogate"),
    pytest.param('{"kind": "List", "items": [\r\n  {"a": 1},\r\n  {"b": 2}\r\n]}', id="CRLF line ends"),
    pytest.param(
        '{"kind": "List", "items": [\n  {"a": 1} ,\n  {"b": 2}  ,  \n  {"c": 3}\n]}', id="blanks around commas"
    ),
    pytest.param(
        '{"kind": "List", "items": [\n  {"a": 1},\n  5,\n  "x",\n  {"b": 2}\n]}', id="elements that are no objects"
    ),
    pytest.param('{"kind": "List", "items": [\n  5,\n  {"b": 2}\n]}', id="a first element that is no object"),
    pytest.param('{"kind": "List", "items": [\n]}', id="no elements"),
    pytest.param('{"kind": "List", "items": [{"a": 1}, {"b": 2}]}', id="compact"),
    pytest.param('{"kind": "List", "items": [\n  {"a": 1},\n  {"b": 2},\n]}', id="a trailing comma: invalid"),
    pytest.param('{"kind": "List", "items": [\n  {"a": 1}\n],\n}', id="a trailing comma after the items: invalid"),
    pytest.param('{"kind": "List", "items": [\n  {"a": 1},\n  {"b": 2\n]}', id="an unclosed element: invalid"),
    pytest.param('{"kind": "List", "items": [\n  {"a": 1},\n  {"b": 2}\n', id="an unclosed list: invalid"),
    pytest.param('{"kind": "List", "items": [\n  {"a": 1}\n  {"b": 2}\n]}', id="a missing comma: invalid"),
    pytest.param(
        '{"kind": "List", "items": [\n  {"a": 1},\n  {"b": 2}\n], "more": 1}\n'
        '{"kind": "List", "items": [\n  {"c": 3},\n  {"d": 4}\n]}',
        id="a second List in the stream at the same indentation",
    ),
]


@pytest.mark.parametrize("text", _LAYOUTS)
def test_layouts_read_alike(text: str) -> None:
    _same(text)


class _CountingOrjson:
    """orjson, counting its ``loads`` calls."""

    JSONDecodeError = orjson.JSONDecodeError

    def __init__(self) -> None:
        self.calls = 0

    def loads(self, text: str) -> Any:
        self.calls += 1
        return orjson.loads(text)


def test_a_kubectl_list_is_read_by_orjson_but_its_last_item(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """``kubectl get -o json`` layout (4 spaces): each item but the last is one orjson call, and the
    values and lines are the json module's."""
    monkeypatch.setattr(sources, "_read_list", None)  # the careful reader (msgspec reads such a List first)
    counting = _CountingOrjson()
    monkeypatch.setattr(sources, "orjson", counting)
    items = [{"kind": "Node", "metadata": {"name": f"node-{i}", "labels": {"a": "b"}}} for i in range(50)]
    path = tmp_path / "nodes.json"
    path.write_text(json.dumps({"apiVersion": "v1", "items": items, "kind": "List"}, indent=4))
    (doc,) = sources.read_file(str(path), [])
    assert counting.calls == 49
    assert doc.items is not None
    assert [data for data, _, _ in doc.items] == items
    lines = path.read_text().splitlines()
    assert [lines[line - 1] for _, line, _ in doc.items] == ["        {"] * 50


def test_a_file_with_a_long_number_is_read_by_the_json_module_alone(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sources, "_read_list", None)  # the careful reader (msgspec reads such a List first)
    counting = _CountingOrjson()
    monkeypatch.setattr(sources, "orjson", counting)
    items = [{"kind": "Node", "metadata": {"name": f"node-{i}"}, "n": 10**20} for i in range(3)]
    path = tmp_path / "nodes.json"
    path.write_text(json.dumps({"apiVersion": "v1", "items": items, "kind": "List"}, indent=4))
    (doc,) = sources.read_file(str(path), [])
    assert counting.calls == 0
    assert doc.data["items"] == items
    assert type(doc.data["items"][0]["n"]) is int


@pytest.mark.parametrize(
    ("text", "long"),
    [("[1234567890123456789]", True), ('["name-1234567890123456789"]', True), ("[123456789012345678]", False)],
)
def test_the_long_number_guard_counts_nineteen_digits_in_a_row(text: str, long: bool) -> None:
    assert sources._has_long_number(text) is long


@pytest.mark.parametrize("at", [0, 1, 1000 - 19, 1000 - 10, 1000 - 1, 1000, 2000 - 19, 2500 - 19])
def test_the_long_number_guard_sees_a_run_across_its_blocks(monkeypatch, at: int) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sources, "_GUARD_BLOCK", 1000)
    text = "x" * at + "1" * 19 + "x" * (2500 - at - 19)
    assert sources._has_long_number(text)
    assert not sources._has_long_number(text.replace("1" * 19, "1" * 18 + "x"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"kind": "List", "items": [\n  {"a": 1},\n  {"b": 2},\n]}',
            "f.json:4: invalid JSON: Expecting value (column 1)",
        ),
        (
            '{"kind": "List", "items": [\n  {"a": 1}\n],\n}',
            "f.json:4: invalid JSON: Expecting property name enclosed in double quotes (column 1)",
        ),
    ],
)
def test_a_trailing_comma_is_invalid_json_as_the_json_module_says(text: str, message: str) -> None:
    """Regression: the key-by-key reader accepted a comma before the closing bracket."""
    for fast in (False, True):
        assert [str(p) for p in _read(text, fast=fast)[1]] == [message]


def test_orjson_is_imported_for_json_files_only(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A run that reads YAML alone does not pay for importing orjson; one that reads JSON imports it."""
    import subprocess
    import sys

    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n")
    (tmp_path / "a.json").write_text('{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}')
    probe = (
        "import sys\nfrom kverify.load.sources import read_file\n"
        "read_file(sys.argv[1], [])\nprint('orjson' in sys.modules)\n"
    )
    for name, imported in (("a.yaml", "False"), ("a.json", "True")):
        done = subprocess.run(
            [sys.executable, "-c", probe, str(tmp_path / name)], capture_output=True, text=True, check=True
        )
        assert done.stdout.strip() == imported, name
