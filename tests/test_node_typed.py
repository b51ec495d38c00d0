"""A Node of a JSON List decoded typed (``kverify.load.node_structs``) and read from its structs
(``kverify.load.node_typed``) gives what ``node_from`` gives for the dicts the json module makes of it:
the same Node, problems, warnings and lines, on generated Nodes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kverify.errors import InputError, Problem
from kverify.load import load_manifests, sources
from kverify.load.fields import Ctx
from kverify.load.kinds import node_from

pytest.importorskip("msgspec")
import msgspec

from kverify.load.node_structs import TypedNode, decode_node
from kverify.load.node_typed import typed_node
from kverify.load.typed_fields import TypedFields

_ODD = st.sampled_from([None, "", 7, True, [], {}, "x", "10.0.0.300", " 10.64.0.0/24 "])


def _field(plain: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a plain value (so that whole Nodes are often plain), sometimes anything."""
    return st.integers(0, 12).flatmap(lambda roll: _ODD if roll == 0 else plain)


_ADDRESS = st.fixed_dictionaries(
    {
        "type": _field(st.sampled_from(["InternalIP", "ExternalIP", "Hostname", "InternalDNS"])),
        "address": _field(st.sampled_from(["10.0.0.1", "10.0.0.2", "fd00::1", "node-a.example", "203.0.113.9"])),
    }
)
_LABELS = st.dictionaries(
    st.sampled_from(["topology.kubernetes.io/zone", "kubernetes.io/hostname", "node-role.kubernetes.io/worker"]),
    _field(st.sampled_from(["zone-a", "node-a", ""])),
    max_size=3,
)
_NODES = st.fixed_dictionaries(
    {"apiVersion": st.just("v1"), "kind": st.just("Node")},
    optional={
        "metadata": st.fixed_dictionaries(
            {"name": st.just("node-a")},
            optional={"labels": _field(_LABELS), "deletionTimestamp": st.just("2026-11-30T00:00:00Z")},
        ),
        "spec": _field(
            st.fixed_dictionaries(
                {},
                optional={
                    "podCIDR": _field(st.sampled_from(["10.64.0.0/24", "fd00:64::/64"])),
                    "podCIDRs": _field(st.lists(_field(st.sampled_from(["10.64.0.0/24", "fd00:64::/64"])), max_size=2)),
                    "taints": st.sampled_from(
                        [[], [{"key": "ToBeDeletedByClusterAutoscaler", "effect": "NoSchedule"}], [{"key": "x"}]]
                    ),
                    "providerID": st.just("aws:///zone-a/i-1"),
                },
            )
        ),
        "status": _field(
            st.fixed_dictionaries(
                {},
                optional={
                    "addresses": _field(st.lists(_field(_ADDRESS), max_size=3)),
                    "images": st.just([{"names": ["registry/app:1"], "sizeBytes": 123}]),
                    "nodeInfo": st.just({"kubeletVersion": "v1.33.1"}),
                },
            )
        ),
    },
)


def _careful(node: dict[str, Any]) -> tuple[object, list[Problem], list[Problem]]:
    problems: list[Problem] = []
    warnings: list[Problem] = []
    result = node_from(Ctx("nodes.json", lambda path: 1, "Node node-a", problems, warnings), node, "node-a")
    return result, problems, warnings


@settings(max_examples=1000, deadline=None)
@given(node=_NODES)
def test_the_typed_reader_returns_the_node_node_from_returns(node: dict[str, Any]) -> None:
    """Whatever the typed reader reads, node_from reads into an equal Node, with no problem or warning; and
    a Node node_from reads without one, with no taints, fits the structs and is read typed."""
    if type(node.get("metadata")) is not dict:
        return  # no name: the generic checks of every object stop before node_from
    try:
        decoded: TypedNode | None = decode_node(json.dumps(node).encode())
    except msgspec.DecodeError:
        decoded = None
    typed = typed_node(decoded, "node-a", node["metadata"]) if decoded is not None else None
    careful, problems, warnings = _careful(node)
    if typed is not None:
        assert not problems and not warnings
        assert typed == careful
        assert repr(typed) == repr(careful) and hash(typed) == hash(careful)  # built without Node's __init__
    tainted = type(node.get("spec")) is dict and node["spec"].get("taints")
    if careful is not None and not problems and not warnings and not tainted:
        assert typed is not None


