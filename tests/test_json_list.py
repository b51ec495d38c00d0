"""A JSON List read from its bytes by msgspec (``kverify.load.json_list``, plain EndpointSlices decoded as
typed structs by ``kverify.load.slice_typed``) gives what the careful reader gives (the json module's
scanner, slices walked as dicts by the careful loop): the same values, lines, locators, problems,
warnings and loaded endpoints, on generated documents of any layout; and it is the path taken where
it applies."""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kverify.errors import InputError, Problem
from kverify.load import kinds, load_manifests, sources

# msgspec is a dependency; an environment made before it was (`pip install -e .` again fixes it)
# reads every file the careful way, which the other tests cover.
pytest.importorskip("msgspec")
from kverify.load import json_list  # imports msgspec
from kverify.load.fields import Path as FieldPath
from kverify.load.slice_columns import SameConditions, TypedEntries
from kverify.model.endpoint_columns import EndpointColumns
from tests.test_endpoint_columns import _NODES, _SERVICE, _slice, _slices, loaded_outcome


def _careful(monkeypatch: pytest.MonkeyPatch) -> None:
    """Read as before msgspec: no List reader, and slices' entries walked by the careful loop."""
    monkeypatch.setattr(sources, "_read_list", None)
    monkeypatch.setattr(kinds, "plain_columns", lambda *args: None)


def _plain(value: Any) -> Any:
    """``value`` with typed entries decoded again as dicts."""
    if type(value) is dict:
        return {key: _plain(item) for key, item in value.items()}
    if type(value) is list:
        return [_plain(item) for item in value]
    if type(value) is TypedEntries:
        return value.as_dicts()
    return value


def _is_typed(item: Any) -> bool:
    return type(item) is dict and type(item.get("endpoints")) is TypedEntries


def _paths(value: Any, prefix: FieldPath = ()) -> list[FieldPath]:
    """Field paths in ``value`` (a few levels deep), for the locators to find."""
    found = [prefix]
    if len(prefix) < 4:
        if type(value) is dict:
            for key, item in value.items():
                found += _paths(item, (*prefix, key))
        elif type(value) is list:
            for i, item in enumerate(value):
                found += _paths(item, (*prefix, i))
    return found[:60]


def _read(path: Path, *, fast: bool, typed_slices: bool = True) -> tuple[list[Problem], list[sources.RawDoc]]:
    problems: list[Problem] = []
    with pytest.MonkeyPatch.context() as monkeypatch:
        if not fast:
            _careful(monkeypatch)
        docs = sources.read_file(str(path), problems, typed_slices=typed_slices)
    return problems, docs


def _seen(docs: list[sources.RawDoc], typed: set[tuple[int, int]], paths: list[list[Any]]) -> str:
    """The documents as text: data (the keys of a typed slice sorted, as it is built field by field,
    not in the file's order: nothing reads them in order), lines, and where the locators point."""

    def text(value: Any, k: int, i: int | None) -> str:
        value = _plain(value)
        if (k, i) in typed:
            value = dict(sorted(value.items()))
        return json.dumps(value)

    seen = []
    for k, doc in enumerate(docs):
        data = doc.data
        if type(data) is dict and type(data.get("items")) is list:
            data = {**data, "items": [json.loads(text(item, k, i)) for i, item in enumerate(data["items"])]}
        items = [
            (text(item, k, i), line, [locate(p) for p in paths[k][i + 1]])
            for i, (item, line, locate) in enumerate(doc.items or ())
        ]
        seen.append((json.dumps(_plain(data)), doc.line, [doc.locate(p) for p in paths[k][0]], items))
    return repr(seen)


