"""Cilium's kube-proxy replacement: the versions kverify models and the Helm options that change routing.

A version is a Cilium minor release (``16`` for v1.16). Patch releases are told apart only where a
patch release changed routing (``CiliumSettings.patch``; v1.18.0-v1.18.5 applied
``loadBalancerSourceRanges`` to every frontend type, fixed in v1.18.6); a version given without a patch
is that minor's newest patch, as for kube-proxy. The Helm
options are the chart's keys (``install/kubernetes/cilium/values.yaml``), given as ``helm --set`` takes
them (``bpf.lbExternalClusterIP=true,loadBalancer.mode=hybrid``). The dataplane itself stays
``cilium-snat`` or ``cilium-dsr`` (``loadBalancer.mode`` snat or dsr); ``hybrid`` is DSR for TCP and
SNAT for everything else, so a hybrid cluster's flow runs on one of the two
(``ProxyConfig.dataplane_for``).

Options whose effect kverify does not model are refused when set away from their default, rather
than silently ignored: an answer that assumed the default would be a guess. ``socketLB.enabled=false`` is
accepted and changes nothing: with ``kubeProxyReplacement=true`` (the dataplanes kverify models) the agent
turns socket-LB on whatever the option (pkg/kpr/kpr.go NewKPRConfig ``if flags.KubeProxyReplacement {
cfg.EnableSocketLB = true }``; before v1.18 daemon/cmd/kube_proxy_replacement.go
initKubeProxyReplacementOptions, and ``EnableHostReachableServices`` in v1.12's strict mode;
cilium/cilium#26758, #47417).
"""

from __future__ import annotations

import attrs
from attrs import validators as v

#: Oldest and newest modelled Cilium minor releases (v1.12 .. v1.19).
OLDEST_CILIUM, NEWEST_CILIUM = 12, 19
CILIUM_VERSIONS = tuple(range(OLDEST_CILIUM, NEWEST_CILIUM + 1))
#: ``serviceNoBackendResponse`` exists from this minor (cilium/cilium#28157); before it Cilium drops.
NO_BACKEND_RESPONSE_SINCE = 15
#: ``bpf.lbSourceRangeAllTypes`` exists from this minor: cilium/cilium PR #35512 "support service source
#: ranges also for other types" (merged 2024-10 for v1.17; v1.16 got only the partial backport #36511, the
#: checkLBSrcRange propagation fix, not the option).
SOURCE_RANGE_ALL_TYPES_SINCE = 17
#: The new services control plane (pkg/loadbalancer, v1.18) applied loadBalancerSourceRanges to every
#: frontend type by default (cilium/cilium#42334, reported on v1.18.2); fixed by PR #42351 (v1.19) and its
#: backport #43575, released in v1.18.6 (release notes of v1.18.6, 2026-01-13).
SOURCE_RANGE_REGRESSION = (18, 6)  # (minor, first fixed patch)
#: The ``socketLB.*`` Helm keys exist from this minor: PR #20369 "Rename host-reachable services to socket LB"
#: (v1.13; v1.12 spells them ``hostServices.*``).
SOCKET_LB_KEYS_SINCE = 13
#: Cilium's default ``--ipv4-service-loopback-address`` (pkg/defaults LoopbackIPv4): the source of a pod's
#: packet to itself through a Service when the per-packet load balancer translates it.
SERVICE_LOOPBACK_IPV4 = "169.254.42.1"

MODES = ("snat", "dsr", "hybrid")
RESPONSES = ("reject", "drop")


def spell_cilium(minor: int) -> str:
    return f"Cilium v1.{minor}"


def parse_cilium_version(text: str) -> int:
    """``"1.16"``, ``"v1.16"`` or ``"1.16.3"`` -> 16; ``ValueError`` naming the modelled range."""
    return parse_cilium_release(text)[0]


def parse_cilium_release(text: str) -> tuple[int, int | None]:
    """``"1.18.2"`` -> ``(18, 2)``, ``"v1.16"`` -> ``(16, None)``; ``ValueError`` naming the modelled range."""
    word = text.strip().removeprefix("v")
    parts = word.split(".")
    if len(parts) in (2, 3) and parts[0] == "1" and all(p.isdigit() for p in parts[1:]):
        minor = int(parts[1])
        if OLDEST_CILIUM <= minor <= NEWEST_CILIUM:
            return minor, int(parts[2]) if len(parts) == 3 else None
    raise ValueError(
        f"Unsupported value: {text!r}: supported values: 1.{OLDEST_CILIUM} through 1.{NEWEST_CILIUM} "
        "(the Cilium versions kverify models)"
    )


