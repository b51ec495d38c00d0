"""The load balancers bare-metal and cloud clusters run: which nodes they send to, and what they add.

Each profile's rules cite the controller's source at the version read. A profile that announces an
address (k3s ServiceLB, Cilium L2/BGP, kube-vip) only decides *which nodes* receive the packet; from
there the dataplane on that node handles it as traffic to a LoadBalancer IP. The AWS NLB profiles
also decide what the packet carries: the client's address (``preserve_client_ip``) and a PROXY
protocol header.
"""

from __future__ import annotations

from kverify.model.enums import (
    CILIUM_DSR,
    CILIUM_SNAT,
    IPTABLES,
    PROXYING_PROFILES,
    ClientKind,
    Destination,
    LoadBalancerProfile,
)
from kverify.semantics.endpoints import has_local_ready, is_local, ready
from kverify.semantics.ops import Ops, Term
from kverify.semantics.policy import external_policy_local
from kverify.semantics.registry import rule
from kverify.semantics.vocabulary import Situation

K3S = "k3s-io/k3s pkg/cloudprovider/servicelb.go (k3s v1.31-era, klipper-lb v0.4.9)"
KLIPPER = "k3s-io/klipper-lb entry (v0.4.9, commit 525ecd2)"
CILIUM_BGP = "cilium/cilium pkg/bgpv1/manager/reconciler/service.go"
KUBE_VIP = "kube-vip/kube-vip (v1.2.3+24, commit bee5cfe)"
AWS_LBC = "kubernetes-sigs/aws-load-balancer-controller pkg/service/model_build_target_group.go"
AWS_CCM = "kubernetes/cloud-provider-aws pkg/providers/v1/aws.go (commit 63ec440, 2026-07)"
CLASSIC_DOCS = "docs.aws.amazon.com/elasticloadbalancing/latest/classic"


def profile_is(ops: Ops, s: Situation, *profiles: LoadBalancerProfile) -> Term:
    """The load balancer in front is one of ``profiles``."""
    return ops.or_(*(ops.eq(s.load_balancer, p) for p in profiles))


@rule(
    "lb-k3s-servicelb",
    title="k3s ServiceLB lists as the Service's LoadBalancer addresses the IPs of the nodes running a Ready svclb "
    "pod (a DaemonSet on every eligible node); under eTP Local only nodes with a Ready pod endpoint. A client "
    "reaches the node whose IP it addressed.",
    source=f"{K3S} getStatus (`RequestsOnlyLocalTraffic` -> readyNodes: `isPod && isReady && NodeName`), podIPs "
    "(node ExternalIPs, else InternalIPs), newDaemonSet; k3s-io/k3s#6909 (eTP Local honoured)",
    since="k3s 2023-02 releases (PR #6909 is the release-1.23 backport)",
    history=(
        (
            "k3s before #6909",
            "eTP Local ignored: every eligible node listed, klipper forwarded to the ClusterIP",
            "k3s-io/k3s#6909",
        ),
    ),
)
def k3s_listed(ops: Ops, s: Situation, node: int) -> Term:
    return ops.ite(external_policy_local(ops, s), has_local_ready(ops, s, node), ops.true)


@rule(
    "lb-k3s-servicelb-kube-proxy-first",
    title="k3s ServiceLB: a listed node IP is a VIP-mode LoadBalancer ingress, so kube-proxy (iptables) installs "
    "LB-IP rules for it, and its KUBE-SERVICES jump is prepended to nat PREROUTING while the CNI portmap plugin "
    "appends CNI-HOSTPORT-DNAT: kube-proxy (or Cilium's BPF before netfilter) handles the packet, not the svclb "
    "pod. With nftables or ipvs the order against the hostPort DNAT is not determined: not modelled (Unknown).",
    source="kubernetes/kubernetes pkg/proxy/iptables/proxier.go syncProxyRules "
    "(`EnsureRule(utiliptables.Prepend, jump.table, jump.srcChain ...)`); containernetworking/plugins "
    "plugins/meta/portmap/chain.go insertUnique (`prependEntry` false: Append), portmap.go genToplevelDnatChain; "
    f"{KLIPPER} start_proxy (the svclb pod's own DNAT + MASQUERADE, used only when kube-proxy did not translate)",
    since="k3s with #6909 (read at klipper-lb v0.4.9)",
    dataplanes="iptables, cilium-snat, cilium-dsr",
)
def k3s_proxy_first(ops: Ops, dataplane: Term) -> Term:
    return ops.or_(
        ops.eq(dataplane, IPTABLES),
        ops.eq(dataplane, CILIUM_SNAT),
        ops.eq(dataplane, CILIUM_DSR),
    )