def _read_both(path: Path) -> tuple[tuple[str, list[str]], tuple[str, list[str]], bool]:
    """read_file's documents and problems as text, with the List reader and without; and whether it
    was used."""
    fast_problems, fast_docs = _read(path, fast=True)
    careful_problems, careful_docs = _read(path, fast=False)
    typed = {
        (k, i) for k, doc in enumerate(fast_docs) for i, (item, _, _) in enumerate(doc.items or ()) if _is_typed(item)
    }
    paths = [[_paths(doc.data), *(_paths(item) for item, _, _ in doc.items or ())] for doc in careful_docs]
    used = any(type(doc.locate) is json_list.BytesLocator for doc in fast_docs)
    # Without typed slices (any caller but the manifest loader), the documents are plain data, exactly.
    plain_problems, plain_docs = _read(path, fast=True, typed_slices=False)
    assert [str(p) for p in plain_problems] == [str(p) for p in careful_problems]
    if len(plain_docs) == len(careful_docs):
        assert _seen(plain_docs, set(), paths) == _seen(careful_docs, set(), paths)
    else:
        assert repr(plain_docs) == repr(careful_docs)
    if len(fast_docs) != len(careful_docs):
        return (
            (repr(fast_docs), [str(p) for p in fast_problems]),
            (repr(careful_docs), [str(p) for p in careful_problems]),
            used,
        )
    return (
        (_seen(fast_docs, typed, paths), [str(p) for p in fast_problems]),
        (_seen(careful_docs, typed, paths), [str(p) for p in careful_problems]),
        used,
    )


def _same(tmp_path: Path, text: str | bytes) -> bool:
    """Both readers give the same documents; whether the List reader was used."""
    path = tmp_path / "list.json"
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    else:
        path.write_bytes(text)
    fast, careful, used = _read_both(path)
    assert fast == careful
    return used


_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63 - 10, max_value=2**70),  # beyond 64 bits: the json module keeps them exact
    st.floats(),  # NaN, Infinity: the json module reads them, msgspec refuses them
    st.text(max_size=5),  # any character: escapes, non-ASCII, lone surrogates
)
_VALUES = st.recursive(
    _LEAVES,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=12,
)
_ENTRY_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(["", "node-a", "10.1.0.1", "Pod", "shop", 0, 1.5, [], {}]),
    st.lists(st.sampled_from(["10.1.0.1", "10.1.0.300", "::1", 7]), max_size=2),
    st.fixed_dictionaries(
        {}, optional={k: st.sampled_from([True, False, None, 1]) for k in ("ready", "serving", "terminating")}
    ),
    st.fixed_dictionaries(
        {"name": st.sampled_from(["web-1", 7, None])},
        optional={"kind": st.sampled_from(["Pod", "Node", 3]), "namespace": st.sampled_from(["shop", "", None, 4])},
    ),
)
_ENTRIES = st.lists(
    st.dictionaries(
        st.sampled_from(["addresses", "conditions", "nodeName", "targetRef", "hints", "zone", "x"]),
        _ENTRY_VALUES,
        max_size=5,
    )
    | _VALUES,
    max_size=4,
)
_SLICES = st.fixed_dictionaries(
    {"kind": st.just("EndpointSlice"), "addressType": st.sampled_from(["IPv4", "IPv4", "IPv6", None])},
    optional={
        "apiVersion": st.just("discovery.k8s.io/v1"),
        "metadata": st.just({"name": "web-1", "namespace": "shop", "labels": {"kubernetes.io/service-name": "web"}}),
        "ports": _VALUES,
        "endpoints": _ENTRIES | st.none(),
        "extra": _VALUES,
    },
)
_ITEMS = st.lists(st.one_of(_SLICES, st.dictionaries(st.text(max_size=3), _VALUES, max_size=4), _VALUES), max_size=5)


@settings(deadline=None)
@given(
    items=_ITEMS,
    around=st.dictionaries(st.sampled_from(["apiVersion", "kind", "metadata", "more", "items\u0131"]), _VALUES),
    after=st.booleans(),
    indent=st.one_of(st.none(), st.integers(min_value=0, max_value=4), st.just("\t")),
    ascii_only=st.booleans(),
    bom=st.booleans(),
    crlf=st.booleans(),
)
def test_random_lists_read_alike(
    tmp_path_factory: pytest.TempPathFactory,
    items: list[Any],
    around: dict[str, Any],
    after: bool,
    indent: int | str | None,
    ascii_only: bool,
    bom: bool,
    crlf: bool,
) -> None:
    """Any items, members before or after ``items``, any layout: the same values, lines and locators."""
    members = list(around.items())
    document = dict([*members, ("items", items)] if not after else [("items", items), *members])
    text = json.dumps(document, indent=indent, ensure_ascii=ascii_only)
    if crlf:
        text = text.replace("\n", "\r\n")
    raw = text.encode("utf-8", "surrogatepass")
    _same(tmp_path_factory.mktemp("lists"), codecs.BOM_UTF8 + raw if bom else raw)


