"""The API server's validation where it changes what kverify concludes, in the API server's words.

Checks on one object's name or fields run as the object is read; checks across objects (a nodePort or
ClusterIP given to two Services) run once everything is read. Only values the user wrote are checked
for uniqueness: values kverify fills in (``Service.allocated``) are the allocator's job to keep apart.

Sources (kubernetes/kubernetes, v1.33):

- names: ``pkg/apis/core/validation/validation.go`` ``ValidateServiceName`` (DNS-1035 label),
  ``ValidateNodeName``, ``ValidateEndpointSliceName`` and friends (DNS-1123 subdomain),
  ``ValidateNamespaceName`` (DNS-1123 label); the messages are those of
  ``staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go`` (``IsDNS1035Label``...);
- ``externalTrafficPolicy`` and ``healthCheckNodePort``: ``validation.go``
  ``validateServiceExternalTrafficPolicy``; externally accessible is ``pkg/api/v1/service/util.go``
  ``ExternallyAccessible`` (NodePort, LoadBalancer, or ClusterIP with externalIPs);
- nodePorts and ClusterIPs held by two Services: ``pkg/registry/core/service/storage/alloc.go``
  (``allocNodePorts``, ``allocHealthCheckNodePort``, ``allocIPs``) with the allocators' ``ErrAllocated``
  (``provided port is already allocated``, ``provided IP is already allocated``); a healthCheckNodePort
  equal to one of the Service's own nodePorts fails the same way (``allocHealthCheckNodePort``:
  ``failed to allocate requested HealthCheck NodePort %v: %v``, after ``initNodePorts`` took the port);
- one Service's nodePorts: ``ValidateService`` "Check for duplicate NodePorts, considering (protocol,port)
  pairs" (``field.Duplicate``: a TCP and a UDP port may share a nodePort);
- ``loadBalancerSourceRanges`` (or its legacy annotation) on a Service that is not a LoadBalancer:
  ``ValidateService`` (``field.Forbidden``, "may only be used when `type` is 'LoadBalancer'"): rejected,
  not ignored, so kverify rejects it too (v1.33 source read; the check predates v1.24).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from kverify.load.fields import Ctx, Path, invalid, quote

_DNS1035 = r"[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = _DNS1123_LABEL + r"(\." + _DNS1123_LABEL + r")*"


def _examples(*examples: str) -> str:
    # apimachinery's RegexError: "(e.g. 'my-name',  or 'abc-123', regex used for validation is '...')"
    return " or ".join(f"'{e}', " for e in examples)


#: (regex, max length, message) as apimachinery's IsDNS1035Label, IsDNS1123Label, IsDNS1123Subdomain.
FORMATS = {
    "DNS-1035 label": (
        re.compile(_DNS1035 + r"\Z"),
        63,
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
        "alphabetic character, and end with an alphanumeric character (e.g. "
        f"{_examples('my-name', 'abc-123')}regex used for validation is '{_DNS1035}')",
    ),
    "DNS-1123 label": (
        re.compile(_DNS1123_LABEL + r"\Z"),
        63,
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
        f"start and end with an alphanumeric character (e.g. {_examples('my-name', '123-abc')}"
        f"regex used for validation is '{_DNS1123_LABEL}')",
    ),
    "DNS-1123 subdomain": (
        re.compile(_DNS1123_SUBDOMAIN + r"\Z"),
        253,
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
        f"and must start and end with an alphanumeric character (e.g. {_examples('example.com')}"
        f"regex used for validation is '{_DNS1123_SUBDOMAIN}')",
    ),
}
#: The name format of each kind kverify models (``ValidateServiceName`` is the odd one out).
NAME_FORMATS = {
    "Service": "DNS-1035 label",
    "Node": "DNS-1123 subdomain",
    "EndpointSlice": "DNS-1123 subdomain",
    "Endpoints": "DNS-1123 subdomain",
    "Pod": "DNS-1123 subdomain",
    "NetworkPolicy": "DNS-1123 subdomain",
    "ServiceCIDR": "DNS-1123 subdomain",  # ValidateServiceCIDRName = NameIsDNSSubdomain
}


#: Each kind's name format as (its pattern's match, its longest length, its name): one lookup per object.
_NAME_RULES = {kind: (FORMATS[name][0].match, FORMATS[name][1], name) for kind, name in NAME_FORMATS.items()}


def name_problems(value: str, format_name: str) -> list[str]:
    """apimachinery's messages for ``value`` as a name of this format (empty: valid)."""
    pattern, longest, message = FORMATS[format_name]
    found = []
    if len(value) > longest:
        found.append(f"must be no more than {longest} characters")
    if not pattern.match(value):
        found.append(message)
    return found