@rule(
    "lb-cilium-l2-leader",
    title="Cilium L2 announcements: the node holding the Service's lease (any node the policy selects) answers "
    "ARP for the IP, whatever the Service's eTP: under eTP Local a leaseholder without a local backend still "
    "attracts the traffic.",
    source="cilium/cilium pkg/l2announcer/l2announcer.go (commit 00cfe9e8, v1.14 era: upsertPolicy/upsertSvc "
    "select by node and service labels only, no traffic policy); cilium/cilium#27800 (eTP Local fails unless the "
    "pod runs on the leaseholder); Documentation/network/l2-announcements.rst ('Kube Proxy replacement mode must be "
    "enabled')",
    since="Cilium v1.14 (holds to v1.19, the newest kverify models; cilium/cilium PR #46399 later gates eTP Local "
    "on local backends, `if svc.ExtTrafficPolicy == Local && !hasLocalBackends(...) { delSvc }`, shipped in "
    "v1.20.2 by the backport #48550 (no v1.19 backport found): outside the modelled range, and its code was not "
    "in the index read (quoted by a user's PR), so not modelled)",
    dataplanes="cilium-snat, cilium-dsr",
)
def cilium_l2_answers(ops: Ops, s: Situation, node: int) -> Term:
    return ops.true


@rule(
    "lb-cilium-bgp-advertise",
    title="Cilium BGP control plane: every selected node advertises the LoadBalancer IP under eTP Cluster; under "
    "eTP Local only nodes with a local, non-terminating backend.",
    source=f"{CILIUM_BGP} populateLocalServices (`!be.Terminating && be.NodeName == localNodeName`), "
    "hasLocalEndpoints; cilium/cilium#25477 (eTP Local support, closing #23035)",
    since="Cilium v1.14 (#25477)",
)
def cilium_bgp_advertises(ops: Ops, s: Situation, node: int) -> Term:
    local = ops.any_(ops.and_(is_local(ops, e, node), ready(ops, e), ops.not_(e.terminating)) for e in s.endpoints)
    return ops.ite(external_policy_local(ops, s), local, ops.true)


@rule(
    "lb-kube-vip-arp-leader",
    title="kube-vip (ARP): one elected node answers for the address; a node takes part only with endpoints: "
    "under eTP Local a local serving endpoint, under eTP Cluster any endpoint in the Service's slices.",
    source=f"{KUBE_VIP} pkg/endpoints/endpoints.go AddOrModify (`if len(endpoints) != 0` -> "
    "startServiceHandlingIfNeeded, else clear), endpoints_generic.go getAllEndpoints (Cluster: GetAllEndpoints, "
    "Local: GetLocalEndpoints), providers/endpointslices.go GetLocalEndpoints (`Conditions.Serving`, nodeName)",
    since="kube-vip v0.5 (svc_election); read at v1.2.3",
)
def kube_vip_answers(ops: Ops, s: Situation, node: int) -> Term:
    local = ops.any_(ops.and_(is_local(ops, e, node), e.serving) for e in s.endpoints)
    anywhere = ops.any_(e.present for e in s.endpoints)
    return ops.ite(external_policy_local(ops, s), local, anywhere)


@rule(
    "lb-aws-nlb-instance-probe",
    title="AWS NLB, instance targets (AWS Load Balancer Controller): under eTP Local it probes the "
    "healthCheckNodePort over HTTP; otherwise the traffic port over TCP, which every node with kube-proxy accepts "
    "(draining nodes too); with no healthy target it fails open.",
    source=f"{AWS_LBC} buildTargetGroupHealthCheckConfig (`TargetTypeInstance && ExternalTrafficPolicy == Local` "
    "-> ForInstanceModeLocal), pkg/service/model_builder.go (defaults: TCP traffic-port); "
    "docs.aws.amazon.com/elasticloadbalancing/latest/network/target-group-health-checks.html (fail open)",
    since="AWS LBC v2.2",
)
def nlb_instance_probe(ops: Ops, s: Situation, node: int, fails_open: Term) -> Term:
    return ops.ite(s.etp_local_spec, ops.or_(has_local_ready(ops, s, node), fails_open), ops.true)


