"""Changes to the load balancer in front of a Service: leave the nodes without endpoints out of it, or
put the Service behind another load balancer profile.

Like every candidate, each is a change to the spec's model that the search decides again
(:mod:`kverify.fixes.search`); nothing here assumes it works.

- Leaving nodes out uses the label ``node.kubernetes.io/exclude-from-external-load-balancers`` (rule
  ``lb-exclude-label``), which the cloud service controller, the AWS Load Balancer Controller (instance
  targets) and MetalLB read. It is offered on a snapshot, where the nodes without a Ready endpoint are
  known; it is said as ``kubectl label node`` commands, since Node objects are the cluster's, not
  manifests anyone edits. At design time the placement encoding does not read the label yet, so it is
  not offered there.
- A profile is chosen by the Service's annotations or ``spec.loadBalancerClass``
  (:mod:`kverify.load.lb_hints` reads the same ones); the patch sets them.
"""

from __future__ import annotations

import attrs

from kverify.check.specfile.model import Spec
from kverify.concrete.lb_exclusion import excluded_nodes
from kverify.fixes import edits
from kverify.fixes.candidates import Change, TextEdit, _env_edit
from kverify.load.lb_hints import AWS_TARGET_TYPE, AWS_TG_ATTRIBUTES, AWS_TYPE, CILIUM_BGP_CLASS, CILIUM_L2_CLASS
from kverify.model import LoadBalancerProfile, Service, ServiceType
from kverify.model.workload import EXCLUDE_FROM_LB_LABEL, NodePool
from kverify.placement.design import at_design_time, selected_workloads

#: Load balancers that leave a labelled node out (rule lb-exclude-label: "true" is excluded in every version).
_READS_LABEL = (
    LoadBalancerProfile.HEALTH_CHECKED,
    LoadBalancerProfile.NO_HEALTH_CHECK,
    LoadBalancerProfile.AWS_CLASSIC_ELB,
    LoadBalancerProfile.AWS_NLB_INSTANCE,
    LoadBalancerProfile.METALLB_L2,
    LoadBalancerProfile.METALLB_BGP,
)


def exclude_nodes_without_endpoints(spec: Spec, service_key: str) -> list[Change]:
    """Label the nodes without a Ready endpoint of the Service so its load balancer leaves them out."""
    cluster = spec.cluster
    service = cluster.service(service_key)
    if service is None or service.type is not ServiceType.LOAD_BALANCER:
        return []
    profile = cluster.load_balancer_for(service)
    if profile not in _READS_LABEL:
        return []
    if at_design_time(spec.design, service):
        return _exclude_pools_without_pods(spec, service, profile)
    if not cluster.nodes:
        return []
    ready = {e.node_name for e in service.endpoints if e.ready and e.node_name}
    already = set(excluded_nodes(cluster, profile))
    names = [n.name for n in cluster.nodes if n.name not in ready and n.name not in already]
    if not names or not ready - already:
        return []  # nothing to leave out, or no node with a Ready endpoint would be left
    chosen = set(names)
    label = (EXCLUDE_FROM_LB_LABEL, "true")
    nodes = tuple(
        attrs.evolve(n, labels=(*(kv for kv in n.labels if kv[0] != EXCLUDE_FROM_LB_LABEL), label))
        if n.name in chosen
        else n
        for n in cluster.nodes
    )
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return [
        Change(
            id="exclude-nodes-without-endpoints",
            title=f"label the {len(names)} node(s) without a Ready pod of Service {service.key} ({shown}) "
            f"{EXCLUDE_FROM_LB_LABEL}=true, so the {profile.spelling} load balancer leaves them out",
            trade_off="the labelled nodes stop receiving load-balancer traffic for every Service, not only this "
            "one; labels do not follow pods: a pod rescheduled onto a labelled node is not reachable through the "
            "load balancer (and, without health checks, a node that loses its pod still receives traffic) until "
            "the labels are changed again",
            spec=attrs.evolve(spec, cluster=attrs.evolve(cluster, nodes=nodes)),
            no_patch="Node objects are the cluster's, not manifests: label them with the command shown",
            commands=(f"kubectl label node {' '.join(names)} {EXCLUDE_FROM_LB_LABEL}=true --overwrite",),
            target="nodes",
        )
    ]


