"""The decoder of a List's EndpointSlices that gives each ``nodeName`` as its Node's own string."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kverify.errors import InputError
from kverify.load import kinds, load_manifests, sources
from kverify.load.slice_columns import TypedEntries

# msgspec is a dependency; an environment made before it was (`pip install -e .` again fixes it)
# reads every file the careful way, which the other tests cover.
msgspec = pytest.importorskip("msgspec")
from kverify.load import json_list, slice_typed  # noqa: E402 - imports msgspec
from kverify.load.slice_typed import SliceDecoder, TypedSlice  # noqa: E402 - imports msgspec


def _node(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}


def _slice(*nodes: str) -> bytes:
    entries = [{"addresses": [f"10.1.0.{i}"], "nodeName": node} for i, node in enumerate(nodes)]
    return json.dumps({"kind": "EndpointSlice", "addressType": "IPv4", "endpoints": entries}).encode()


def _node_names(found: TypedSlice) -> list[str | None]:
    assert found.endpoints is not None
    return [entry.nodeName for entry in found.endpoints]


def _seen(decoder: SliceDecoder, *names: str) -> list[str]:
    """Each Node as the json module gives it, noted by the decoder; the name strings it holds."""
    nodes = [json.loads(json.dumps(_node(name))) for name in names]
    for node in nodes:
        decoder.saw(node)
    return [node["metadata"]["name"] for node in nodes]


def test_a_slice_after_its_nodes_holds_their_strings_and_one_naming_another_node_decodes_plain() -> None:
    decoder = SliceDecoder()
    a, b = _seen(decoder, "node-a", "node-b")
    first = decoder.decode(_slice("node-a"))  # the first slice decodes plain and builds the type
    assert not first.nodes_known
    known = decoder.decode(_slice("node-b", "node-a"))
    assert known.nodes_known and isinstance(known, TypedSlice)
    names = _node_names(known)
    assert names == ["node-b", "node-a"] and names[0] is b and names[1] is a
    other = decoder.decode(_slice("node-a", "node-gone"))  # equal values, plain strings
    assert not other.nodes_known and _node_names(other) == ["node-a", "node-gone"]
    (c,) = _seen(decoder, "node-gone")
    decoder.decode(_slice("node-gone"))  # a Node more: the type is rebuilt, within the budget
    again = decoder.decode(_slice("node-gone", "node-a"))
    assert again.nodes_known and _node_names(again)[0] is c


def test_a_null_or_absent_node_name_is_none_in_a_slice_decoded_with_its_nodes_strings() -> None:
    decoder = SliceDecoder()
    (a,) = _seen(decoder, "node-a")
    decoder.decode(_slice("node-a"))  # builds the type
    entries = [
        {"addresses": ["10.1.0.1"], "nodeName": None},
        {"addresses": ["10.1.0.2"]},
        {"addresses": ["10.1.0.3"], "nodeName": "node-a"},
    ]
    known = decoder.decode(json.dumps({"kind": "EndpointSlice", "addressType": "IPv4", "endpoints": entries}).encode())
    assert known.nodes_known
    names = _node_names(known)
    assert names[:2] == [None, None] and names[2] is a
    with pytest.raises(msgspec.DecodeError):  # no Node is named "", nor is it plain: the careful loop says why
        decoder.decode(_slice(""))


def test_what_is_no_plain_slice_is_still_refused() -> None:
    decoder = SliceDecoder()
    _seen(decoder, "node-a")
    decoder.decode(_slice("node-a"))
    with pytest.raises(msgspec.DecodeError):
        decoder.decode(json.dumps(_node("node-b")).encode())
    with pytest.raises(msgspec.DecodeError):  # an empty nodeName is the careful loop's to report
        decoder.decode(_slice(""))


def test_nodes_and_slices_interleaved_build_names_linear_in_the_elements() -> None:
    """Every slice names a Node just seen: rebuilding the type for each would build n^2/2 names."""
    decoder = SliceDecoder()
    n = 400
    for i in range(n):
        _seen(decoder, f"node-{i}")
        decoder.decode(_slice(f"node-{i}"))
    assert decoder._built <= 2 * n  # the bound is the point
    assert decoder._built >= n // 2  # and the type was still rebuilt as Nodes came


def test_a_second_file_with_the_same_nodes_gets_its_own_nodes_strings() -> None:
    """typing caches a Literal by its values: the second decoder must not hand out the first's strings."""
    for _ in range(2):
        decoder = SliceDecoder()
        (a,) = _seen(decoder, "node-a")
        decoder.decode(_slice("node-a"))
        names = _node_names(decoder.decode(_slice("node-a")))
        assert names == ["node-a"] and names[0] is a


