"""Lines of YAML fields found after the node graph was dropped are the lines the whole graph gives."""

from __future__ import annotations

import gc
from pathlib import Path as FilePath
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kverify.errors import InputError, Problem
from kverify.load import load_manifests
from kverify.load.fields import Path
from kverify.load.sources import RawDoc, read_file
from kverify.load.yaml_locate import YamlText, line_in_node


def _paths(value: object, prefix: Path = ()) -> list[Path]:
    out = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            if isinstance(key, str):
                out += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            out += _paths(child, (*prefix, i))
    return out


def _read(tmp_path: FilePath, text: str) -> list[RawDoc]:
    path = tmp_path / "case.yaml"
    path.write_text(text)
    problems: list[Problem] = []
    docs = read_file(str(path), problems)
    assert not problems
    return docs


def _assert_lines_as_composed(docs: list[RawDoc], text: str) -> None:
    """Every path (and one past the end) of every document and List item: the line the composed
    document gives, as the loader found it when it kept every node."""
    roots = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    assert len(roots) == len(docs)
    for doc, root in zip(docs, roots, strict=True):
        assert doc.line == line_in_node(root, ())
        for path in [*_paths(doc.data), ("no-such-key",)]:
            assert doc.locate(path) == line_in_node(root, path), path
        for k, (item, line, locate) in enumerate(doc.items or ()):
            assert line == line_in_node(root, ("items", k))
            for path in [*_paths(item), ("no-such-key", 0)]:
                assert locate(path) == line_in_node(root, ("items", k, *path)), (k, path)


_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=6), st.sampled_from(["a\nb", "", "*x"]))
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=12,
)
_DOCUMENTS = st.one_of(
    _VALUES,
    st.builds(lambda items: {"apiVersion": "v1", "kind": "List", "items": items}, st.lists(_VALUES, max_size=4)),
)


@settings(max_examples=150, deadline=None)
@given(
    docs=st.lists(_DOCUMENTS, min_size=1, max_size=3),
    flow=st.sampled_from([None, True, False]),
    quoted=st.sampled_from([None, '"', "'"]),
    explicit=st.booleans(),
)
def test_lines_are_those_of_the_composed_documents(
    tmp_path_factory: pytest.TempPathFactory, docs: list[Any], flow: bool | None, quoted: str | None, explicit: bool
) -> None:
    text = yaml.safe_dump_all(
        docs, default_flow_style=flow, default_style=quoted, allow_unicode=True, explicit_start=explicit
    )
    _assert_lines_as_composed(_read(tmp_path_factory.mktemp("y"), text), text)


#: Items that do not compose alone (an alias of another item's anchor, a %TAG handle), and others
#: in flow style, compact nested lists, comments and blank lines between them.
_HAND_WRITTEN = [
    "kind: List\nitems:\n- &a\n  x: 1\n  y: [1, 2]\n- z: *a\n  w:\n    deep: {q: 1}\n- *a\n",
    "%TAG !k! tag:yaml.org,2002:\n---\nkind: List\nitems:\n  - !k!map\n    a: 1\n    b:\n      - c: 2\n",
    "kind: List\nitems: [{a: 1,\n  b: 2}, {c: [3,\n   4]}]\n",
    "# head\n\nkind: List\nitems:\n\n  # one\n  - - a\n    - b: 1\n\n  -\n    c: 2\n    d: 3\n",
    "a: 1\n---\n# second\nb:\n  c: [1]\n...\n---\n- x\n- y: z\n",
    "kind: List\r\nitems:\r\n- a: é\r\n  b: 😀\r\n- c: 1\r\n",
]


@pytest.mark.parametrize("text", _HAND_WRITTEN)
def test_lines_of_hand_written_documents(tmp_path: FilePath, text: str) -> None:
    _assert_lines_as_composed(_read(tmp_path, text), text.replace("\r\n", "\n"))


def _live_nodes() -> int:
    return sum(isinstance(o, yaml.Node) for o in gc.get_objects())


def test_no_yaml_node_outlives_the_read_and_a_lookup_composes_one_item(
    tmp_path: FilePath, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = "".join(
        f"- kind: Service\n  metadata:\n    name: s{k}\n  spec:\n    ports: [{{port: {k}}}]\n" for k in range(50)
    )
    text = "apiVersion: v1\nkind: List\nitems:\n" + items
    before = _live_nodes()
    (doc,) = _read(tmp_path, text)
    assert _live_nodes() == before  # only marks were kept
    composed: list[str] = []
    compose = YamlText.span

    def recording(self: YamlText, start: int, end: int, column: int) -> yaml.Node | None:
        if self._key != (start, end):
            composed.append(self.text[start:end])
        return compose(self, start, end, column)

    monkeypatch.setattr(YamlText, "span", recording)
    _, line, locate = doc.items[40]  # type: ignore[index]
    assert line == 4 + 5 * 40
    assert locate(("spec", "ports", 0, "port")) == line + 4
    assert locate(("metadata", "name")) == line + 2
    assert composed == [text.splitlines(keepends=True)[line - 1][2:] + "".join(text.splitlines(True)[line : line + 4])]


def test_a_field_error_deep_in_item_3_of_a_list_names_its_line(tmp_path: FilePath) -> None:
    # Service s3's first port is at line 4 + 5*3 + 4 = 23; its protocol is written on line 24.
    items = "".join(
        f"- apiVersion: v1\n  kind: Service\n  metadata: {{name: s{k}}}\n  spec:\n"
        f"    ports:\n    - port: 80\n      protocol: {'SCTPX' if k == 3 else 'TCP'}\n"
        for k in range(6)
    )
    path = tmp_path / "list.yaml"
    path.write_text("apiVersion: v1\nkind: List\nitems:\n" + items)
    with pytest.raises(InputError) as info:
        load_manifests([path])
    lines = [line for line in str(info.value).splitlines() if "SCTPX" in line]
    assert len(lines) == 1 and lines[0].startswith(
        f"{path}:{4 + 7 * 3 + 6}: Service default/s3: spec.ports[0].protocol:"
    )


def test_the_second_document_s_bad_field_is_named_at_its_line(tmp_path: FilePath) -> None:
    path = tmp_path / "two.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  ports: [{port: 80}]\n"
        "---\n# b\napiVersion: v1\nkind: Service\nmetadata:\n  name: b\nspec:\n  type: Nowhere\n  ports: [{port: 80}]\n"
    )
    with pytest.raises(InputError) as info:
        load_manifests([path])
    (line,) = [line for line in str(info.value).splitlines() if "Nowhere" in line]
    assert line.startswith(f"{path}:13: Service default/b: spec.type:")
