"""Endpoints held as columns (kverify.model.endpoint_columns) are the endpoints they describe: as a
sequence, in the endpoint index, in routing, and when loaded from a manifest."""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kverify.concrete.endpoint_set import EndpointSet
from kverify.concrete.index import _serving
from kverify.concrete.route import route
from kverify.errors import InputError
from kverify.load import load_manifests
from kverify.load.fields import validators_off
from kverify.model import Cluster, Endpoint, EndpointPort, Flow
from kverify.model.endpoint_columns import EndpointColumns
from kverify.testing.strategies import clusters_and_flows

HTTP = (EndpointPort(name="http", port=8080),)
DNS = (EndpointPort(name="dns", port=53),)


def _columns_of(endpoints: tuple[Endpoint, ...]) -> EndpointColumns:
    """The same endpoints as columns (they must have no hints), built with the validators on."""
    assert not any(e.zone_hints or e.node_hints for e in endpoints)
    return EndpointColumns(
        ips=[e.ip for e in endpoints],
        node_names=[e.node_name for e in endpoints],
        ready=[e.ready for e in endpoints],
        serving=[e.serving for e in endpoints],
        terminating=[e.terminating for e in endpoints],
        pods=[e.pod for e in endpoints],
        ports=[e.ports for e in endpoints],
    )


_ENDPOINTS = (
    Endpoint(ip="10.0.0.1", node_name="a", pod="shop/web-1", ports=HTTP),
    Endpoint(ip="10.0.0.2", node_name=None, ready=False, serving=True, terminating=True, ports=HTTP),
    Endpoint(ip="10.0.0.3", node_name="b", ready=False, serving=False, terminating=False, ports=DNS),
    Endpoint(ip="fd00::4", node_name="b", pod="other/web-4"),
)


def test_columns_are_a_sequence_of_the_endpoints_they_describe() -> None:
    columns = _columns_of(_ENDPOINTS)
    assert len(columns) == 4
    assert tuple(columns) == _ENDPOINTS
    assert [columns[i] for i in range(4)] == list(_ENDPOINTS)
    assert columns[-1] == _ENDPOINTS[-1]
    assert columns[1:3] == _ENDPOINTS[1:3]
    assert _ENDPOINTS[2] in columns
    assert columns.index(_ENDPOINTS[3]) == 3
    assert columns.pods == ("shop/web-1", None, None, "other/web-4")
    assert columns.ips == ("10.0.0.1", "10.0.0.2", "10.0.0.3", "fd00::4")


def test_columns_equal_and_hash_as_the_tuple_of_their_endpoints() -> None:
    columns = _columns_of(_ENDPOINTS)
    assert columns == _ENDPOINTS and _ENDPOINTS == columns  # noqa: SIM300 - both directions on purpose
    assert columns == _columns_of(_ENDPOINTS)
    assert hash(columns) == hash(_ENDPOINTS)
    assert columns != _ENDPOINTS[:3] and columns != _columns_of(_ENDPOINTS[:3])
    assert columns != list(_ENDPOINTS)  # as a tuple is not a list
    assert repr(columns) == repr(_ENDPOINTS)
    other = attrs.evolve(_ENDPOINTS[0], ready=False)
    assert columns != _columns_of((other, *_ENDPOINTS[1:]))


def test_a_service_holds_columns_as_they_are_and_equals_the_same_service_with_a_tuple() -> None:
    from kverify.model import Service

    columns = _columns_of(_ENDPOINTS)
    service = Service(namespace="shop", name="web", endpoints=columns)
    assert service.endpoints is columns
    assert service == Service(namespace="shop", name="web", endpoints=_ENDPOINTS)
    assert Service(namespace="shop", name="web", endpoints=list(_ENDPOINTS)).endpoints == _ENDPOINTS


def test_columns_select_join_and_pickle_keep_every_field() -> None:
    columns = _columns_of(_ENDPOINTS)
    assert columns.select([True, False, True, False]) == (_ENDPOINTS[0], _ENDPOINTS[2])
    assert EndpointColumns.join([columns.select([1, 1, 0, 0]), columns.select([0, 0, 1, 1])]) == columns
    assert pickle.loads(pickle.dumps(columns)) == columns
    with pytest.raises(ValueError, match="3 flags for 4 endpoints"):
        columns.select([True, True, True])