_LAYOUTS = [
    pytest.param(
        '{"kind": "List", "items": [\n  {"a": 1},\n  {"b": [\n  {"c": 2}]}\n]}',
        True,
        id="nested objects at the items' indentation",
    ),
    pytest.param('{"kind": "List", "items": [{"a": 1}, {"b": 2}]}', True, id="compact"),
    pytest.param('{"kind":"List","items":[]}', True, id="no items"),
    pytest.param(
        '{"items": [{"a": 1}], "kind": "List", "metadata": {"resourceVersion": "", "x": [1, "]"]}}',
        True,
        id="members after the items, with brackets",
    ),
    pytest.param('{"metadata": {"items": [1]}, "items": [{"a": 1}]}', True, id="an items key nested before the items"),
    pytest.param(
        '{"note": "\\"items\\": [", "items": [{"a": 1}]}', True, id="an items key in a string before the items"
    ),
    pytest.param(
        '{"items": [{"a": 1}], "note": "], \\"x\\": 1}"}', True, id="a closing bracket in a string after the items"
    ),
    pytest.param('{"kind": "List", "items": [{"a": NaN}]}', False, id="NaN: the json module alone"),
    pytest.param('{"kind": "List", "items": [{"a": 1e400}]}', False, id="a number beyond the double range"),
    pytest.param('{"kind": "List", "items": [{"a": "\\ud800"}]}', False, id="a lone surrogate"),
    pytest.param(
        '{"kind": "List", "items": [{"a": 123456789012345678901234567890}]}', True, id="an integer beyond 64 bits"
    ),
    pytest.param('{"kind": "List", "items": [{"a": 1}], "items": [{"b": 2}]}', False, id="two items members"),
    pytest.param('{"kind": "List", "\\u0069tems": [{"b": 2}], "items": [{"a": 1}]}', False, id="an escaped items key"),
    pytest.param(
        '{"kind": "List", "kind": "NodeList", "items": [{"a": 1}], "kind": "PodList"}',
        True,
        id="a key before and after",
    ),
    pytest.param('{"kind": "List", "items": [{"a": 1}]}\n{"kind": "List", "items": [{"b": 2}]}', False, id="a stream"),
    pytest.param('[{"kind": "List", "items": [{"a": 1}]}]', False, id="a top-level array"),
    pytest.param('{"kind": "List", "items": {"a": 1}}', False, id="items not an array"),
    pytest.param('{"kind": "List", "items": [{"a": 1},]}', False, id="a trailing comma: invalid"),
    pytest.param('{"kind": "List", "items": [{"a": 1}] , }', False, id="a trailing comma after the items: invalid"),
    pytest.param('{ , "items": [{"a": 1}]}', False, id="a comma before the items alone: invalid"),
    pytest.param('{"kind": "List", "items": [{"a": 1}]', False, id="unclosed: invalid"),
    pytest.param('{"kind": "List", "items": [{"a": 1}]}}', False, id="closed twice: invalid"),
    pytest.param('{"kind": "List", "items": [{"a": "\x01"}]}', False, id="a control character: invalid"),
    pytest.param(b'{"kind": "List", "items": [{"a": "\xff", "kind": "x"}]}', False, id="invalid UTF-8"),
    pytest.param(
        b'{"kind": "List", "items": [{"kind": "EndpointSlice", "addressType": "IPv4", '
        b'"endpoints": [{"addresses": ["10.0.0.1"], "zone": "\xc3("}]}]}',
        False,
        id="invalid UTF-8 in a field the typed decoder skips",
    ),
    pytest.param(
        '{"kind": "List", "items": [{"kind": "EndpointSlice", "addressType": "IPv4", '
        '"endpoints": [{"addresses": ["10.0.0.1"], "nodeName": "", "nodeName": "a"}]}]}',
        True,
        id="a duplicate key in an entry: the last wins",
    ),
]