@attrs.frozen(kw_only=True)
class CiliumSettings:
    """The Cilium version and the Helm options that change Service routing (chart defaults)."""

    version: int = attrs.field(
        default=NEWEST_CILIUM, validator=v.and_(v.instance_of(int), v.ge(OLDEST_CILIUM), v.le(NEWEST_CILIUM))
    )
    #: ``bpf.lbExternalClusterIP``: ClusterIPs are reachable from outside the cluster.
    external_cluster_ip: bool = attrs.field(default=False, validator=v.instance_of(bool))
    #: ``serviceNoBackendResponse``: ``reject`` (ICMP port unreachable) or ``drop``, from v1.15.
    no_backend_response: str = attrs.field(default="reject", validator=v.in_(RESPONSES))
    #: ``loadBalancer.mode`` was ``hybrid`` (DSR for TCP, SNAT otherwise); snat/dsr are the dataplane.
    hybrid: bool = attrs.field(default=False, validator=v.instance_of(bool))
    #: ``bpf.lbSourceRangeAllTypes``: loadBalancerSourceRanges also guard the NodePort, externalIP and
    #: (routable) ClusterIP frontends of the Service, from v1.17.
    source_range_all_types: bool = attrs.field(default=False, validator=v.instance_of(bool))
    #: ``socketLB.hostNamespaceOnly``: socket-LB translates host processes' connect() only; pods' packets are
    #: translated per packet by bpf_lxc (the tc program on their veth), from v1.13.
    socket_lb_host_namespace_only: bool = attrs.field(default=False, validator=v.instance_of(bool))
    #: ``socketLB.enabled=false`` was given: it changes nothing, the kube-proxy replacement turns socket-LB on
    #: whatever the option (kept so that reports and reproduce commands say what was asked).
    socket_lb_disabled_ignored: bool = attrs.field(default=False, validator=v.instance_of(bool))
    #: The patch release, when given (``2`` for v1.18.2); ``None``: the minor's newest patch.
    patch: int | None = attrs.field(default=None, validator=v.optional(v.and_(v.instance_of(int), v.ge(0))))

    @source_range_all_types.validator
    def _all_types_exists(self, _attribute: object, value: bool) -> None:
        if value and self.version < SOURCE_RANGE_ALL_TYPES_SINCE:
            raise ValueError(
                f"bpf.lbSourceRangeAllTypes: not an option of Cilium v1.{self.version} "
                f"(added in v1.{SOURCE_RANGE_ALL_TYPES_SINCE}, cilium/cilium#35512)"
            )

    @no_backend_response.validator
    def _exists(self, _attribute: object, value: str) -> None:
        if value != "reject" and self.version < NO_BACKEND_RESPONSE_SINCE:
            raise ValueError(
                f"serviceNoBackendResponse: not an option of Cilium v1.{self.version} "
                f"(added in v1.{NO_BACKEND_RESPONSE_SINCE})"
            )

    @socket_lb_host_namespace_only.validator
    @socket_lb_disabled_ignored.validator
    def _socket_lb_keys_exist(self, _attribute: object, value: bool) -> None:
        if value and self.version < SOCKET_LB_KEYS_SINCE:
            raise ValueError(
                f"socketLB: not a Helm key of Cilium v1.{self.version} "
                f"(hostServices.* until v1.{SOCKET_LB_KEYS_SINCE - 1}, renamed by cilium/cilium#20369)"
            )

    @property
    def pods_use_socket_lb(self) -> bool:
        """Pods' connect() is translated by socket-LB (else per packet by bpf_lxc)."""
        return not self.socket_lb_host_namespace_only

    @property
    def release(self) -> str:
        """``"1.18.2"``, or ``"1.18"`` when no patch was given."""
        return f"1.{self.version}" + (f".{self.patch}" if self.patch is not None else "")

    @property
    def source_ranges_on_all_types(self) -> bool:
        """loadBalancerSourceRanges guard every frontend type: the option, or a v1.18 patch release before the
        fix of the default (cilium/cilium#42334, fixed in v1.18.6 by #43575)."""
        minor, fixed = SOURCE_RANGE_REGRESSION
        regressed = self.version == minor and self.patch is not None and self.patch < fixed
        return self.source_range_all_types or regressed

    @property
    def rejects_no_backend(self) -> bool:
        """A frontend without backends answers ICMP port unreachable (else the packet is dropped)."""
        return self.version >= NO_BACKEND_RESPONSE_SINCE and self.no_backend_response == "reject"

    def helm_values(self) -> tuple[str, ...]:
        """``KEY=VALUE`` for every option away from its default (what reproduces these settings)."""
        words = []
        if self.external_cluster_ip:
            words.append("bpf.lbExternalClusterIP=true")
        if self.no_backend_response != "reject":
            words.append(f"serviceNoBackendResponse={self.no_backend_response}")
        if self.hybrid:
            words.append("loadBalancer.mode=hybrid")
        if self.source_range_all_types:
            words.append("bpf.lbSourceRangeAllTypes=true")
        if self.socket_lb_disabled_ignored:
            words.append("socketLB.enabled=false")
        if self.socket_lb_host_namespace_only:
            words.append("socketLB.hostNamespaceOnly=true")
        return tuple(words)