def check_name(ctx: Ctx, path: Path, value: str, format_name: str) -> bool:
    """Record each problem with ``value`` as a name of this format; True when it is valid."""
    found = name_problems(value, format_name)
    for message in found:
        ctx.error(path, invalid(value, message))
    return not found


def object_name(ctx: Ctx, kind: str, name: str, namespace: str | None) -> bool:
    """``metadata.name`` (and ``metadata.namespace``) as the API server validates them for ``kind``."""
    ok = True
    rule = _NAME_RULES.get(kind)
    if rule is not None:
        match, longest, format_name = rule
        plain = len(name) <= longest and match(name) is not None  # most names: no message to build
        ok = plain or check_name(ctx, ("metadata", "name"), name, format_name)
        # Cluster-scoped kinds have no namespace. A snapshot has a few namespaces for thousands of
        # objects: each valid one is checked once.
        if namespace is not None and namespace not in _VALID_NAMESPACES and kind not in ("Node", "ServiceCIDR"):
            problems = name_problems(namespace, "DNS-1123 label")
            for message in problems:
                ctx.error(("metadata", "namespace"), invalid(namespace, message))
            if problems:
                ok = False
            elif len(_VALID_NAMESPACES) < 4096:
                _VALID_NAMESPACES.add(namespace)
    return ok


#: Namespaces found valid (as DNS-1123 labels) so far.
_VALID_NAMESPACES: set[str] = set()


def externally_accessible(type_: str, external_ips: Iterable[object]) -> bool:
    """``ExternallyAccessible``: NodePort or LoadBalancer, or ClusterIP with externalIPs."""
    return type_ in ("NodePort", "LoadBalancer") or (type_ == "ClusterIP" and any(True for _ in external_ips))


#: The annotation that stood for ``spec.loadBalancerSourceRanges`` before the field existed.
SOURCE_RANGES_ANNOTATION = "service.beta.kubernetes.io/load-balancer-source-ranges"


