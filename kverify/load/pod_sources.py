"""Objects kverify does not model that may create pods (a Job, an operator's custom resource).

A Service no modelled workload serves is a design flaw, unless its pods come from an object kverify
skipped: kube-prometheus's ``Prometheus`` and ``Alertmanager`` resources, from which the operator
makes StatefulSets, are served by the Services beside them. Such a Service is then decided Unknown,
never refuted. The kinds below are the ones known to create no pods; every other skipped kind may.
"""

from __future__ import annotations

#: Kubernetes API kinds that create no pods (of the API groups Kubernetes serves itself).
_POD_LESS_KUBERNETES = frozenset(
    {
        "APIService", "Binding", "CSIDriver", "CSINode", "CSIStorageCapacity", "CertificateSigningRequest",
        "ClusterRole", "ClusterRoleBinding", "ClusterTrustBundle", "ConfigMap", "ControllerRevision",
        "CustomResourceDefinition", "Endpoints", "Event", "FlowSchema", "IPAddress", "Ingress", "IngressClass",
        "Lease", "LimitRange", "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding",
        "MutatingWebhookConfiguration", "Namespace", "PersistentVolume", "PersistentVolumeClaim",
        "PodDisruptionBudget", "PodTemplate", "PriorityClass", "PriorityLevelConfiguration", "ResourceQuota",
        "Role", "RoleBinding", "RuntimeClass", "Secret", "ServiceAccount", "ServiceCIDR", "StorageClass",
        "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "ValidatingWebhookConfiguration",
        "VolumeAttachment", "VolumeAttributesClass",
    }
)  # fmt: skip

#: Custom resources of well-known projects that configure, and run nothing: (API group, kind).
_POD_LESS_CUSTOM = frozenset(
    {
        *(
            ("monitoring.coreos.com", k)
            for k in ("ServiceMonitor", "PodMonitor", "PrometheusRule", "Probe", "AlertmanagerConfig", "ScrapeConfig")
        ),
        *(("cert-manager.io", k) for k in ("Certificate", "CertificateRequest", "Issuer", "ClusterIssuer")),
        *(
            ("gateway.networking.k8s.io", k)
            for k in ("GatewayClass", "HTTPRoute", "GRPCRoute", "TCPRoute", "TLSRoute", "UDPRoute", "ReferenceGrant")
        ),
        *(("metallb.io", k) for k in ("IPAddressPool", "L2Advertisement", "BGPAdvertisement", "BGPPeer", "Community")),
        ("kustomize.config.k8s.io", "Kustomization"),
    }
)

#: Groups ending in .k8s.io that are custom resources, not served by Kubernetes itself.
_CUSTOM_K8S_IO = frozenset({"gateway.networking.k8s.io", "kustomize.config.k8s.io"})


def _kubernetes_group(group: str) -> bool:
    """ "" (core), apps, batch, policy...; networking.k8s.io, rbac.authorization.k8s.io..."""
    if group.endswith(".x-k8s.io") or group in _CUSTOM_K8S_IO:
        return False
    return "." not in group or group.endswith(".k8s.io")


def may_create_pods(api_version: object, kind: str) -> bool:
    """Whether a skipped object of this apiVersion and kind may create pods (False only when known not to)."""
    group = api_version.rpartition("/")[0] if isinstance(api_version, str) else ""
    if _kubernetes_group(group):
        return kind not in _POD_LESS_KUBERNETES
    return (group, kind) not in _POD_LESS_CUSTOM