@rule(
    "lb-aws-classic-elb-probe",
    title="AWS Classic ELB (the AWS cloud provider's default, without aws-load-balancer-type: nlb): under eTP Local "
    "it probes the healthCheckNodePort over HTTP; otherwise the first listener's NodePort over TCP, which every "
    "node with kube-proxy accepts. It routes only to healthy instances: no fail-open.",
    source=f"{AWS_CCM} EnsureLoadBalancer (`isNLB(annotations)` else the Classic ELB path; "
    "`GetServiceHealthCheckPathPort` -> ensureLoadBalancerHealthCheck HTTP, else TCP on tcpHealthCheckPort), "
    "pkg/providers/v1/aws_loadbalancer.go isNLB; "
    f"{CLASSIC_DOCS}/elb-healthchecks.html ('routes requests only to the healthy instances')",
    since="v1.7 (healthCheckNodePort); read at cloud-provider-aws commit 63ec440",
)
def classic_elb_probe(ops: Ops, s: Situation, node: int) -> Term:
    return ops.ite(s.etp_local_spec, has_local_ready(ops, s, node), ops.true)


@rule(
    "lb-preserve-client-ip",
    title="AWS NLB client IP preservation is a target-group attribute: preserve_client_ip.enabled if set, else on "
    "for instance targets and off for IP targets (TCP; UDP keeps it). Off, the target sees the NLB's private IP. "
    "A Classic ELB's TCP listener proxies the connection: the instance always sees the ELB's address.",
    source=f"{AWS_LBC} buildPreserveClientIPFlag (attribute, else TargetTypeIP -> false, TargetTypeInstance -> "
    "true); docs.aws.amazon.com/elasticloadbalancing/latest/network/edit-target-group-attributes.html "
    "('Client IP preservation' defaults); "
    f"{AWS_CCM} buildListener (listener and instance protocol tcp unless annotated http/ssl); "
    f"{CLASSIC_DOCS}/enable-proxy-protocol.html ('the access logs from your instance contain the IP address of the "
    "load balancer instead of the originating client')",
    since="AWS LBC v2.2",
)
def lb_rewrites_source(ops: Ops, s: Situation) -> Term:
    nlb = ops.and_(
        s.via_load_balancer,
        profile_is(ops, s, LoadBalancerProfile.AWS_NLB_INSTANCE, LoadBalancerProfile.AWS_CLASSIC_ELB),
    )
    pods = ops.and_(
        profile_is(ops, s, LoadBalancerProfile.IP_TARGET, LoadBalancerProfile.AWS_NLB_IP),
        ops.eq(s.destination, Destination.LOAD_BALANCER),
        ops.eq(s.client, ClientKind.EXTERNAL),
    )
    return ops.and_(ops.or_(nlb, pods), ops.not_(s.lb_preserves_client_ip))


@rule(
    "lb-proxy-protocol",
    title="A load balancer configured for PROXY protocol prefixes every connection it forwards with a header; "
    "connections that do not pass through it (an in-cluster client short-circuited to the pod by the proxy's "
    "VIP rules) carry none, and a server expecting one fails ('broken header'). LBs that only announce an "
    "address (MetalLB, Cilium L2/BGP, kube-vip, k3s ServiceLB) add none.",
    source="kubernetes-sigs/aws-load-balancer-controller docs/guide/service/annotations.md "
    "(aws-load-balancer-proxy-protocol: '*' -> target group attribute proxy_protocol_v2.enabled); "
    "kubernetes/ingress-nginx#3996 and kubernetes/kubernetes#66607 (in-cluster clients bypass the LB); "
    "hetznercloud/hcloud-cloud-controller-manager#727 and KEP-1860 (ipMode Proxy as the fix)",
    since="v1.0 (kube-proxy captures LB IPs); ipMode Proxy from v1.30 (rule lb-ip-mode-proxy)",
)
def proxy_header(ops: Ops, s: Situation, delivered: Term) -> Term:
    return ops.and_(
        delivered,
        s.via_load_balancer,
        s.proxy_protocol,
        profile_is(ops, s, *PROXYING_PROFILES),
    )


def modelled_with(ops: Ops, dataplane: Term, load_balancer: Term) -> Term:
    """The profile is modelled on this dataplane (else the verdict is Unknown): k3s ServiceLB only where the
    proxy provably handles the listed node IP first; Cilium L2 announcements only with Cilium's kube-proxy
    replacement (its documented requirement)."""
    cilium = ops.or_(ops.eq(dataplane, CILIUM_SNAT), ops.eq(dataplane, CILIUM_DSR))
    return ops.and_(
        ops.implies(ops.eq(load_balancer, LoadBalancerProfile.K3S_SERVICELB), k3s_proxy_first(ops, dataplane)),
        ops.implies(ops.eq(load_balancer, LoadBalancerProfile.CILIUM_L2), cilium),
    )
