"""Which load balancer a LoadBalancer Service will get, from well-known annotations.

Used only when the user has not chosen a profile (``--load-balancer``, a spec's
``environment.loadBalancer``): :meth:`kverify.model.cluster.Cluster.load_balancer_for` decides. Each
mapping is the documented behaviour of the controller that reads the annotation:

- AWS Load Balancer Controller (``kubernetes-sigs/aws-load-balancer-controller``
  ``pkg/service/model_build_target_group.go`` ``buildTargetType``): ``aws-load-balancer-type: nlb-ip``
  or ``aws-load-balancer-nlb-target-type: ip`` give IP targets (``ip-target``: the NLB sends to pod
  IPs); otherwise instance targets, whose health check under eTP Local is the healthCheckNodePort
  (``buildTargetGroupHealthCheckConfig`` -> ``...ForInstanceModeLocal``): ``health-checked``. The
  AWS cloud provider (``kubernetes/cloud-provider-aws`` ``pkg/providers/v1/aws.go`` EnsureLoadBalancer)
  makes an NLB for ``aws-load-balancer-type: nlb`` (instance targets, client IP kept, the
  healthCheckNodePort probed: ``health-checked``) and a Classic ELB otherwise (``isNLB`` false): any
  other ``service.beta.kubernetes.io/aws-load-balancer-*`` annotation gives ``aws-classic-elb``, a TCP
  proxy (the pod sees the ELB's address) that probes the healthCheckNodePort and does not fail open.
  On EKS the AWS Load Balancer Controller's service webhook (v2.5+, on by default) sets
  ``loadBalancerClass: service.k8s.aws/nlb`` on new Services: then ``--load-balancer aws-nlb-instance``.
- Cilium's LB IPAM classes (cilium/cilium ``Documentation/network/lb-ipam.rst``, "loadBalancerClass" table):
  ``io.cilium/l2-announcer`` -> ``cilium-l2``, ``io.cilium/bgp-control-plane`` -> ``cilium-bgp``.
- kube-vip (kube-vip/kube-vip-cloud-provider: ``loadBalancerClass: kube-vip.io/kube-vip-class``; kube-vip's own
  ``kube-vip.io/*`` annotations such as ``kube-vip.io/loadbalancerIPs``) -> ``kube-vip``.
- k3s ServiceLB (``k3s-io/k3s`` ``pkg/cloudprovider/servicelb.go``: labels ``svccontroller.k3s.cattle.io/*``
  on Nodes (``enablelb``), on Services (``lbpool``) and on the svclb pods and DaemonSets it creates): a
  LoadBalancer Service without a ``loadBalancerClass`` and without other hints -> ``k3s-servicelb``.
- MetalLB (``metallb.universe.tf/*``, ``metallb.io/*``; https://metallb.universe.tf/usage/): layer 2
  unless the manifests configure BGP (a ``BGPAdvertisement`` or ``BGPPeer`` of ``metallb.io``).
- GCP (``cloud.google.com/*``, ``networking.gke.io/*``; ``kubernetes/cloud-provider-gcp``
  ``gce_loadbalancer_external.go``) and Azure (``service.beta.kubernetes.io/azure-*``;
  ``kubernetes-sigs/cloud-provider-azure`` ``azure_loadbalancer.go``, ``NeedsHealthCheck`` ->
  ``GetServiceHealthCheckPathPort``) probe the healthCheckNodePort: ``health-checked``.
"""

from __future__ import annotations

from collections.abc import Mapping

from kverify.model.enums import LoadBalancerProfile

AWS = "service.beta.kubernetes.io/aws-load-balancer-"
AWS_TYPE = AWS + "type"
AWS_TARGET_TYPE = AWS + "nlb-target-type"
AZURE = "service.beta.kubernetes.io/azure-"
METALLB = ("metallb.universe.tf/", "metallb.io/")
GCP = ("cloud.google.com/", "networking.gke.io/")
#: ``spec.loadBalancerClass`` of the AWS Load Balancer Controller.
AWS_LB_CLASS = "service.k8s.aws/nlb"
#: Cilium's and kube-vip's ``spec.loadBalancerClass`` values.
CILIUM_L2_CLASS = "io.cilium/l2-announcer"
CILIUM_BGP_CLASS = "io.cilium/bgp-control-plane"
KUBE_VIP_CLASS = "kube-vip.io/kube-vip-class"
KUBE_VIP = "kube-vip.io/"
#: The label prefix of k3s's ServiceLB controller (``svccontroller.`` + version.Program + ``.cattle.io``).
K3S_SERVICELB = "svccontroller.k3s.cattle.io/"
#: PROXY protocol and client IP preservation, as the AWS Load Balancer Controller reads them.
AWS_PROXY_PROTOCOL = AWS + "proxy-protocol"
AWS_TG_ATTRIBUTES = AWS + "target-group-attributes"
#: MetalLB objects that mean BGP announcements.
METALLB_BGP_KINDS = frozenset(("BGPAdvertisement", "BGPPeer"))


