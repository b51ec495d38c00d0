"""The per-cluster index route() uses on big clusters: same answers, and no cluster kept alive."""

from __future__ import annotations

import gc
import weakref

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kverify.concrete import route
from kverify.concrete.index import _CACHE, index_of
from kverify.concrete.lb_exclusion import label_class
from kverify.load import load_manifests, to_cluster
from kverify.model import ClientKind, Cluster, Destination, Flow, Node, Service
from kverify.model.node_meta import EXCLUDE_FROM_LB_LABEL
from kverify.semantics.vocabulary import NO_ZONE, NodeView, Situation


def test_the_index_is_built_once_per_cluster_and_dropped_with_it() -> None:
    cluster = to_cluster(load_manifests(["examples/article/cluster.yaml"]))
    assert index_of(cluster) is index_of(cluster)
    assert index_of(cluster).node_position == {"node-a": 0, "node-b": 1, "node-c": 2}
    ref = weakref.ref(cluster)
    before = len(_CACHE)
    del cluster
    gc.collect()
    # Other clusters of this worker may be collected too: the entry for ours must be gone.
    assert ref() is None and len(_CACHE) <= before - 1


def test_an_equal_but_distinct_cluster_gets_the_same_outcomes() -> None:
    cluster = to_cluster(load_manifests(["examples/article/cluster.yaml"]))
    twin = attrs.evolve(cluster)
    flow = Flow(service="shop/web-cluster", client=ClientKind.POD, destination=Destination.CLUSTER_IP)
    assert twin is not cluster and route(twin, flow) == route(cluster, flow)
    fewer = attrs.evolve(cluster, nodes=cluster.nodes[:2])  # a changed cluster never sees a stale index
    assert {o.node for o in route(fewer, flow)} == {"node-a", "node-b"}


@given(
    st.lists(
        st.tuples(st.sampled_from(["default", "shop", "a-b"]), st.sampled_from(["web", "api", "x1", "db-0"])),
        max_size=8,
    )
)
def test_services_by_key_is_the_first_service_of_each_key_in_order(names: list[tuple[str, str]]) -> None:
    # Built from keys formatted at C level; a repeated key (bad input, reported by the loader) keeps the first.
    services = [
        Service(namespace=ns, name=name, cluster_ips=(f"10.96.0.{i + 1}",)) for i, (ns, name) in enumerate(names)
    ]
    cluster = Cluster(services=services)
    expected: dict[str, Service] = {}
    for s in services:
        expected.setdefault(s.key, s)
    found = cluster.services_by_key
    assert list(found) == list(expected)
    assert all(found[key] is s for key, s in expected.items())
    assert index_of(cluster).services_by_key is found  # one lookup per cluster, shared with the executable model
    assert all(cluster.service(key) is s for key, s in expected.items())


@pytest.mark.parametrize("version", [28, 30, 34], ids=["v1.28", "v1.30", "v1.34"])
def test_the_fields_of_the_cluster_alone_are_its_own_not_another_clusters(version: int) -> None:
    # The situation's proxy-wide fields are worked out once per cluster (ClusterIndex.flow_fields): a cluster
    # that differs only in its kube-proxy version gets its own gates, never those of a cluster routed before.
    from kverify.concrete.route import _flow_frame, _service

    base = to_cluster(load_manifests(["examples/article/cluster.yaml"]))
    flow = Flow(service="shop/web-cluster", client=ClientKind.POD, destination=Destination.CLUSTER_IP)
    route(base, flow)
    cluster = attrs.evolve(base, proxy=attrs.evolve(base.proxy, kubernetes_version=version))
    service = _service(cluster, flow)
    frame = _flow_frame(cluster, flow, service, service.ports[0], False)
    gates = cluster.proxy.gates
    assert frame.fields["k8s_minor"] == version
    assert frame.fields["gate_draining"] == gates["KubeProxyDrainingTerminatingNodes"]
    assert frame.fields["gate_terminating"] == gates["ProxyTerminatingEndpoints"]
    assert frame.ip_modes == gates["LoadBalancerIPMode"]
    assert frame.fields["nodes"] is index_of(cluster).node_views
    # Every situation field is either shared or the handling's own, never both.
    assert set(frame.own_names) == {f.name for f in attrs.fields(Situation)} - set(frame.fields)


