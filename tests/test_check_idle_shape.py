"""A Service no built-in check can apply to is told by its shape (catalogue.plainly_cluster_ip_only) before
any check is asked: the shortcut answers only where asking every check finds none applies, and the idle
reason the run counts is the one kverify.check.idle gives."""

from __future__ import annotations

import attrs
from hypothesis import given
from hypothesis import strategies as st

from kverify.check import run as run_module
from kverify.check.catalogue import candidate_flows, plainly_cluster_ip_only
from kverify.check.idle import CLUSTER_IP_ONLY, why_nothing_to_check
from kverify.check.run import facts_for, run_builtin
from kverify.model import Cluster, Endpoint, Node, Service, ServiceType, TrafficPolicy
from kverify.model.policy import IPBlockRule, ServiceIntent
from kverify.report import check_json
from kverify.testing.strategies import clusters
from tests.test_endpoint_columns import _columns_of

#: The facts a run may hold about the one Service of a generated cluster (``default/svc``): an ipBlock rule in
#: its namespace or another, and whether something asks for its client IP.
_BLOCKS = st.lists(
    st.builds(
        IPBlockRule,
        policy=st.just("default/office"),
        namespace=st.sampled_from(["default", "other"]),
        cidr=st.sampled_from(["203.0.113.0/24", "10.0.0.0/8"]),
    ),
    max_size=2,
)
_NEEDS = st.sampled_from([(), ("default/svc",), ("other/svc",)])
#: The Service's ``spec.selector`` as the loader records it (an ipBlock rule is asked only of selected pods).
_INTENTS = st.sampled_from([{}, {"default/svc": ServiceIntent(selector=(("app", "web"),))}])


def _with_columns(cluster: Cluster, columns: bool) -> Cluster:
    if not columns:
        return cluster
    services = [attrs.evolve(s, endpoints=_columns_of(tuple(s.endpoints))) for s in cluster.services]
    return attrs.evolve(cluster, services=services)


@given(
    clusters(max_nodes=4, max_endpoints=6, hints=False, service_types=[ServiceType.CLUSTER_IP, ServiceType.NODE_PORT]),
    _BLOCKS,
    _NEEDS,
    _INTENTS,
    st.booleans(),
)
def test_the_shape_says_cluster_ip_only_only_where_no_check_applies(
    cluster: Cluster,
    blocks: list[IPBlockRule],
    needs: tuple[str, ...],
    intents: dict[str, ServiceIntent],
    columns: bool,
) -> None:
    cluster = _with_columns(cluster, columns)
    (service,) = cluster.services
    # The generated Service and its neighbours in shape, each in a cluster of its own (most generated
    # Services have externalIPs or a type the shortcut declines at once).
    for variant in (
        service,
        attrs.evolve(service, external_ips=()),
        attrs.evolve(service, external_ips=(), internal_traffic_policy=TrafficPolicy.LOCAL),
        attrs.evolve(service, external_ips=(), type=ServiceType.CLUSTER_IP),
        attrs.evolve(
            service,
            external_ips=(),
            type=ServiceType.CLUSTER_IP,
            internal_traffic_policy=TrafficPolicy.CLUSTER,
            external_traffic_policy=TrafficPolicy.CLUSTER,
        ),
        attrs.evolve(service, external_ips=(), cluster_ips=()),
    ):
        alone = attrs.evolve(cluster, services=[variant])
        facts = facts_for(alone, ip_blocks=blocks, intents=intents, needs_client_ip={key: "asked" for key in needs})
        asked = candidate_flows(facts, variant)
        idle = why_nothing_to_check(variant, load_balancer=alone.load_balancer, needs_client_ip=facts.needs_client_ip)
        if plainly_cluster_ip_only(facts, variant):
            assert not variant.headless and asked == [] and idle == CLUSTER_IP_ONLY


@given(clusters(max_nodes=4, max_endpoints=6), _BLOCKS, _NEEDS, _INTENTS)
def test_a_run_reports_the_same_with_and_without_the_shortcut(
    cluster: Cluster, blocks: list[IPBlockRule], needs: tuple[str, ...], intents: dict[str, ServiceIntent]
) -> None:
    def report() -> str:
        needs_ip = {key: "asked" for key in needs}
        facts = facts_for(cluster, ip_blocks=blocks, intents=intents, needs_client_ip=needs_ip)
        return check_json.render(run_builtin(cluster, facts, files=["cluster.yaml"]))

    fast = report()
    original = run_module.plainly_cluster_ip_only
    run_module.plainly_cluster_ip_only = lambda _facts, _service: False  # type: ignore[assignment]
    try:
        assert report() == fast
    finally:
        run_module.plainly_cluster_ip_only = original


def _plain(**changes: object) -> Service:
    endpoints = (Endpoint(ip="10.0.1.5", node_name="node-a", ready=True),)
    fields: dict[str, object] = {"namespace": "default", "name": "web", "cluster_ips": ("10.96.0.10",)}
    fields["endpoints"] = endpoints
    fields.update(changes)
    return Service(**fields)  # type: ignore[arg-type]


def test_a_plain_cluster_ip_service_is_told_by_its_shape_and_its_neighbours_are_not() -> None:
    cluster = Cluster(nodes=(Node(name="node-a", addresses=("192.168.0.1",)),), services=(_plain(),))
    facts = facts_for(cluster)
    assert plainly_cluster_ip_only(facts, _plain())
    not_ready = (Endpoint(ip="10.0.1.5", node_name="node-a", ready=False),)
    for other in (
        _plain(type=ServiceType.NODE_PORT),
        _plain(external_ips=("203.0.113.9",)),
        _plain(internal_traffic_policy=TrafficPolicy.LOCAL),
        _plain(cluster_ips=()),
        _plain(endpoints=()),
        _plain(endpoints=not_ready),
    ):
        assert not plainly_cluster_ip_only(facts, other), other
    block = IPBlockRule(policy="default/office", namespace="default", cidr="203.0.113.0/24")
    assert not plainly_cluster_ip_only(facts_for(cluster, ip_blocks=[block]), _plain())
    assert not plainly_cluster_ip_only(facts_for(cluster, needs_client_ip={"default/web": "asked"}), _plain())
    assert plainly_cluster_ip_only(facts_for(cluster, needs_client_ip={"default/api": "asked"}), _plain())