def _checked_of(endpoints: tuple[Endpoint, ...], made: list[str]) -> EndpointColumns:
    """The same endpoints (sharing one ports tuple) as the loader's checked columns, whose serving,
    terminating and Pod columns are made on first use; ``made`` names each column made, when it is."""

    def column(name: str) -> Callable[[], list[Any]]:
        def make() -> list[Any]:
            made.append(name)
            return [getattr(e, name) for e in endpoints]

        return make

    return EndpointColumns.checked(
        ips=[e.ip for e in endpoints],
        node_names=[e.node_name for e in endpoints],
        ready=[e.ready for e in endpoints],
        serving=column("serving"),
        terminating=column("terminating"),
        pods=column("pod"),
        ports=endpoints[0].ports,
    )


def test_checked_columns_make_their_lazy_columns_once_on_first_use_even_joined() -> None:
    first, second = _ENDPOINTS[:2], tuple(attrs.evolve(e, ports=HTTP) for e in _ENDPOINTS[2:])
    made: list[str] = []
    lazy_first, lazy_second = _checked_of(first, made), _checked_of(second, made)
    joined = EndpointColumns.join([lazy_first, lazy_second])
    assert made == [] and joined.ips == tuple(e.ip for e in (*first, *second))
    assert joined.pods == ("shop/web-1", None, None, "other/web-4")
    assert made == ["pod", "pod"] and joined.pods is joined.pods  # made once, then kept
    assert lazy_first.pods == ("shop/web-1", None) and made == ["pod", "pod"]  # the parts keep theirs
    for name in ("serving", "terminating"):
        assert getattr(joined, name) == tuple(getattr(e, name) for e in (*first, *second))
        assert made.count(name) == 2 and getattr(joined, name) is getattr(joined, name)
    assert lazy_second.terminating == tuple(e.terminating for e in second) and len(made) == 6
    assert tuple(joined) == (*first, *second) and joined == _columns_of((*first, *second))
    made.clear()
    assert pickle.loads(pickle.dumps(_checked_of(first, made))) == first
    assert sorted(made) == ["pod", "serving", "terminating"]
    # A part whose column is made already is joined as it is; the others' are made when read.
    made.clear()
    lazy_first, lazy_second = _checked_of(first, made), _checked_of(second, made)
    assert lazy_first.serving == tuple(e.serving for e in first) and made == ["serving"]
    rejoined = EndpointColumns.join([lazy_first, lazy_second])
    assert rejoined.serving == tuple(e.serving for e in (*first, *second)) and made == ["serving", "serving"]
    with pytest.raises(AttributeError, match="read-only"):
        joined.pods = ()  # type: ignore[misc]
    with pytest.raises(AttributeError, match="read-only"):
        joined.serving = ()  # type: ignore[misc]


def test_columns_are_read_only_and_validated_as_endpoints_are() -> None:
    columns = _columns_of(_ENDPOINTS)
    with pytest.raises(AttributeError, match="read-only"):
        columns.ips = ()  # type: ignore[misc]
    good = {
        "ips": ["10.0.0.1"],
        "node_names": ["a"],
        "ready": [True],
        "serving": [True],
        "terminating": [False],
        "pods": [None],
        "ports": [HTTP],
    }
    for field, bad, message in (
        ("ips", ["10.0.0.256"], "must be a valid IP address"),
        ("node_names", [""], "node_name"),
        ("ready", [1], "ready"),
    ):
        with pytest.raises((ValueError, TypeError), match=message):
            EndpointColumns(**{**good, field: bad})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unequal lengths"):
        EndpointColumns(**{**good, "pods": [None, None]})  # type: ignore[arg-type]
    with validators_off():  # the loader's way: every value was checked as it was read
        assert EndpointColumns(**{**good, "ips": ["10.0.0.256"]}).ips == ("10.0.0.256",)  # type: ignore[arg-type]
    assert EndpointColumns(**{**good, "ports": [[HTTP[0]]]})[0].ports == HTTP  # type: ignore[arg-type]


@pytest.mark.parametrize("port_name", [None, "http", "dns", "none"])
@pytest.mark.parametrize("family", [None, 4, 6])
def test_the_endpoints_serving_a_port_are_the_same_from_columns(port_name: str | None, family: int | None) -> None:
    columns = _columns_of(_ENDPOINTS)
    assert tuple(_serving(columns, port_name, family)) == tuple(_serving(_ENDPOINTS, port_name, family))


