"""Which nodes an external load balancer may send a Service's traffic to."""

from __future__ import annotations

from kverify.model.enums import (
    LB_AWS_CLASSIC_ELB,
    LB_AWS_NLB_INSTANCE,
    LB_HEALTH_CHECKED,
    LB_METALLB_BGP,
    LB_METALLB_L2,
    LB_NO_HEALTH_CHECK,
    LoadBalancerProfile,
)
from kverify.model.metallb import READY_ONLY, SERVING
from kverify.semantics import lb_profiles
from kverify.semantics.endpoints import is_local
from kverify.semantics.health import health_check_passes, needs_health_check
from kverify.semantics.ops import Ops, Term
from kverify.semantics.policy import external_policy_local
from kverify.semantics.registry import rule
from kverify.semantics.vocabulary import LB_LABEL_NONE, LB_LABEL_OTHER, EndpointView, Situation

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
    "cloud.google.com/load-balancing/docs/internal (backend health: all unhealthy -> all backends); "
    "cloud.google.com/load-balancing/docs/network/ext-netlb-traffic-distribution (GKE's external passthrough LB: "
    "'When all backend VMs are unhealthy, the load balancer distributes new connections among all backends'). "
    "Not every LB does: a Classic ELB (rule lb-aws-classic-elb-probe) and Azure's load balancer "
    "(learn.microsoft.com/azure/load-balancer/load-balancer-custom-probe-overview) send new flows only to "
    "instances passing the probe, so with none passing no connection is delivered either",
    since="n/a (load balancer behaviour)",
)
def fails_open(ops: Ops, s: Situation) -> Term:
    return none_passes(ops, s, tuple(passes_probe(ops, s, i) for i, _ in enumerate(s.nodes)))


def none_passes(ops: Ops, s: Situation, probes: tuple[Term, ...]) -> Term:
    """:func:`fails_open` given each node's :func:`passes_probe`, in node order: the executable model
    evaluates each probe on that node's own endpoint classes (``kverify.concrete.endpoint_set``),
    so asking every node does not read every endpoint once per node.

    Only the load balancer's targets count: a node it leaves out (rule ``lb-exclude-label``) is not
    registered, so its probe is never asked, and "all targets unhealthy" is over the others."""
    targets = tuple(ops.and_(n.present, ops.not_(excluded(ops, s, i))) for i, n in enumerate(s.nodes))
    return ops.not_(ops.any_(ops.and_(t, p) for t, p in zip(targets, probes, strict=True)))


CLOUD_PROVIDER = "kubernetes/cloud-provider controllers/service/controller.go"


@rule(
    "lb-exclude-label",
    title="A node labelled node.kubernetes.io/exclude-from-external-load-balancers is not a target of the cloud "
    "LBs of the service controller, Classic ELB included (from v1.34 a value Go's strconv.ParseBool reads as false "
    "keeps it; before, any value leaves it out), of the AWS LBC's instance targets or of MetalLB (any value leaves "
    "it out). Fail-open counts only the targets. "
    "kube-vip, k3s ServiceLB and Cilium do not read the label; IP targets send to pods.",
    source=f"{CLOUD_PROVIDER} nodeIncludedPredicate (read at 46666112f47d; allNodePredicates and "
    "stableNodeSetPredicates both apply it); kubernetes-sigs/aws-load-balancer-controller pkg/backend/"
    "endpoint_utils.go defaultTrafficProxyNodeLabelSelector (`DoesNotExist`, read at 68cf8382); metallb/metallb "
    "internal/k8s/nodes/nodes.go IsNodeExcludedFromBalancers, speaker/layer2_controller.go speakersForAds, "
    "speaker/bgp_controller.go (read at 7938d3f8; not with --ignore-exclude-lb); "
    "docs.aws.amazon.com/elasticloadbalancing/latest/network/target-group-health-checks.html (fail open over the "
    "registered targets)",
    since="v1.21 (ServiceNodeExclusion GA; MetalLB v0.14.2, metallb/metallb#2073)",
    history=(
        (
            "v1.34",
            "the cloud service controller keeps a node whose label value parses as false",
            "kubernetes/kubernetes 310b395a (kubernetes/cloud-provider e0d9f9a)",
        ),
    ),
)
def excluded(ops: Ops, s: Situation, node: int) -> Term:
    label = s.nodes[node].lb_label
    present = ops.not_(ops.eq(label, LB_LABEL_NONE))
    cloud = ops.ite(ops.lt(s.k8s_minor, 34), present, ops.eq(label, LB_LABEL_OTHER))
    by_presence = (
        LB_AWS_NLB_INSTANCE,
        LB_METALLB_L2,
        LB_METALLB_BGP,
    )
    return ops.or_(
        ops.and_(
            lb_profiles.profile_is(
                ops,
                s,
                LB_HEALTH_CHECKED,
                LB_NO_HEALTH_CHECK,
                LB_AWS_CLASSIC_ELB,  # the AWS cloud provider's, through the same controller
            ),
            cloud,
        ),
        ops.and_(lb_profiles.profile_is(ops, s, *by_presence), present),
    )


