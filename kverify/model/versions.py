"""The Kubernetes versions kverify models, and the kube-proxy feature gates that change routing.

A version is a minor release number (``34`` for v1.34); patch releases are not told apart (a fix
backported to a patch release is modelled from that minor, and the rule says so). Each gate lists
the minor where it appeared (alpha, off by default), where it became on by default, and where it
went GA and was locked on: :func:`gate_defaults` gives a version's defaults, as kube-proxy's
``--feature-gates`` start from them.
"""

from __future__ import annotations

import attrs

#: Oldest and newest modelled minor releases of Kubernetes (v1.24 .. v1.34).
OLDEST, NEWEST = 24, 34
VERSIONS = tuple(range(OLDEST, NEWEST + 1))


def spell(minor: int) -> str:
    return f"v1.{minor}"


def parse_version(text: str) -> int:
    """``"1.31"``, ``"v1.31"`` or ``"1.31.4"`` -> 31; ``ValueError`` naming the modelled range."""
    word = text.strip().removeprefix("v")
    parts = word.split(".")
    if len(parts) in (2, 3) and parts[0] == "1" and all(p.isdigit() for p in parts[1:]):
        minor = int(parts[1])
        if OLDEST <= minor <= NEWEST:
            return minor
    raise ValueError(
        f"Unsupported value: {text!r}: supported values: 1.{OLDEST} through 1.{NEWEST} (the versions kverify models)"
    )


@attrs.frozen(kw_only=True)
class Gate:
    """A kube-proxy feature gate whose value changes routing."""

    name: str
    alpha: int  # minor where it appeared, off by default
    default_on: int  # minor from which it is on by default (beta or GA)
    locked: int | None  # minor from which it is GA and cannot be turned off
    effect: str  # what turning it on changes, in Kubernetes words
    source: str

    def exists(self, minor: int) -> bool:
        return minor >= self.alpha

    def default(self, minor: int) -> bool:
        return minor >= self.default_on


GATES: dict[str, Gate] = {
    g.name: g
    for g in (
        Gate(
            name="ProxyTerminatingEndpoints",
            alpha=22,
            default_on=26,
            locked=28,
            effect="serving-terminating endpoints become a fallback when no Ready endpoint is usable",
            source="KEP-1669; pkg/features/kube_features.go",
        ),
        Gate(
            name="TopologyAwareHints",
            alpha=21,
            default_on=24,
            locked=33,
            effect="kube-proxy honours EndpointSlice zone hints",
            source="KEP-2433; pkg/features/kube_features.go",
        ),
        Gate(
            name="ServiceTrafficDistribution",
            alpha=30,
            default_on=31,
            locked=33,
            effect="spec.trafficDistribution; kube-proxy honours hints whatever the Service's annotations say",
            source="KEP-4444; kubernetes/kubernetes#123487",
        ),
        Gate(
            name="PreferSameTrafficDistribution",
            alpha=33,
            default_on=34,
            locked=None,
            effect="kube-proxy honours EndpointSlice node hints (trafficDistribution PreferSameNode)",
            source="KEP-3015; pkg/features/kube_features.go",
        ),
        Gate(
            name="LoadBalancerIPMode",
            alpha=29,
            default_on=30,
            locked=32,
            effect="status.loadBalancer.ingress[].ipMode: Proxy LB IPs get no proxy rules",
            source="KEP-1860; pkg/proxy/util/utils.go IsVIPMode",
        ),
        Gate(
            name="NFTablesProxyMode",
            alpha=29,
            default_on=31,
            locked=33,
            effect="kube-proxy accepts --proxy-mode=nftables",
            source="KEP-3866; pkg/features/kube_features.go",
        ),
        Gate(
            name="MultiCIDRServiceAllocator",
            alpha=27,
            default_on=33,
            locked=34,
            effect="kube-proxy watches ServiceCIDR objects; nftables drops traffic to their unallocated addresses",
            source="KEP-1880; pkg/features/kube_features.go; cmd/kube-proxy/app/server.go (NewServiceCIDRConfig)",
        ),
        Gate(
            name="KubeProxyDrainingTerminatingNodes",
            alpha=28,
            default_on=30,
            locked=31,
            effect="kube-proxy's /healthz fails on a node being deleted or tainted ToBeDeletedByClusterAutoscaler",
            source="KEP-3836; pkg/proxy/healthcheck/proxy_health.go",
        ),
    )
}


def gate_defaults(minor: int) -> dict[str, bool]:
    """Every modelled gate's value at ``minor`` with no ``--feature-gates``."""
    return {name: gate.default(minor) for name, gate in GATES.items()}


def resolve_gates(minor: int, overrides: tuple[tuple[str, bool], ...]) -> dict[str, bool]:
    """The gates kube-proxy runs with; ``ValueError`` for a gate unknown to kverify, absent from that
    version, or locked to its default (kube-proxy refuses those too)."""
    gates = gate_defaults(minor)
    for name, value in overrides:
        gate = GATES.get(name)
        if gate is None:
            known = ", ".join(sorted(GATES))
            raise ValueError(f"unrecognized feature gate: {name} (gates that change routing: {known})")
        if not gate.exists(minor):
            raise ValueError(f"unrecognized feature gate: {name} (added in {spell(gate.alpha)})")
        if gate.locked is not None and minor >= gate.locked and value is not True:
            raise ValueError(f"cannot set feature gate {name} to {str(value).lower()}, feature is locked to true")
        gates[name] = value
    return gates


def parse_feature_gates(text: str) -> tuple[tuple[str, bool], ...]:
    """``"A=true,B=false"`` (kube-proxy's ``--feature-gates`` syntax) -> pairs; ``ValueError`` if malformed."""
    pairs = []
    for item in text.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep or not name or value.strip().lower() not in ("true", "false"):
            raise ValueError(f"Invalid value: {item.strip()!r}: must be Name=true or Name=false")
        pairs.append((name.strip(), value.strip().lower() == "true"))
    return tuple(pairs)


def describe(dataplane: str, minor: int, overrides: tuple[tuple[str, bool], ...], cilium: object = None) -> str:
    """``"kube-proxy iptables, Kubernetes v1.34 (default feature gates)"``: what an answer holds for.
    ``cilium`` (a ``CiliumSettings``) names the Cilium version and Helm options on Cilium dataplanes."""
    gates = ", ".join(f"{n}={str(v).lower()}" for n, v in overrides) or "default feature gates"
    if dataplane.startswith("cilium"):
        release = getattr(cilium, "release", None)
        helm = ", ".join(getattr(cilium, "helm_values", tuple)()) or "chart defaults"
        named = f"Cilium v{release} ({dataplane}; {helm})" if release is not None else f"Cilium ({dataplane})"
        return f"{named}; Kubernetes v1.{minor}"
    return f"{dataplane}, Kubernetes v1.{minor} ({gates})"