def lb_hint(
    annotations: Mapping[str, str], lb_class: str | None, *, metallb_bgp: bool, k3s: bool = False
) -> tuple[LoadBalancerProfile, str] | None:
    """The profile the annotations (or ``spec.loadBalancerClass``) point to, and why; ``None`` if none do.
    ``k3s``: the input carries k3s ServiceLB labels (``svccontroller.k3s.cattle.io/*``)."""
    target = annotations.get(AWS_TARGET_TYPE)
    kind = annotations.get(AWS_TYPE)
    if target == "ip":
        return LoadBalancerProfile.AWS_NLB_IP, f"from annotation {AWS_TARGET_TYPE}: ip (the NLB targets pod IPs)"
    if kind == "nlb-ip":
        return LoadBalancerProfile.AWS_NLB_IP, f"from annotation {AWS_TYPE}: nlb-ip (the NLB targets pod IPs)"
    checked = "health-checks the healthCheckNodePort under eTP Local"
    if target == "instance":
        return LoadBalancerProfile.AWS_NLB_INSTANCE, f"from annotation {AWS_TARGET_TYPE}: instance (the NLB {checked})"
    if kind == "external":
        return (
            LoadBalancerProfile.AWS_NLB_INSTANCE,
            f"from annotation {AWS_TYPE}: external (AWS Load Balancer Controller; instance targets by default)",
        )
    if kind == "nlb":
        return (
            LoadBalancerProfile.HEALTH_CHECKED,
            f"from annotation {AWS_TYPE}: nlb (the AWS cloud provider's NLB: instance targets; the LB {checked})",
        )
    if lb_class == AWS_LB_CLASS:
        return LoadBalancerProfile.AWS_NLB_INSTANCE, f"from spec.loadBalancerClass: {lb_class} (instance targets)"
    if lb_class == CILIUM_L2_CLASS:
        return LoadBalancerProfile.CILIUM_L2, f"from spec.loadBalancerClass: {lb_class} (Cilium L2 announcements)"
    if lb_class == CILIUM_BGP_CLASS:
        return LoadBalancerProfile.CILIUM_BGP, f"from spec.loadBalancerClass: {lb_class} (Cilium BGP control plane)"
    if lb_class == KUBE_VIP_CLASS:
        return LoadBalancerProfile.KUBE_VIP, f"from spec.loadBalancerClass: {lb_class} (kube-vip, ARP)"
    for key in sorted(annotations):
        if key.startswith(AWS):
            return (
                LoadBalancerProfile.AWS_CLASSIC_ELB,
                f"from annotation {key} without {AWS_TYPE}: nlb (the AWS cloud provider's Classic ELB, a TCP proxy "
                "that probes the healthCheckNodePort; with the AWS Load Balancer Controller's webhook: "
                "--load-balancer aws-nlb-instance)",
            )
    for key in sorted(annotations):
        if key.startswith(METALLB):
            if metallb_bgp:
                return LoadBalancerProfile.METALLB_BGP, f"from annotation {key} (MetalLB; the manifests configure BGP)"
            return LoadBalancerProfile.METALLB_L2, f"from annotation {key} (MetalLB, layer 2: no BGP in the manifests)"
    for key in sorted(annotations):
        if key.startswith(GCP):
            return LoadBalancerProfile.HEALTH_CHECKED, f"from annotation {key} (a GCP load balancer {checked})"
        if key.startswith(AZURE):
            return LoadBalancerProfile.HEALTH_CHECKED, f"from annotation {key} (an Azure load balancer {checked})"
        if key.startswith(KUBE_VIP):
            return LoadBalancerProfile.KUBE_VIP, f"from annotation {key} (kube-vip, ARP)"
    if k3s and lb_class is None:
        return (
            LoadBalancerProfile.K3S_SERVICELB,
            f"from labels {K3S_SERVICELB}* in the input (k3s ServiceLB serves Services without a loadBalancerClass)",
        )
    return None


def proxy_protocol(annotations: Mapping[str, str]) -> bool:
    """The load balancer sends PROXY protocol headers: ``aws-load-balancer-proxy-protocol: "*"`` (the only value
    the AWS LBC and the in-tree provider accept), or ``proxy_protocol_v2.enabled=true`` among the target-group
    attributes (AWS LBC ``tgAttrsProxyProtocolV2Enabled``)."""
    return (
        annotations.get(AWS_PROXY_PROTOCOL) == "*" or _tg_attribute(annotations, "proxy_protocol_v2.enabled") == "true"
    )


def preserve_client_ip(annotations: Mapping[str, str]) -> bool | None:
    """``preserve_client_ip.enabled`` among the target-group attributes, if set (AWS LBC
    ``tgAttrsPreserveClientIPEnabled``); ``None`` leaves the target type's default."""
    value = _tg_attribute(annotations, "preserve_client_ip.enabled")
    return None if value is None else value == "true"


def _tg_attribute(annotations: Mapping[str, str], key: str) -> str | None:
    """One ``key=value`` of the comma-separated ``aws-load-balancer-target-group-attributes`` annotation."""
    for part in annotations.get(AWS_TG_ATTRIBUTES, "").split(","):
        name, _, value = part.partition("=")
        if name.strip() == key:
            return value.strip().lower()
    return None


def requested_ips(annotations: Mapping[str, str]) -> tuple[str, ...]:
    """The addresses MetalLB is asked for (``metallb.io/loadBalancerIPs``, comma-separated)."""
    for prefix in METALLB:
        value = annotations.get(prefix + "loadBalancerIPs")
        if value:
            return tuple(part.strip() for part in value.split(",") if part.strip())
    return ()