def test_an_element_refused_outside_the_entries_is_not_decoded_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    """Most elements of a List are no slice: both types refuse them alike, and an exception costs ~2 us."""
    decoder = SliceDecoder()
    _seen(decoder, "node-a")
    decoder.decode(_slice("node-a"))  # the type with the Node is built
    plain: list[bytes] = []
    decode_plain = slice_typed.decode_slice

    def counted(source: bytes) -> TypedSlice:
        plain.append(source)
        return decode_plain(source)

    monkeypatch.setattr(slice_typed, "decode_slice", counted)
    with pytest.raises(msgspec.DecodeError):
        decoder.decode(json.dumps({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}}).encode())
    assert plain == []
    decoder.decode(_slice("node-a", "node-new"))  # refused in an entry: the plain type decides
    assert len(plain) == 1


def _snapshot(tmp_path: Path, nodes: list[dict[str, Any]], *slice_nodes: str) -> Path:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"clusterIP": "10.96.0.10", "ports": [{"port": 80}], "selector": {"app": "web"}},
    }
    # Two slices: the first of a file decodes with plain strings (the Node names' type is built after it).
    slices = [
        {
            "addressType": "IPv4",
            "apiVersion": "discovery.k8s.io/v1",
            "endpoints": [
                {"addresses": [f"10.1.{k}.{i}"], "conditions": {"ready": True}, "nodeName": node}
                for i, node in enumerate(slice_nodes)
            ],
            "kind": "EndpointSlice",
            "metadata": {"labels": {"kubernetes.io/service-name": "web"}, "name": f"web-{k}", "namespace": "shop"},
            "ports": [{"port": 8080, "protocol": "TCP"}],
        }
        for k in range(2)
    ]
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [*nodes, service, *slices]}))
    return path


def _outcome(path: Path) -> tuple[list[str], list[str]]:
    """(problems, warnings) of loading ``path``."""
    try:
        loaded = load_manifests([str(path)])
    except InputError as error:
        return [str(p) for p in error.problems], []
    return [], [str(w) for w in loaded.warnings]


def _careful_outcome(path: Path) -> tuple[list[str], list[str]]:
    """The same, read by the json module and the careful loop alone."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(sources, "_read_list", None)
        monkeypatch.setattr(kinds, "plain_columns", lambda *args: None)
        return _outcome(path)


def test_a_slice_decoded_with_its_nodes_names_skips_the_missing_node_check_with_the_same_outcome(
    tmp_path: Path,
) -> None:
    nodes = [_node("node-a"), _node("node-b")]
    # Every node known: recorded so, and no warning.
    path = _snapshot(tmp_path, nodes, "node-a", "node-b")
    entries = sources.read_file(str(path), [], typed_slices=True)[0].data["items"][-1]["endpoints"]
    assert type(entries) is TypedEntries and entries.nodes_known
    assert _outcome(path) == _careful_outcome(path) == ([], [])
    # A node missing: the slice is not recorded so, and the warning is given.
    path = _snapshot(tmp_path, nodes, "node-a", "node-gone")
    problems, warnings = _outcome(path)
    assert (problems, warnings) == _careful_outcome(path)
    assert len(warnings) == 2 and all('node "node-gone" not found in the manifests' in w for w in warnings)
    # A Node the load refuses: its problem stops the load, warnings or not.
    broken = {**_node("node-b"), "spec": {"podCIDR": "10.0.0.0/99"}}
    path = _snapshot(tmp_path, [_node("node-a"), broken], "node-a", "node-b")
    problems, warnings = _outcome(path)
    assert (problems, warnings) == _careful_outcome(path)
    assert len(problems) == 1 and "spec.podCIDR" in problems[0]


def test_a_kubectl_ordered_slice_is_not_offered_to_the_service_type(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kubectl writes keys in alphabetical order: a slice's kind comes after its endpoints, which the
    Service's type would skip over, entry by entry, before refusing the kind."""
    path = _snapshot(tmp_path, [_node("node-a")], "node-a", "node-a")
    path.write_text(json.dumps(json.loads(path.read_text()), sort_keys=True, indent=4))
    offered: list[bytes] = []
    decode_service = json_list.decode_service

    def counted(source: bytes) -> Any:
        offered.append(bytes(source))
        return decode_service(source)

    monkeypatch.setattr(json_list, "decode_service", counted)
    (doc,) = sources.read_file(str(path), [], typed_slices=True)
    kinds_read = [item.get("kind") for item in doc.data["items"]]
    assert kinds_read == ["Node", "Service", "EndpointSlice", "EndpointSlice"]
    assert [type(item.get("endpoints")) for item in doc.data["items"][2:]] == [TypedEntries, TypedEntries]
    # The Service only: an element's first kind picks the one typed decoder tried (a Node goes to the Node type).
    assert len(offered) == 1 and not any(b"EndpointSlice" in source for source in offered)