def _outcome(path: Path) -> object:
    try:
        loaded = load_manifests([path])
    except InputError as error:
        return [str(p) for p in error.problems]
    return repr(loaded.nodes), [str(w) for w in loaded.warnings], loaded.skipped, dict(loaded.source_lines)


@settings(max_examples=300, deadline=None)
@given(nodes=st.lists(_NODES, min_size=1, max_size=3), indent=st.sampled_from([None, 1, 4]))
def test_loading_typed_nodes_gives_node_froms_nodes_errors_and_lines(
    tmp_path_factory: pytest.TempPathFactory, nodes: list[dict[str, Any]], indent: int | None
) -> None:
    """A List of generated Nodes (and a slice naming one) loads alike read typed and read by the json
    module: Nodes, warnings, errors and their lines."""
    for i, node in enumerate(nodes):
        if type(node.get("metadata")) is dict:
            node["metadata"]["name"] = f"node-{i}"
    entries = [{"addresses": ["10.1.0.1"], "nodeName": "node-0"}]
    a_slice = {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "addressType": "IPv4",
        "metadata": {"name": "web-1", "namespace": "shop", "labels": {"kubernetes.io/service-name": "web"}},
        "endpoints": entries,
    }
    path = tmp_path_factory.mktemp("typed") / "nodes.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [*nodes, a_slice]}, indent=indent))
    typed = _outcome(path)
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(sources, "_read_list", None)  # the json module's dicts
        assert _outcome(path) == typed


def _kubectl_node(name: str) -> dict[str, Any]:
    """A Node as ``kubectl get -o json`` prints it (shortened)."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {"kubernetes.io/hostname": name, "topology.kubernetes.io/zone": "zone-a"},
            "annotations": {"node.alpha.kubernetes.io/ttl": "0"},
        },
        "spec": {"podCIDR": "10.64.1.0/24", "podCIDRs": ["10.64.1.0/24"], "providerID": f"kind://docker/kind/{name}"},
        "status": {
            "addresses": [{"address": "172.18.0.2", "type": "InternalIP"}, {"address": name, "type": "Hostname"}],
            "conditions": [{"type": "Ready", "status": "True"}],
            "images": [{"names": ["registry.k8s.io/pause:3.10"], "sizeBytes": 320368}],
            "nodeInfo": {"kubeletVersion": "v1.33.1"},
        },
    }


@pytest.mark.parametrize("kind", [None, "node", "Node"])
def test_a_kubectl_node_is_decoded_typed_and_anything_else_as_dicts(tmp_path: Path, kind: str | None) -> None:
    """A snapshot's Node takes the typed path; an element whose kind is not ``Node`` does not."""
    node = _kubectl_node("kind-worker")
    if kind is None:
        del node["kind"]
    else:
        node["kind"] = kind
    path = tmp_path / "nodes.json"
    path.write_text(json.dumps({"apiVersion": "v1", "items": [node], "kind": "List"}, indent=4))
    (doc,) = sources.read_file(str(path), [], typed_slices=True)
    (item,) = doc.data["items"]
    assert (type(item["spec"]) is TypedFields) is (kind == "Node")
    typed = _outcome(path)
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(sources, "_read_list", None)
        assert _outcome(path) == typed
    if kind == "Node":
        assert item["spec"].as_dict() == json.loads(path.read_text())["items"][0]
        (loaded,) = load_manifests([path]).nodes
        assert (loaded.addresses, loaded.zone, loaded.pod_cidrs) == (("172.18.0.2",), "zone-a", ("10.64.1.0/24",))


def test_typed_nodes_built_together_keep_their_order_around_nodes_node_from_reads(tmp_path: Path) -> None:
    """Typed Nodes are built at once (``_Assembly._build_nodes``), and a Node ``node_from`` reads (a tainted
    one) between them keeps its place, as in a List read by the json module, over two files."""
    tainted = _kubectl_node("node-b")
    tainted["spec"]["taints"] = [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]
    first = tmp_path / "a.json"
    first.write_text(json.dumps({"kind": "List", "items": [_kubectl_node("node-a"), tainted, _kubectl_node("node-c")]}))
    second = tmp_path / "b.json"
    second.write_text(json.dumps({"kind": "List", "items": [_kubectl_node("node-d")]}))
    typed = load_manifests([first, second]).nodes
    assert [n.name for n in typed] == ["node-a", "node-b", "node-c", "node-d"]
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(sources, "_read_list", None)  # the json module's dicts
        assert load_manifests([first, second]).nodes == typed