@settings(max_examples=60)
@given(
    picks=st.lists(st.sampled_from([0, 1, 2, 3]), min_size=1, max_size=8),
    ports=st.sampled_from([HTTP, DNS, (), (*HTTP, *DNS)]),
    shared=st.booleans(),
    port_name=st.sampled_from([None, "http", "dns", "none"]),
    family=st.sampled_from([None, 4, 6]),
)
def test_endpoints_that_share_one_ports_tuple_serve_a_port_as_the_tuple_of_them_does(
    picks: list[int], ports: tuple[EndpointPort, ...], shared: bool, port_name: str | None, family: int | None
) -> None:
    """The loader gives slices with the same ports one tuple (shared), or one each (equal, not the same
    object): columns answer which endpoints serve a port as the Endpoint objects do either way."""
    endpoints = tuple(
        attrs.evolve(_ENDPOINTS[i], ip=f"{_ENDPOINTS[i].ip}{k}" if ":" in _ENDPOINTS[i].ip else f"10.0.{k}.{i}")
        for k, i in enumerate(picks)
    )
    columns = _columns_of(endpoints)
    each = [ports if shared else tuple(list(ports)) for _ in endpoints]
    columns = EndpointColumns(
        ips=columns.ips,
        node_names=columns.node_names,
        ready=columns.ready,
        serving=columns.serving,
        terminating=columns.terminating,
        pods=columns.pods,
        ports=each,
    )
    objects = tuple(attrs.evolve(e, ports=p) for e, p in zip(endpoints, each, strict=True))
    expected = tuple(_serving(objects, port_name, family))
    assert tuple(_serving(columns, port_name, family)) == expected


def _alike_sets(a: EndpointSet, b: EndpointSet, n_nodes: int, zones: int) -> None:
    assert a.nodes == b.nodes
    assert a._base == b._base
    assert a.by_node == b.by_node
    assert a.zone_hints == b.zone_hints and a.node_hints == b.node_hints
    assert a.full_views("10.0.0.1") == b.full_views("10.0.0.1")
    for ip in {*a._ips, "192.0.2.1"}:
        assert a.by_ip.get(ip) == b.by_ip.get(ip)
    for node in range(-1, n_nodes):
        for zone in range(-1, zones):
            for client in ("192.0.2.1", *a._ips[:2]):
                assert a.classes(node, zone, client).keys == b.classes(node, zone, client).keys


def test_an_endpoint_set_from_columns_is_the_one_from_the_tuple() -> None:
    endpoints = (*_ENDPOINTS[:3], *_ENDPOINTS[:2])  # an address twice: the loader reports it, tests meet it
    position = {"a": 0, "b": 1}
    from_columns = EndpointSet(_columns_of(endpoints), position, {"z": 0}, 2)
    from_tuple = EndpointSet(endpoints, position, {"z": 0}, 2)
    _alike_sets(from_columns, from_tuple, 2, 1)


@settings(max_examples=80)
@given(
    kinds=st.lists(st.sampled_from([0, 1, 2]), min_size=1, max_size=7),
    one_kind=st.sampled_from([None, 0, 1, 2]),
    nodes=st.lists(st.sampled_from(["a", "b", None, "gone"]), min_size=7, max_size=7),
)
def test_an_endpoint_set_of_one_kind_from_columns_is_the_one_from_the_tuple(
    kinds: list[int], one_kind: int | None, nodes: list[str | None]
) -> None:
    """Columns whose endpoints are all of one kind (ready, serving, terminating alike: a snapshot's usual
    case) are indexed by one shared tuple, not one zipped per endpoint: the same indexes and classes as
    the Endpoint objects give, whichever kind it is, and for a mix of kinds too."""
    conditions = [(True, True, False), (False, True, True), (False, False, False)]
    endpoints = tuple(
        Endpoint(
            ip=f"10.0.0.{i}",
            node_name=nodes[i],
            ready=conditions[kind if one_kind is None else one_kind][0],
            serving=conditions[kind if one_kind is None else one_kind][1],
            terminating=conditions[kind if one_kind is None else one_kind][2],
            ports=HTTP,
        )
        for i, kind in enumerate(kinds)
    )
    position = {"a": 0, "b": 1}
    from_columns = EndpointSet(_columns_of(endpoints), position, {"z": 0}, 2)
    from_tuple = EndpointSet(endpoints, position, {"z": 0}, 2)
    _alike_sets(from_columns, from_tuple, 2, 1)
    assert from_columns.by_base == from_tuple.by_base
    assert [from_columns.is_ready(i) for i in range(len(endpoints))] == [e.ready for e in endpoints]


def _with_columns(cluster: Cluster) -> Cluster:
    """The cluster with each Service's endpoints as columns, where they have no hints."""
    services = tuple(
        s
        if any(e.zone_hints or e.node_hints for e in s.endpoints)
        else attrs.evolve(s, endpoints=_columns_of(tuple(s.endpoints)))
        for s in cluster.services
    )
    return attrs.evolve(cluster, services=services)