def service_spec(
    ctx: Ctx,
    spec: dict[str, Any],
    type_: str,
    base: Path = ("spec",),
    annotations: dict[str, Any] | None = None,
) -> None:
    """``validateServiceExternalTrafficPolicy`` and ``ValidateService``'s source-range check: fields the
    API server refuses on this type of Service (``annotations``: the Service's, when it has some).

    Accepting them would have kverify reason about external traffic to a Service nothing outside
    the cluster can reach (it used to answer "the cluster has no nodes")."""
    ips = spec.get("externalIPs")
    external = externally_accessible(type_, ips if type(ips) is list else ())
    etp = spec.get("externalTrafficPolicy")
    if etp in ("Cluster", "Local") and not external:  # a misspelt value is reported as unsupported
        ctx.error((*base, "externalTrafficPolicy"), invalid(etp, "may only be set for externally-accessible services"))
    health = spec.get("healthCheckNodePort")
    if health not in (None, 0) and not (type_ == "LoadBalancer" and etp == "Local"):
        ctx.error(
            (*base, "healthCheckNodePort"),
            invalid(health, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"),
        )
    ranges = spec.get("loadBalancerSourceRanges")
    if type(ranges) is list and ranges and type_ != "LoadBalancer":
        # ValidateService: `field.Forbidden(specPath.Child("LoadBalancerSourceRanges"), ...)` (the API server's
        # path has a capital L, a historical accident; we point at the field as written, to give its line).
        ctx.error((*base, "loadBalancerSourceRanges"), "Forbidden: may only be used when `type` is 'LoadBalancer'")
    # ...else the legacy annotation, held to the same rule (`else if val, annotationSet := ...`).
    legacy = not (type(ranges) is list and ranges) and SOURCE_RANGES_ANNOTATION in (annotations or {})
    if legacy and type_ != "LoadBalancer":
        ctx.error(
            ("metadata", "annotations", SOURCE_RANGES_ANNOTATION),
            "Forbidden: may only be used when `type` is 'LoadBalancer'",
        )


#: The paths of a Service's first two ClusterIPs (one per IP family) in ``Service.allocated``.
_CLUSTER_IP_PATHS = ("spec.clusterIPs[0]", "spec.clusterIPs[1]")


class Allocations:
    """Node ports and ClusterIPs the user gave, with the first Service that holds each."""

    def __init__(self) -> None:
        self.node_ports: dict[int, str] = {}
        self.cluster_ips: dict[str, str] = {}

    def node_port(self, ctx: Ctx, path: Path, number: int, key: str) -> None:
        """Service ``key`` claims ``number`` (a nodePort or healthCheckNodePort: one allocator)."""
        holder = self.node_ports.setdefault(number, key)
        if holder != key:
            ctx.error(path, invalid(number, f"provided port is already allocated (to Service {holder})"))

    def cluster_ip(self, ctx: Ctx, path: Path, ip: str, key: str) -> None:
        """Service ``key`` claims the ClusterIP ``ip``."""
        holder = self.cluster_ips.setdefault(ip, key)
        if holder != key:
            message = f"failed to allocate IP {ip}: provided IP is already allocated (to Service {holder})"
            ctx.error(path, invalid([ip], message))

    def service(self, ctx: Ctx, key: str, kwargs: dict[str, Any]) -> None:
        """Claim the user-given node ports and ClusterIPs of a Service read from a manifest (the
        keyword arguments :func:`kverify.load.kinds.service_from` returns)."""
        allocated = kwargs.get("allocated") or frozenset()
        own: set[tuple[object, int]] = set()  # (protocol, nodePort): ValidateService's duplicate check
        for i, port in enumerate(kwargs.get("ports") or ()):
            if port.node_port is not None and (not allocated or f"spec.ports[{i}].nodePort" not in allocated):
                path = ("spec", "ports", i, "nodePort")
                if (port.protocol, port.node_port) in own:  # a TCP and a UDP port may share one
                    ctx.error(path, f"Duplicate value: {port.node_port}")
                own.add((port.protocol, port.node_port))
                self.node_port(ctx, path, port.node_port, key)
        health = kwargs.get("health_check_node_port")
        if health is not None and "spec.healthCheckNodePort" not in allocated:
            if any(number == health for _, number in own):
                # alloc.go allocHealthCheckNodePort: the Service's nodePorts are taken first, from the same
                # allocator, so the health check's request fails even though the Service holds the port.
                ctx.error(
                    ("spec", "healthCheckNodePort"),
                    invalid(
                        health,
                        f"failed to allocate requested HealthCheck NodePort {health}: provided port is already "
                        "allocated (to a nodePort of this Service)",
                    ),
                )
            self.node_port(ctx, ("spec", "healthCheckNodePort"), health, key)
        holders = self.cluster_ips
        for j, ip in enumerate(kwargs.get("cluster_ips") or ()):
            # The claim made here (most ClusterIPs: free), cluster_ip's message where it fails. A ClusterIP
            # the API server allocated is claimed by no one; the paths of the first two are spelled once.
            spelled = _CLUSTER_IP_PATHS[j] if j < 2 else f"spec.clusterIPs[{j}]"
            if (not allocated or spelled not in allocated) and holders.setdefault(ip, key) != key:
                self.cluster_ip(ctx, ("spec", "clusterIPs"), ip, key)


def duplicate(ctx: Ctx, path: Path, value: str, first_line: int) -> None:
    """A name given twice where names must be unique (a topology's nodes or Services)."""
    ctx.error(path, f"Duplicate value: {quote(value)}: already defined at line {first_line}")