@rule(
    "lb-metallb-announce",
    title="MetalLB (L2 leader or BGP speakers) announces only while some endpoint can serve: from any node under "
    "eTP Cluster, from nodes with such a local endpoint under eTP Local; no healthCheckNodePort. Which endpoints "
    "can serve depends on the version: Ready (before v0.14), serving (v0.14.0-v0.14.4: the serving condition "
    "first, so a Ready-but-not-serving endpoint of a publishNotReadyAddresses Service does not count), Ready "
    "or serving (from v0.14.5).",
    source="metallb/metallb speaker/layer2_controller.go ShouldAnnounce, activeEndpointExists, usableNodes; "
    "speaker/bgp_controller.go ShouldAnnounce, hasHealthyEndpoint; internal/k8s/epslices/endpoint_slices.go "
    "IsConditionReady (v0.13.x), IsConditionServing (commit 1f0fdf34 'Switched from eps.ready to eps.serving', "
    "fixes #2074, first in v0.14.0), EndpointCanServe (commit e2e07277 'Fix the handling of readyness conditions "
    "of endpointslices', first in v0.14.5; its test TestIsConditionReadyOrServing); "
    "https://metallb.universe.tf/usage/#traffic-policies",
    since="MetalLB v0.14.5 (Ready or serving)",
    history=(
        ("MetalLB v0.13", "only Ready endpoints count (IsConditionReady)", "metallb/metallb v0.13.0 epslices"),
        (
            "MetalLB v0.14.0",
            "serving endpoints count, terminating ones too; the serving condition takes precedence over Ready",
            "metallb/metallb commit 1f0fdf34 (#2074)",
        ),
        (
            "MetalLB v0.14.5",
            "Ready or serving: an endpoint Ready through publishNotReadyAddresses counts again",
            "metallb/metallb commit e2e07277",
        ),
    ),
)
def metallb_announces(ops: Ops, s: Situation, node: int) -> Term:
    serving = tuple(ops.and_(e.present, metallb_can_serve(ops, s, e)) for e in s.endpoints)
    here = ops.any_(ops.and_(sv, is_local(ops, e, node)) for sv, e in zip(serving, s.endpoints, strict=True))
    return ops.and_(ops.any_(serving), ops.ite(external_policy_local(ops, s), here, ops.true))


def metallb_can_serve(ops: Ops, s: Situation, e: EndpointView) -> Term:
    """Whether MetalLB counts ``e`` as an endpoint that can take traffic, as the version reads its conditions
    (kube-proxy's defaults already applied: an unset serving is taken as true, as the EndpointSlice
    controller always sets it)."""
    return ops.ite(
        ops.eq(s.metallb_counts, READY_ONLY),
        e.ready,
        ops.ite(ops.eq(s.metallb_counts, SERVING), e.serving, ops.or_(e.ready, e.serving)),
    )


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
    return ops.and_(
        s.nodes[node].present,
        ops.not_(excluded(ops, s, node)),
        lb_profiles.modelled_with(ops, s.dataplane, profile),
        picks,
    )
