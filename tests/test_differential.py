"""Twin check: on random clusters and flows, the Z3 encoding admits exactly the executable model's outcomes."""

from __future__ import annotations

from hypothesis import given, settings

from kverify.model import Cluster, Cni, Dataplane, Flow, LoadBalancerProfile, ServiceType, TrafficPolicy
from kverify.model.versions import VERSIONS
from kverify.symbolic.differential import compare, compare_kinds
from kverify.testing.strategies import clusters_and_flows


def _within_documented_assumptions(cluster: Cluster, flow: Flow) -> bool:
    """What the encoding assumes (kverify.prove.run.ASSUMPTIONS, Universe.well_formed)."""
    service = cluster.services[0]
    etp_ok = (
        service.external_traffic_policy is TrafficPolicy.CLUSTER
        or service.type is not ServiceType.CLUSTER_IP
        or bool(service.external_ips)
    )
    distinct = len({e.ip for e in service.endpoints}) == len(service.endpoints)
    return etp_ok and distinct


@settings()  # examples per profile: 100 by default, 600 in CI (tests/conftest.py)
@given(clusters_and_flows(max_nodes=3, max_endpoints=4, kubernetes_versions=VERSIONS, cnis=tuple(Cni)))
def test_encoding_admits_exactly_the_executable_models_outcomes(pair: tuple[Cluster, Flow]) -> None:
    cluster, flow = pair
    for comparison in compare(cluster, flow):
        assert comparison.symbolic == comparison.concrete, comparison
        assert comparison.lb_nodes_symbolic == comparison.lb_nodes_concrete, comparison
        if _within_documented_assumptions(cluster, flow):
            assert comparison.well_formed, f"the encoding excludes a real situation: {cluster} {flow}"


@settings()
@given(clusters_and_flows(max_nodes=5, max_endpoints=8, kubernetes_versions=VERSIONS, cnis=tuple(Cni)))
def test_endpoint_kind_abstraction_admits_exactly_the_executable_models_outcomes(pair: tuple[Cluster, Flow]) -> None:
    """The any-size proofs rest on this: a concrete cluster, reduced to the kinds of endpoint it has,
    gets the same fates (per kind) from the encoding as from the executable model."""
    cluster, flow = pair
    for comparison in compare_kinds(cluster, flow):
        if _within_documented_assumptions(cluster, flow):
            assert comparison.well_formed, f"the kind encoding excludes a real situation: {cluster} {flow}"
        if comparison.well_formed:
            assert comparison.symbolic == comparison.concrete, comparison
            assert comparison.lb_nodes_symbolic == comparison.lb_nodes_concrete, comparison


#: The load balancers of issue 9 (kverify.semantics.lb_profiles), drawn on their own so that each
#: profile's rules meet many clusters: which nodes it sends to, the client address, the PROXY header.
NEW_PROFILES = (
    LoadBalancerProfile.K3S_SERVICELB,
    LoadBalancerProfile.CILIUM_L2,
    LoadBalancerProfile.CILIUM_BGP,
    LoadBalancerProfile.KUBE_VIP,
    LoadBalancerProfile.AWS_NLB_INSTANCE,
    LoadBalancerProfile.AWS_NLB_IP,
)


@settings()
@given(clusters_and_flows(max_nodes=3, max_endpoints=3, kubernetes_versions=VERSIONS, load_balancers=NEW_PROFILES))
def test_encoding_and_model_agree_behind_every_load_balancer_profile(pair: tuple[Cluster, Flow]) -> None:
    cluster, flow = pair
    for comparison in compare(cluster, flow):
        assert comparison.symbolic == comparison.concrete, comparison
        assert comparison.lb_nodes_symbolic == comparison.lb_nodes_concrete, comparison
        if _within_documented_assumptions(cluster, flow):
            assert comparison.well_formed, f"the encoding excludes a real situation: {cluster} {flow}"
    for comparison in compare_kinds(cluster, flow):
        if comparison.well_formed:
            assert comparison.symbolic == comparison.concrete, comparison
            assert comparison.lb_nodes_symbolic == comparison.lb_nodes_concrete, comparison


@settings()
@given(
    clusters_and_flows(
        max_nodes=3,
        max_endpoints=3,
        dataplanes=(Dataplane.CILIUM_SNAT, Dataplane.CILIUM_DSR),
        kubernetes_versions=VERSIONS,
    )
)
def test_encoding_and_model_agree_on_every_cilium_version_and_helm_option(pair: tuple[Cluster, Flow]) -> None:
    """The Cilium dimensions (version and patch, bpf.lbExternalClusterIP, bpf.lbSourceRangeAllTypes,
    serviceNoBackendResponse, hybrid mode),
    drawn on Cilium clusters only so that each meets many flows (kverify.testing strategies draw them)."""
    cluster, flow = pair
    for comparison in compare(cluster, flow):
        assert comparison.symbolic == comparison.concrete, comparison
        if _within_documented_assumptions(cluster, flow):
            assert comparison.well_formed, f"the encoding excludes a real situation: {cluster} {flow}"
    for comparison in compare_kinds(cluster, flow):
        if comparison.well_formed:
            assert comparison.symbolic == comparison.concrete, comparison