_LB_LABELS = st.sampled_from(
    [
        (),
        (("node.kubernetes.io/exclude-from-external-load-balancers", "true"),),
        (("node.kubernetes.io/exclude-from-external-load-balancers", "False"),),
        (("team", "a"),),
    ]
)


@given(
    st.lists(st.tuples(st.sampled_from([None, "zone-a", "zone-b"]), st.booleans(), _LB_LABELS), min_size=1, max_size=8)
)
def test_node_views_are_each_nodes_own_and_grouped_in_node_order(nodes: list[tuple[str | None, bool, tuple]]) -> None:
    cluster = Cluster(
        nodes=[
            Node(name=f"node-{i}", addresses=(f"192.168.0.{i + 1}",), zone=zone, draining=draining, labels=labels)
            for i, (zone, draining, labels) in enumerate(nodes)
        ]
    )
    index = index_of(cluster)
    zones = {z: k for k, z in enumerate(dict.fromkeys(z for z, _, _ in nodes if z))}
    # Each node's view as the rule table defines it, built node by node.
    expected = tuple(
        NodeView(
            zone=zones[zone] if zone else NO_ZONE,
            draining=draining,
            lb_label=label_class(dict(labels).get(EXCLUDE_FROM_LB_LABEL)),
        )
        for zone, draining, labels in nodes
    )
    assert index.node_views == expected
    grouped: dict[NodeView, list[int]] = {}
    for i, view in enumerate(expected):
        grouped.setdefault(view, []).append(i)
    assert list(index.nodes_by_view.items()) == list(grouped.items())
    assert index.view_of_node == [list(grouped).index(view) for view in expected]


_NODE_LABELS = st.sampled_from(
    [
        (),
        (("node.kubernetes.io/exclude-from-external-load-balancers", "true"),),
        (("node.kubernetes.io/exclude-from-external-load-balancers", ""), ("team", "a")),
        (("team", "node.kubernetes.io/exclude-from-external-load-balancers"),),  # the key as a value only
        (("kubernetes.io/hostname", "x"),),
    ]
)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["node-a", "node-b", "node-c"]),  # repeated names: bad input, answered all the same
            st.lists(st.sampled_from(["192.168.0.1", "192.168.0.2", "fd00::1"]), max_size=2),
            st.sampled_from([None, "", "zone-a", "zone-b"]),
            _NODE_LABELS,
        ),
        max_size=8,
    )
)
def test_the_node_lookups_built_a_column_at_a_time_are_those_built_node_by_node(
    rows: list[tuple[str, list[str], str | None, tuple]],
) -> None:
    nodes = [Node(name=name, addresses=addresses, zone=zone, labels=labels) for name, addresses, zone, labels in rows]
    cluster = Cluster(nodes=nodes)
    index = index_of(cluster)
    assert index.node_position == {n.name: i for i, n in enumerate(nodes)}
    assert index.node_names == frozenset(n.name for n in nodes)
    by_name = {n.name: n for n in nodes}
    assert index.nodes_by_name.keys() == by_name.keys()
    assert all(index.nodes_by_name[name] is node for name, node in by_name.items())
    zones: dict[str, int] = {}
    for n in nodes:
        if n.zone:
            zones.setdefault(n.zone, len(zones))
    assert list(index.zones.items()) == list(zones.items())
    labelled = tuple((n.name, value) for n in nodes if (value := dict(n.labels).get(EXCLUDE_FROM_LB_LABEL)) is not None)
    assert index.lb_exclusion_labels == labelled
    for address in ("192.168.0.1", "192.168.0.2", "fd00::1", "10.0.0.1"):
        first = next((n for n in nodes if address in n.addresses), None)
        assert cluster.node_owning(address) is first