@settings(max_examples=60)
@given(pair=clusters_and_flows(max_nodes=3, max_endpoints=5, hints=False))
def test_routing_over_columns_gives_the_outcomes_routing_over_tuples_gives(pair: tuple[Cluster, Flow]) -> None:
    cluster, flow = pair
    columnar = _with_columns(cluster)
    assert any(type(s.endpoints) is EndpointColumns for s in columnar.services) or not any(
        s.endpoints for s in cluster.services
    )
    assert route(columnar, flow) == route(cluster, flow)


# --- loading: the columnar path gives what the careful loop gives, errors and lines included -----


def _slice(name: str, entries: list[object], address_type: str = "IPv4") -> dict[str, object]:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": name, "namespace": "shop", "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": address_type,
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": entries,
    }


_SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {"clusterIP": "10.96.0.10", "ports": [{"name": "http", "port": 80, "targetPort": 8080}]},
}
_NODES = [
    {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name},
        "status": {"addresses": [{"type": "InternalIP", "address": f"172.16.0.{i + 1}"}]},
    }
    for i, name in enumerate(("node-a", "node-b"))
]


def loaded_outcome(path: Path) -> object:
    """What load_manifests gives for ``path``: its Services' endpoints, warnings, skipped objects and
    lines, or its problems, as text."""
    try:
        loaded = load_manifests([path])
    except InputError as error:
        return [str(p) for p in error.problems]
    return (
        [(s.key, tuple(s.endpoints)) for s in loaded.services],
        [str(w) for w in loaded.warnings],
        loaded.skipped,
        dict(loaded.source_lines),
    )


def _load_both_ways(tmp_path: Path, items: list[object], monkeypatch: pytest.MonkeyPatch) -> tuple[object, object]:
    """What load_manifests gives (its value or its problems, as text), with columns and without."""
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=1))

    with_columns = loaded_outcome(path)
    from kverify.load import kinds

    monkeypatch.setattr(kinds, "plain_columns", lambda *args: None)
    careful = loaded_outcome(path)
    return with_columns, careful


_IPS = st.sampled_from(["10.1.0.1", "10.1.0.2", "10.1.0.3", "192.168.0.255", "0.0.0.0"])
_ENTRY = st.fixed_dictionaries(
    {"addresses": _IPS.map(lambda ip: [ip])},
    optional={
        "conditions": st.fixed_dictionaries(
            {}, optional={k: st.sampled_from([True, False, None]) for k in ("ready", "serving", "terminating")}
        ),
        "nodeName": st.sampled_from(["node-a", "node-b", "node-gone"]),
        "targetRef": st.fixed_dictionaries(
            {"kind": st.sampled_from(["Pod", "Node"]), "name": st.sampled_from(["web-1", "web-2"])},
            optional={"namespace": st.sampled_from(["shop", "other", ""])},
        ),
        "zone": st.just("zone-a"),
    },
)
_ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-1, 1),
    st.sampled_from(["", "x", "10.1.0.01", "1.2.3.4\n", "::1"]),
    st.just([]),
    st.just({}),
    st.sampled_from([["10.1.0.300"], ["10.1.0.4", "10.1.0.5"], [7], ["::1"]]),
    st.fixed_dictionaries({"ready": st.sampled_from([1, "true", None, 0.0])}),
    st.fixed_dictionaries({"name": st.sampled_from([None, 7, "web-9"]), "kind": st.just("Pod")}),
    st.just({"forZones": [{"name": "zone-a"}]}),
)


@st.composite
def _slices(draw: st.DrawFn) -> list[object]:
    """A slice's entries: mostly of one layout (as a program writes them), some odd ones anywhere."""
    first = draw(_ENTRY)
    entries: list[object] = [first]
    uniform, same_conditions = draw(st.booleans()), draw(st.booleans())
    for _ in range(draw(st.integers(0, 6))):
        entry = draw(_ENTRY)
        if uniform or draw(st.booleans()):  # the first entry's layout: its keys, in its order
            entry = {key: entry.get(key, first[key]) for key in first}
        if same_conditions and "conditions" in first and "conditions" in entry:  # all ready, say
            entry["conditions"] = dict(first["conditions"])
        entries.append(entry)
    for _ in range(draw(st.integers(0, 2))):
        i = draw(st.integers(0, len(entries) - 1))
        field = draw(st.sampled_from(["addresses", "conditions", "nodeName", "targetRef", "hints", None]))
        value = draw(_ODD_VALUES)
        entry = entries[i]
        entries[i] = value if field is None or type(entry) is not dict else {**entry, field: value}
    return entries