#: Helm keys that change routing in ways kverify does not model yet, with their chart defaults:
#: setting one away from its default is refused (exit 2), never answered as if it were the default.
NOT_MODELLED = {
    "loadBalancer.serviceTopology": "false",
}
#: Why each option in NOT_MODELLED is not modelled yet (docs/research/cilium-helm-options.md).
NOT_MODELLED_WHY = {
    "loadBalancer.serviceTopology": "Cilium reads EndpointSlice hints unlike kube-proxy and differently by version "
    "(the service cache's filterEndpoints falls back to every backend when no hint names the node's zone; the new "
    "control plane's topology-aware.txtar, run with --enable-experimental-lb, leaves the frontend without "
    "backends; prefer-same-zone-fallback.txtar adds PreferSameZone with a fallback), not yet transcribed",
}


def parse_helm_sets(text: str, version: int, mode: str, patch: int | None = None) -> tuple[CiliumSettings, str]:
    """``"bpf.lbExternalClusterIP=true,loadBalancer.mode=hybrid"`` -> settings and the mode (snat/dsr)
    the dataplane must be; ``ValueError`` with the chart key for anything wrong or not modelled."""
    settings = CiliumSettings(version=version, patch=patch)
    for item in (i.strip() for i in text.split(",") if i.strip()):
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key:
            raise ValueError(f"Invalid value: {item!r}: must be KEY=VALUE, as helm --set takes it")
        if key == "bpf.lbExternalClusterIP":
            settings = attrs.evolve(settings, external_cluster_ip=_boolean(key, value))
        elif key == "serviceNoBackendResponse":
            if value not in RESPONSES:
                raise ValueError(f'{key}: Unsupported value: {value!r}: supported values: "reject", "drop"')
            if version < NO_BACKEND_RESPONSE_SINCE:
                raise ValueError(
                    f"{key}: not an option of Cilium v1.{version} (added in v1.{NO_BACKEND_RESPONSE_SINCE})"
                )
            settings = attrs.evolve(settings, no_backend_response=value)
        elif key == "loadBalancer.mode":
            if value not in MODES:
                raise ValueError(f'{key}: Unsupported value: {value!r}: supported values: "snat", "dsr", "hybrid"')
            settings = attrs.evolve(settings, hybrid=value == "hybrid")
            mode = "dsr" if value == "hybrid" else value
        elif key == "bpf.lbSourceRangeAllTypes":
            enabled = _boolean(key, value)
            if enabled and version < SOURCE_RANGE_ALL_TYPES_SINCE:
                raise ValueError(
                    f"{key}: not an option of Cilium v1.{version} "
                    f"(added in v1.{SOURCE_RANGE_ALL_TYPES_SINCE}, cilium/cilium#35512)"
                )
            settings = attrs.evolve(settings, source_range_all_types=enabled)
        elif key in ("socketLB.enabled", "socketLB.hostNamespaceOnly"):
            enabled = _boolean(key, value)
            if version < SOCKET_LB_KEYS_SINCE:
                raise ValueError(
                    f"{key}: not a Helm key of Cilium v1.{version} (hostServices.* until "
                    f"v1.{SOCKET_LB_KEYS_SINCE - 1}, renamed by cilium/cilium#20369)"
                )
            if key == "socketLB.enabled":
                settings = attrs.evolve(settings, socket_lb_disabled_ignored=not enabled)
            else:
                settings = attrs.evolve(settings, socket_lb_host_namespace_only=enabled)
        elif key in NOT_MODELLED:
            if value.lower() != NOT_MODELLED[key]:
                raise ValueError(
                    f"{key}={value}: kverify does not model this option away from its default "
                    f"({NOT_MODELLED[key]}) yet, and will not answer as if it were the default: {NOT_MODELLED_WHY[key]}"
                )
        else:
            known = ", ".join(
                [
                    "bpf.lbExternalClusterIP",
                    "bpf.lbSourceRangeAllTypes",
                    "loadBalancer.mode",
                    "serviceNoBackendResponse",
                    "socketLB.enabled",
                    "socketLB.hostNamespaceOnly",
                    *NOT_MODELLED,
                ]
            )
            raise ValueError(f"{key}: not a Helm option kverify reads (options that change routing: {known})")
    return settings, mode


def _boolean(key: str, value: str) -> bool:
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError(f"{key}: Invalid value: {value!r}: must be true or false")