@pytest.mark.parametrize(("text", "fast"), _LAYOUTS)
def test_layouts_read_alike(tmp_path: Path, text: str | bytes, fast: bool) -> None:
    """The same documents and problems either way; the List reader reads what it should."""
    assert _same(tmp_path, text) is fast


@pytest.mark.parametrize("depth", range(900, 1001, 4))
def test_nesting_near_the_recursion_limit_reads_alike(tmp_path: Path, depth: int) -> None:
    """What the json module refuses as nested too deeply, the List reader leaves to it."""
    text = '{"kind": "List", "items": [{"a": ' + "[" * depth + "1" + "]" * depth + "}]}"
    path = tmp_path / "deep.json"
    path.write_text(text)
    outcomes = []
    for fast in (True, False):
        problems: list[Problem] = []
        with pytest.MonkeyPatch.context() as monkeypatch:
            if not fast:
                _careful(monkeypatch)
            docs = sources.read_file(str(path), problems)
        outcomes.append(([str(p) for p in problems], len(docs)))
    assert outcomes[0] == outcomes[1]


# --- loading: values, errors, warnings and lines of generated slices --------------------------------


_load = loaded_outcome


@settings(max_examples=150, deadline=None)
@given(slices=st.lists(_slices(), min_size=1, max_size=3), pods=st.booleans(), indent=st.sampled_from([None, 1, 4]))
def test_loading_typed_slices_gives_the_careful_loops_values_errors_and_lines(
    tmp_path_factory: pytest.TempPathFactory, slices: list[list[object]], pods: bool, indent: int | None
) -> None:
    items = [*_NODES, _SERVICE, *(_slice(f"web-{i}", entries) for i, entries in enumerate(slices))]
    if pods:
        items.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": "shop"}})
    path = tmp_path_factory.mktemp("typed") / "snapshot.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=indent))
    fast = _load(path)
    with pytest.MonkeyPatch.context() as monkeypatch:
        _careful(monkeypatch)
        careful = _load(path)
    assert fast == careful


def _kubectl_slice(i: int, n: int) -> dict[str, Any]:
    """An EndpointSlice as the EndpointSlice controller writes it and ``kubectl get -o json`` prints it."""
    return {
        "addressType": "IPv4",
        "apiVersion": "discovery.k8s.io/v1",
        "endpoints": [
            {
                "addresses": [f"10.1.{i}.{k}"],
                "conditions": {"ready": k != 1, "serving": True, "terminating": k == 1},
                "nodeName": "node-a" if k % 2 else "node-b",
                "targetRef": {"kind": "Pod", "name": f"web-{i}-{k}", "namespace": "shop", "uid": f"u-{k}"},
                "zone": "zone-a",
            }
            for k in range(n)
        ],
        "kind": "EndpointSlice",
        "metadata": {"labels": {"kubernetes.io/service-name": "web"}, "name": f"web-{i}", "namespace": "shop"},
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
    }


def test_a_kubectl_list_of_slices_is_decoded_typed_into_columns(tmp_path: Path) -> None:
    """The slices of a snapshot take the typed path: their entries are typed, their endpoints columns."""
    items = [*_NODES, _SERVICE, _kubectl_slice(0, 40), _kubectl_slice(1, 3)]
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps({"apiVersion": "v1", "items": items, "kind": "List", "metadata": {}}, indent=4))
    (doc,) = sources.read_file(str(path), [], typed_slices=True)
    typed = [item for item in doc.data["items"] if type(item.get("endpoints")) is TypedEntries]
    assert len(typed) == 2
    (plain,) = sources.read_file(str(path), [])  # for any other caller: plain data, as json gives it
    assert json.loads(json.dumps(plain.data)) == json.loads(path.read_text())
    lines = path.read_text().splitlines()
    assert [lines[line - 1] for _, line, _ in doc.items or ()] == ["        {"] * len(items)
    (service,) = load_manifests([path]).services
    assert type(service.endpoints) is EndpointColumns
    assert len(service.endpoints) == 43
    assert service.endpoints[1].terminating and not service.endpoints[1].ready
    assert service.endpoints[41].pod == "shop/web-1-1"