def _exclude_pools_without_pods(spec: Spec, service: Service, profile: LoadBalancerProfile) -> list[Change]:
    """At design time, the node pools no pod of the Service can run on (its workloads' node selectors,
    affinity and tolerations rule the pool out) get the label; which nodes of the other pools lack a pod
    is the placement's choice, so they are left as they are."""
    workloads = selected_workloads(spec.design, service)
    if not spec.node_pools or not workloads or spec.cluster.nodes:
        return []

    def runs_there(pool: NodePool) -> bool:
        labels = pool.label_map(f"{pool.name}-1")
        return any(w.scheduling.node_allowed(labels, pool.taints) for w in workloads)

    def labelled(pool: NodePool) -> bool:
        return EXCLUDE_FROM_LB_LABEL in dict(pool.labels)

    empty = [p for p in spec.node_pools if not runs_there(p) and not labelled(p)]
    if not empty or not any(runs_there(p) and not labelled(p) for p in spec.node_pools):
        return []
    names = {p.name for p in empty}
    label = (EXCLUDE_FROM_LB_LABEL, "true")
    pools = tuple(attrs.evolve(p, labels=(*p.labels, label)) if p.name in names else p for p in spec.node_pools)
    shown = ", ".join(sorted(names))
    flags = " ".join(f"--node-pool {p.name}=...,label={EXCLUDE_FROM_LB_LABEL}=true" for p in empty)
    return [
        Change(
            id="exclude-pools-without-pods",
            title=f"label the nodes of pool(s) {shown}, where no pod of Service {service.key} can run, "
            f"{EXCLUDE_FROM_LB_LABEL}=true, so the {profile.spelling} load balancer leaves them out",
            trade_off="those nodes stop receiving load-balancer traffic for every Service; if the workload's "
            "scheduling later allows them, its pods there are not reachable through the load balancer",
            spec=attrs.evolve(spec, node_pools=pools),
            no_patch=f"node pools are the cluster's: give the pool's nodes the label (the node group's labels, or "
            f"kubelet --node-labels); in the spec, labels on the pool; on the command line, {flags}",
            target="nodes",
        )
    ]


@attrs.frozen(kw_only=True)
class _Profile:
    """A load balancer profile a Service can be moved to, and how its manifest says so."""

    profile: LoadBalancerProfile
    how: str  # the manifest change, in words
    trade_off: str
    annotations: tuple[tuple[str, str], ...] = ()
    lb_class: str | None = None
    #: The target group's preserve_client_ip.enabled, when the patch sets it (rule lb-preserve-client-ip).
    preserve_client_ip: bool | None = None


_RECREATE = "kube-apiserver refuses to change spec.loadBalancerClass on an existing Service: delete and recreate it"
_NEW_LB = "the load balancer is created anew (a new address) when the controller changes"

