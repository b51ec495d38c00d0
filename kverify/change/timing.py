"""How long a load balancer keeps sending to a node after the node stops passing its health check.

Each profile carries its defaults and the source they come from. A probe that answers 503 fails at
once; ``unhealthy_threshold`` failures in a row, ``interval`` apart, mark the node down. In the worst
case the last passing probe ran just before the change, so the node is marked down
``interval x unhealthy_threshold`` seconds later; a node that does not answer at all (it failed) adds
the probe's ``timeout`` to the last probe. Marking a node up again takes ``interval x
healthy_threshold``. kube-proxy's own sync delay (``minSyncPeriod``) is left out: it delays the
health answer and the routing rules alike.
"""

from __future__ import annotations

import math

import attrs

from kverify.errors import InputError, Problem


@attrs.frozen(kw_only=True)
class HealthCheckTiming:
    """A load balancer's node health check. ``interval`` 0 means no probe: the load balancer follows
    the cluster's own state (MetalLB watches EndpointSlices), and ``failure_seconds`` is how long it
    takes to notice a node that died."""

    name: str
    interval: float
    timeout: float
    healthy_threshold: int
    unhealthy_threshold: int
    source: str
    #: Seconds to notice a failed node when there is no probe (MetalLB's memberlist), per node count.
    memberlist: bool = False

    def down_after(self, *, answers: bool = True, nodes: int = 1) -> float:
        """Worst-case seconds from a node starting to fail its check to the load balancer leaving it."""
        if self.memberlist:
            return 0.0 if answers else memberlist_failure_seconds(nodes)
        return self.interval * self.unhealthy_threshold + (0.0 if answers else self.timeout)

    def up_after(self) -> float:
        """Worst-case seconds from a node passing its check again to the load balancer using it."""
        return 0.0 if self.memberlist else self.interval * self.healthy_threshold

    def describe(self) -> str:
        if self.memberlist:
            return f"{self.name} (no probe: follows EndpointSlices; node failure via memberlist)"
        return (
            f"{self.name} (interval {self.interval:g} s, timeout {self.timeout:g} s, "
            f"unhealthy threshold {self.unhealthy_threshold}, healthy threshold {self.healthy_threshold})"
        )


def memberlist_failure_seconds(nodes: int) -> float:
    """hashicorp/memberlist DefaultLANConfig (ProbeInterval 1 s, ProbeTimeout 0.5 s, SuspicionMult 4)
    and ``suspicionTimeout``: ``4 x max(1, log10(n)) x 1 s`` of suspicion after one failed probe."""
    return 1.0 + 0.5 + 4 * max(1.0, math.log10(max(1, nodes)))


PROFILES: dict[str, HealthCheckTiming] = {
    t.name: t
    for t in (
        HealthCheckTiming(
            name="gcp",
            interval=8,
            timeout=1,
            healthy_threshold=1,
            unhealthy_threshold=3,
            source="kubernetes/cloud-provider-gcp providers/gce/gce.go gceHcCheckIntervalSeconds = 8, "
            "gceHcTimeoutSeconds = 1, gceHcHealthyThreshold = 1, gceHcUnhealthyThreshold = 3 ('Defaults to "
            "3 * 8 = 24 seconds before the LB will steer traffic away'), used by gce_loadbalancer_external.go "
            "for the healthCheckNodePort check",
        ),
        HealthCheckTiming(
            name="aws-nlb",
            interval=10,
            timeout=6,
            healthy_threshold=2,
            unhealthy_threshold=2,
            source="kubernetes-sigs/aws-load-balancer-controller pkg/service/model_builder.go (instance targets, "
            "eTP Local: HTTP /healthz on healthCheckNodePort, interval 10, timeout 6, healthy 2, unhealthy 2)",
        ),
        HealthCheckTiming(
            name="azure",
            interval=5,
            timeout=5,
            healthy_threshold=1,
            unhealthy_threshold=2,
            source="kubernetes-sigs/cloud-provider-azure pkg/consts HealthProbeDefaultProbeInterval = 5, "
            "HealthProbeDefaultNumOfProbe = 2 (azure_loadbalancer_healthprobe.go; the probe has no separate "
            "timeout: an unanswered probe fails within its interval)",
        ),
        HealthCheckTiming(
            name="metallb",
            interval=0,
            timeout=0,
            healthy_threshold=0,
            unhealthy_threshold=0,
            source="metallb/metallb speaker ShouldAnnounce follows EndpointSlices (no probe); node failure "
            "detected by hashicorp/memberlist DefaultLANConfig + suspicionTimeout",
            memberlist=True,
        ),
    )
}


def timing_from(value: object, where: str = "healthCheck") -> HealthCheckTiming:
    """A profile name, or ``{intervalSeconds, timeoutSeconds, healthyThreshold, unhealthyThreshold}``."""
    if isinstance(value, str):
        if value in PROFILES:
            return PROFILES[value]
        known = ", ".join(f'"{k}"' for k in PROFILES)
        raise InputError(Problem(f"Unsupported value: {value!r}: supported values: {known}", field=where))
    if isinstance(value, dict):
        keys = ("intervalSeconds", "timeoutSeconds", "healthyThreshold", "unhealthyThreshold")
        unknown = [k for k in value if k not in keys]
        if unknown:
            raise InputError(Problem(f"unknown field {unknown[0]!r}: supported fields: {', '.join(keys)}", field=where))
        numbers: dict[str, float] = {}
        for key in keys:
            v = value.get(key)
            if (
                not isinstance(v, int | float)
                or isinstance(v, bool)
                or not math.isfinite(v)
                or v < (1 if "Threshold" in key else 0)
            ):
                raise InputError(
                    Problem(
                        f"Invalid value: {v!r}: a number >= {1 if 'Threshold' in key else 0}", field=f"{where}.{key}"
                    )
                )
            numbers[key] = v
        return HealthCheckTiming(
            name="custom",
            interval=float(numbers["intervalSeconds"]),
            timeout=float(numbers["timeoutSeconds"]),
            healthy_threshold=int(numbers["healthyThreshold"]),
            unhealthy_threshold=int(numbers["unhealthyThreshold"]),
            source="the spec",
        )
    raise InputError(Problem(f"Invalid value: {value!r}: a profile name or a mapping", field=where))
