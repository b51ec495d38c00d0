"""Which load balancer a LoadBalancer Service will get, from well-known annotations.

Used only when the user has not chosen a profile (``--load-balancer``, a spec's
``environment.loadBalancer``): :meth:`kverify.model.cluster.Cluster.load_balancer_for` decides. Each
mapping is the documented behaviour of the controller that reads the annotation:

- AWS Load Balancer Controller (``kubernetes-sigs/aws-load-balancer-controller``
  ``pkg/service/model_build_target_group.go`` ``buildTargetType``): ``aws-load-balancer-type: nlb-ip``
  or ``aws-load-balancer-nlb-target-type: ip`` give IP targets (``ip-target``: the NLB sends to pod
  IPs); otherwise instance targets, whose health check under eTP Local is the healthCheckNodePort
  (``buildTargetGroupHealthCheckConfig`` -> ``...ForInstanceModeLocal``): ``health-checked``. The
  in-tree AWS provider (``aws-load-balancer-type: nlb``, classic ELBs: any other
  ``service.beta.kubernetes.io/aws-load-balancer-*`` annotation) checks the healthCheckNodePort too
  (``kubernetes/cloud-provider-aws`` ``pkg/providers/v1/aws_loadbalancer.go``, via
  ``GetServiceHealthCheckPathPort``).
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
#: MetalLB objects that mean BGP announcements.
METALLB_BGP_KINDS = frozenset(("BGPAdvertisement", "BGPPeer"))


def lb_hint(
    annotations: Mapping[str, str], lb_class: str | None, *, metallb_bgp: bool
) -> tuple[LoadBalancerProfile, str] | None:
    """The profile the annotations (or ``spec.loadBalancerClass``) point to, and why; ``None`` if none do."""
    target = annotations.get(AWS_TARGET_TYPE)
    kind = annotations.get(AWS_TYPE)
    if target == "ip":
        return LoadBalancerProfile.IP_TARGET, f"from annotation {AWS_TARGET_TYPE}: ip (the NLB targets pod IPs)"
    if kind == "nlb-ip":
        return LoadBalancerProfile.IP_TARGET, f"from annotation {AWS_TYPE}: nlb-ip (the NLB targets pod IPs)"
    checked = "health-checks the healthCheckNodePort under eTP Local"
    if target == "instance":
        return LoadBalancerProfile.HEALTH_CHECKED, f"from annotation {AWS_TARGET_TYPE}: instance (the NLB {checked})"
    if kind is not None:
        return (
            LoadBalancerProfile.HEALTH_CHECKED,
            f"from annotation {AWS_TYPE}: {kind} (instance targets; the LB {checked})",
        )
    if lb_class == AWS_LB_CLASS:
        return LoadBalancerProfile.HEALTH_CHECKED, f"from spec.loadBalancerClass: {lb_class} (instance targets)"
    for key in sorted(annotations):
        if key.startswith(AWS):
            return LoadBalancerProfile.HEALTH_CHECKED, f"from annotation {key} (an AWS load balancer {checked})"
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
    return None


def requested_ips(annotations: Mapping[str, str]) -> tuple[str, ...]:
    """The addresses MetalLB is asked for (``metallb.io/loadBalancerIPs``, comma-separated)."""
    for prefix in METALLB:
        value = annotations.get(prefix + "loadBalancerIPs")
        if value:
            return tuple(part.strip() for part in value.split(",") if part.strip())
    return ()