SWITCHES = (
    _Profile(
        profile=LoadBalancerProfile.AWS_NLB_INSTANCE,
        how=f"annotations {AWS_TYPE}: external and {AWS_TARGET_TYPE}: instance (AWS Load Balancer Controller)",
        trade_off="needs the AWS Load Balancer Controller; it probes the healthCheckNodePort under eTP Local, so "
        "a node that loses its last Ready pod still receives traffic until the probe fails (interval x unhealthy "
        f"threshold); {_NEW_LB}",
        annotations=((AWS_TYPE, "external"), (AWS_TARGET_TYPE, "instance")),
    ),
    _Profile(
        profile=LoadBalancerProfile.AWS_NLB_IP,
        how=f"annotations {AWS_TYPE}: external, {AWS_TARGET_TYPE}: ip and {AWS_TG_ATTRIBUTES}: "
        "preserve_client_ip.enabled=true (AWS Load Balancer Controller)",
        trade_off="needs the AWS Load Balancer Controller and pod IPs the VPC routes (the AWS VPC CNI); the NLB "
        "sends to the pods, bypassing nodes and eTP; keeping the client's address (off by default for IP targets "
        "over TCP) breaks connections from a pod to the NLB that come back to the same pod (no NAT loopback); "
        f"{_NEW_LB}",
        annotations=(
            (AWS_TYPE, "external"),
            (AWS_TARGET_TYPE, "ip"),
            (AWS_TG_ATTRIBUTES, "preserve_client_ip.enabled=true"),
        ),
        preserve_client_ip=True,
    ),
    _Profile(
        profile=LoadBalancerProfile.CILIUM_BGP,
        how=f"spec.loadBalancerClass: {CILIUM_BGP_CLASS}",
        trade_off="needs Cilium's BGP control plane, a peering policy selecting the nodes and BGP routers that "
        "spread over the advertised routes; under eTP Local only nodes with a local backend advertise; "
        f"{_RECREATE}",
        lb_class=CILIUM_BGP_CLASS,
    ),
    _Profile(
        profile=LoadBalancerProfile.CILIUM_L2,
        how=f"spec.loadBalancerClass: {CILIUM_L2_CLASS}",
        trade_off="needs Cilium's kube-proxy replacement and a CiliumL2AnnouncementPolicy; one node (the lease "
        f"holder) receives all the Service's traffic; {_RECREATE}",
        lb_class=CILIUM_L2_CLASS,
    ),
)


def switch_profile(spec: Spec, service_key: str) -> list[Change]:
    """Put the Service behind each other profile of :data:`SWITCHES`, with the manifest change that says so."""
    cluster = spec.cluster
    service = cluster.service(service_key)
    if service is None or service.type is not ServiceType.LOAD_BALANCER:
        return []
    current = cluster.load_balancer_for(service)
    out = []
    for switch in SWITCHES:
        if switch.profile is current:
            continue
        changed = attrs.evolve(cluster, load_balancer=switch.profile, load_balancer_explicit=True)
        if switch.preserve_client_ip is not None:
            kept = attrs.evolve(service, lb_preserve_client_ip=switch.preserve_client_ip)
            changed = attrs.evolve(changed, services=tuple(kept if s is service else s for s in cluster.services))
        found, why = _service_edits(spec, service, switch)
        out.append(
            Change(
                id=f"load-balancer-{switch.profile.spelling}",
                title=f"put Service {service.key} behind the {switch.profile.spelling} load balancer ({switch.how}; "
                f"spec: environment.loadBalancer: {switch.profile.spelling})",
                trade_off=switch.trade_off,
                spec=attrs.evolve(spec, cluster=changed),
                edits=(*found, *_env_edit(spec, "loadBalancer", switch.profile.spelling)),
                no_patch=why,
                target="loadBalancer",
            )
        )
    return out


def _service_edits(spec: Spec, service: Service, switch: _Profile) -> tuple[tuple[TextEdit, ...], str]:
    where = spec.service_lines.get(service.key)
    if spec.manifests is None or where is None:
        return (), f"the Service is in the spec's inline topology: set {switch.how} there"

    def edit(text: str, line: int) -> str:
        for key, value in reversed(switch.annotations):  # each goes first: reversed, they read in order
            # Other target-group attributes may be set already: merged by hand, never overwritten.
            text = edits.set_annotation(text, line, key, value, replace=key != AWS_TG_ATTRIBUTES)
        if switch.lb_class is not None:
            text = edits.set_field(text, line, ("spec",), "loadBalancerClass", switch.lb_class)
        return text

    return (TextEdit(where.file, where.line, edit),), ""
