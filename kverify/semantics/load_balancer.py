"""Which nodes an external load balancer may send a Service's traffic to."""

from __future__ import annotations

from kverify.model.enums import LoadBalancerProfile
from kverify.semantics import lb_profiles
from kverify.semantics.endpoints import is_local
from kverify.semantics.health import health_check_passes, needs_health_check
from kverify.semantics.ops import Ops, Term
from kverify.semantics.policy import external_policy_local
from kverify.semantics.registry import rule
from kverify.semantics.vocabulary import Situation

K8S = "kubernetes/kubernetes"


@rule(
    "lb-health-checked",
    title="A health-checked cloud LB sends only to nodes passing its probe: the healthCheckNodePort "
    "under eTP Local; under eTP Cluster kube-proxy's /healthz, which fails on draining nodes (GCE, Azure "
    "'shared' probes; AWS LBC probes the traffic port instead, where draining nodes still pass).",
    source="KEP-3836 (kube-proxy /healthz for eTP Cluster); "
    f"{K8S} pkg/proxy/healthcheck/proxy_health.go; kubernetes/cloud-provider-gcp gce_loadbalancer_external.go; "
    "kubernetes-sigs/aws-load-balancer-controller docs guide/service/annotations.md (healthcheck defaults)",
    since="v1.7 (healthCheckNodePort); v1.30 (KEP-3836 /healthz draining, on by default)",
    history=(
        ("v1.28", "KubeProxyDrainingTerminatingNodes alpha (off): /healthz ignores draining nodes", "KEP-3836"),
        (
            "v1.30",
            "KubeProxyDrainingTerminatingNodes beta, on by default: /healthz fails on draining nodes",
            "KEP-3836",
        ),
        ("v1.31", "KubeProxyDrainingTerminatingNodes GA (locked on)", "KEP-3836"),
    ),
)
def passes_probe(ops: Ops, s: Situation, node: int) -> Term:
    return ops.ite(
        needs_health_check(ops, s),
        health_check_passes(ops, s, node),
        ops.not_(ops.and_(s.gate_draining, s.nodes[node].draining)),
    )


@rule(
    "lb-fail-open",
    title="When no node passes the health check, the load balancer fails open and sends to every node.",
    source="docs.aws.amazon.com/elasticloadbalancing/latest/network/target-group-health-checks.html "
    "('If ... all targets fail health checks ... fail open'); "
    "cloud.google.com/load-balancing/docs/internal (backend health: all unhealthy -> all backends)",
    since="n/a (load balancer behaviour)",
)
def fails_open(ops: Ops, s: Situation) -> Term:
    return none_passes(ops, s, tuple(passes_probe(ops, s, i) for i, _ in enumerate(s.nodes)))


def none_passes(ops: Ops, s: Situation, probes: tuple[Term, ...]) -> Term:
    """:func:`fails_open` given each node's :func:`passes_probe`, in node order: the executable model
    evaluates each probe on that node's own endpoint classes (``kverify.concrete.endpoint_set``),
    so asking every node does not read every endpoint once per node."""
    return ops.not_(ops.any_(ops.and_(n.present, p) for n, p in zip(s.nodes, probes, strict=True)))


@rule(
    "lb-metallb-announce",
    title="MetalLB (L2 leader or BGP speakers) announces only while some endpoint is Ready or serving: from "
    "any node under eTP Cluster, from nodes with such a local endpoint under eTP Local; no healthCheckNodePort.",
    source="metallb/metallb speaker/layer2_controller.go ShouldAnnounce, speaker/bgp_controller.go ShouldAnnounce; "
    "https://metallb.universe.tf/usage/#traffic-policies",
    since="MetalLB v0.14 (serving endpoints count)",
)
def metallb_announces(ops: Ops, s: Situation, node: int) -> Term:
    serving = tuple(ops.and_(e.present, ops.or_(e.ready, e.serving)) for e in s.endpoints)
    here = ops.any_(ops.and_(sv, is_local(ops, e, node)) for sv, e in zip(serving, s.endpoints, strict=True))
    return ops.and_(ops.any_(serving), ops.ite(external_policy_local(ops, s), here, ops.true))


def may_receive(ops: Ops, s: Situation, node: int) -> Term:
    """Whether the load balancer in front may deliver this Service's traffic to ``node``.

    ``ip-target`` and ``aws-nlb-ip`` load balancers never deliver to nodes (they target pod IPs
    directly). A profile not modelled on the dataplane (``lb_profiles.modelled_with``) sends nowhere
    here; callers report Unknown before asking.
    """
    return may_receive_given(ops, s, node, fails_open(ops, s))


def may_receive_given(ops: Ops, s: Situation, node: int, open_: Term) -> Term:
    """:func:`may_receive`, given :func:`fails_open` (``open_``): what the executable model calls with
    one fail-open answer per flow and each node's own endpoint classes (linear time)."""
    probe = ops.or_(passes_probe(ops, s, node), open_)
    profile = s.load_balancer
    table = (
        (LoadBalancerProfile.HEALTH_CHECKED, probe),
        (LoadBalancerProfile.NO_HEALTH_CHECK, ops.true),
        (LoadBalancerProfile.IP_TARGET, ops.false),
        (LoadBalancerProfile.AWS_NLB_IP, ops.false),
        (LoadBalancerProfile.METALLB_L2, metallb_announces(ops, s, node)),
        (LoadBalancerProfile.METALLB_BGP, metallb_announces(ops, s, node)),
        (LoadBalancerProfile.K3S_SERVICELB, lb_profiles.k3s_listed(ops, s, node)),
        (LoadBalancerProfile.CILIUM_L2, lb_profiles.cilium_l2_answers(ops, s, node)),
        (LoadBalancerProfile.CILIUM_BGP, lb_profiles.cilium_bgp_advertises(ops, s, node)),
        (LoadBalancerProfile.KUBE_VIP, lb_profiles.kube_vip_answers(ops, s, node)),
        (LoadBalancerProfile.AWS_CLASSIC_ELB, lb_profiles.classic_elb_probe(ops, s, node)),
    )
    # The last profile is the chain's default, so every value of the enum is covered.
    picks = lb_profiles.nlb_instance_probe(ops, s, node, open_)
    for value, term in reversed(table):
        picks = ops.ite(ops.eq(profile, value), term, picks)
    return ops.and_(s.nodes[node].present, lb_profiles.modelled_with(ops, s.dataplane, profile), picks)