@settings(max_examples=150, deadline=None)
@given(
    slices=st.lists(_slices(), min_size=1, max_size=3),
    orjson_installed=st.booleans(),
    inet_pton=st.booleans(),
    pods=st.booleans(),
)
def test_loading_with_columns_gives_the_careful_loops_values_errors_and_lines(
    tmp_path_factory: pytest.TempPathFactory,
    slices: list[list[object]],
    orjson_installed: bool,
    inet_pton: bool,
    pods: bool,
) -> None:
    """With orjson or without (the conditions' shortcut), with inet_pton or the regex (addresses),
    with Pod objects in the manifests or not (the unknown-Pod warnings)."""
    from kverify.load import slice_columns, sources

    tmp_path = tmp_path_factory.mktemp("columns")
    items = [*_NODES, _SERVICE, *(_slice(f"web-{i}", entries) for i, entries in enumerate(slices))]
    if pods:
        items.append({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": "shop"}})
    with pytest.MonkeyPatch.context() as monkeypatch:
        if not orjson_installed:
            monkeypatch.setattr(sources, "orjson", None)
        monkeypatch.setattr(slice_columns, "PTON_AGREES", inet_pton and slice_columns.PTON_AGREES)
        with_columns, careful = _load_both_ways(tmp_path, items, monkeypatch)
    assert with_columns == careful


def test_a_snapshot_shaped_slice_is_read_as_columns(tmp_path: Path) -> None:
    """What the EndpointSlice controller writes takes the columnar path (not only the careful loop)."""
    entries = [
        {
            "addresses": [f"10.1.{i // 256}.{i % 256}"],
            "conditions": {"ready": True, "serving": True, "terminating": False},
            "nodeName": "node-a" if i % 2 else "node-b",
            "targetRef": {"kind": "Pod", "namespace": "shop", "name": f"web-{i}", "uid": f"u-{i}"},
            "zone": "zone-a",
        }
        for i in range(300)
    ]
    entries[7]["conditions"] = {"ready": False, "serving": True, "terminating": True}
    path = tmp_path / "snapshot.json"
    items = [*_NODES, _SERVICE, _slice("web-0", entries), _slice("web-1", entries[:5])]
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=1))
    (service,) = load_manifests([path]).services
    assert type(service.endpoints) is EndpointColumns
    assert len(service.endpoints) == 305
    assert service.endpoints[7] == Endpoint(
        ip="10.1.0.7",
        node_name="node-a",
        ready=False,
        serving=True,
        terminating=True,
        pod="shop/web-7",
        ports=(EndpointPort(name="http", port=8080),),
    )
    assert service.endpoints.ready.count(False) == 1


@settings(max_examples=80)
@given(
    kinds=st.lists(st.sampled_from([0, 1, 2]), min_size=1, max_size=9),
    nodes=st.lists(st.sampled_from(["a", "b", "c", None]), min_size=9, max_size=9),
    order=st.permutations([-1, 0, 1, 2]),
    client=st.sampled_from(["192.0.2.1", "10.0.0.0", "10.0.0.1"]),
)
def test_classes_asked_node_after_node_are_those_a_fresh_set_gives(
    kinds: list[int], nodes: list[str | None], order: list[int], client: str
) -> None:
    """A node's classes are worked out once per kind of node (its zone and how many endpoints of each
    kind are on it) and reused for the next such node: asked node after node, in any order, each node
    gets the keys, views and members a set asked about that node alone gives."""
    conditions = [(True, True, False), (False, True, True), (False, False, False)]
    endpoints = tuple(
        Endpoint(
            ip=f"10.0.0.{i}",
            node_name=nodes[i],
            ready=conditions[kind][0],
            serving=conditions[kind][1],
            terminating=conditions[kind][2],
            ports=HTTP,
        )
        for i, kind in enumerate(kinds)
    )
    position = {"a": 0, "b": 1, "c": 2}
    shared = EndpointSet(_columns_of(endpoints), position, {}, 3)
    for node in order:  # -1: NO_NODE (a flow that bypasses nodes)
        fresh = EndpointSet(_columns_of(endpoints), position, {}, 3).classes(node, -1, client)
        reused = shared.classes(node, -1, client)
        assert reused.keys == fresh.keys and reused.views == fresh.views
        assert [reused.members(c) for c in range(len(reused.keys))] == [
            fresh.members(c) for c in range(len(fresh.keys))
        ]