def test_a_slice_whose_entries_share_their_conditions_keeps_them_once(tmp_path: Path) -> None:
    """Equal conditions (here all terminating, not ready) are kept as one entry's; unequal ones each."""
    terminating = _kubectl_slice(0, 5)
    for entry in terminating["endpoints"]:
        entry["conditions"] = {"ready": False, "serving": True, "terminating": True}
    items = [*_NODES, _SERVICE, terminating, _kubectl_slice(1, 3)]
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps({"apiVersion": "v1", "items": items, "kind": "List"}, indent=1))
    (doc,) = sources.read_file(str(path), [], typed_slices=True)
    same, mixed = (item["endpoints"] for item in doc.data["items"] if _is_typed(item))
    assert type(same.conditions) is SameConditions and same.conditions.size == 5
    assert type(mixed.conditions) is list
    (service,) = load_manifests([path]).services
    flags = [(e.ready, e.serving, e.terminating) for e in service.endpoints]
    assert flags == [(False, True, True)] * 5 + [(True, True, False), (False, True, True), (True, True, False)]


def test_an_invalid_address_in_a_typed_slice_is_reported_where_it_is(tmp_path: Path) -> None:
    """msgspec accepts the string; the column check refuses it, and the careful loop reports it."""
    broken = _kubectl_slice(0, 30)
    broken["endpoints"][20]["addresses"] = ["10.1.0.300"]
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps({"apiVersion": "v1", "items": [*_NODES, _SERVICE, broken], "kind": "List"}, indent=4))
    with pytest.raises(InputError) as caught:
        load_manifests([path])
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "10.1.0.300" in text)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:{line}: EndpointSlice shop/web-0: endpoints[20].addresses[0]: "
        'Invalid value: "10.1.0.300": must be a valid IPv4 address'
    ]


def test_standard_input_holding_a_list_is_read_from_its_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = json.dumps({"apiVersion": "v1", "kind": "List", "items": [_kubectl_slice(0, 2)]}, indent=2).encode()
    monkeypatch.setattr(sources, "read_bytes", lambda file, problems: b"\n " + raw)
    (doc,) = sources.read_file(sources.STDIN, [])
    assert type(doc.locate) is json_list.BytesLocator
    assert doc.line == 2  # the "{" after a blank line
    assert doc.items is not None and doc.items[0][1] == 6  # "{", apiVersion, kind, "items": [, then the item
    assert doc.items[0][2](("endpoints", 1, "nodeName")) == 37  # counted by hand in the text


def test_an_endpoints_node_name_is_the_string_of_the_node_read_before_it(tmp_path: Path) -> None:
    """A slice read after the Nodes shares their name strings (equal either way; shared, the sets of node
    names that look up every endpoint compare pointers); a slice read before them keeps its own."""
    entries = [{"addresses": [f"10.1.0.{i}"], "nodeName": name} for i, name in enumerate(["node-a", "node-b", "gone"])]
    for nodes_first in (True, False):
        items = [*_NODES, _SERVICE, _slice("web-1", entries)]
        if not nodes_first:
            items = [items[-1], *items[:-1]]
        path = tmp_path / "list.json"
        path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=1))
        loaded = load_manifests([str(path)])
        node_of = {node.name: node.name for node in loaded.nodes}
        columns = loaded.services[0].endpoints
        assert type(columns) is EndpointColumns and columns.node_names == ("node-a", "node-b", "gone")
        shared = [name is node_of.get(name) for name in columns.node_names]
        assert shared == ([True, True, False] if nodes_first else [False, False, False])


def test_an_empty_node_name_in_a_typed_slice_is_read_as_the_careful_loop_reads_it(tmp_path: Path) -> None:
    """msgspec accepts "" as a nodeName; the column check sends the slice to the careful loop, which reports
    it where it is, as it does without msgspec."""
    odd = _kubectl_slice(0, 30)
    odd["endpoints"][7]["nodeName"] = ""
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps({"apiVersion": "v1", "items": [*_NODES, _SERVICE, odd], "kind": "List"}, indent=4))
    fast = _load(path)
    with pytest.MonkeyPatch.context() as monkeypatch:
        _careful(monkeypatch)
        assert fast == _load(path)
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if '"nodeName": ""' in text)
    assert fast == [
        f'{path}:{line}: EndpointSlice shop/web-0: endpoints[7].nodeName: Invalid value: "": must be a non-empty string'
    ]
