"""The per-cluster index route() uses on big clusters: same answers, and no cluster kept alive."""

from __future__ import annotations

import gc
import weakref

import attrs

from kverify.concrete import route
from kverify.concrete.index import _CACHE, index_of
from kverify.load import load_manifests, to_cluster
from kverify.model import ClientKind, Destination, Flow


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
