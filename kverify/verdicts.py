"""Verdicts: Proved, Refuted, Unknown. Unknown never passes."""

from __future__ import annotations

from typing import Any

import attrs

from kverify.model import AddressFlow, Cluster, Dataplane, Flow
from kverify.results import Outcome, mark_allocated


@attrs.frozen(kw_only=True)
class Counterexample:
    """The smallest cluster and flow that break a claim, replayed through the executable model."""

    cluster: Cluster
    flow: Flow | AddressFlow  # an address claim's counterexample is a packet to an address of no Service
    outcome: Outcome
    id: str
    command: str  # a `kverify trace` command line that reproduces it (with a manifest written by `manifest`)
    manifest: str  # the cluster as Kubernetes YAML
    detail: str = ""  # what the outcome alone does not show (e.g. per-pod shares)
    #: Design time: where the scheduler put the Service's pods, as (node, (pod, ...)) for every node of
    #: the counterexample's cluster (empty for a snapshot: its EndpointSlices say it).
    placement: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def service_flow(self) -> Flow:
        """The flow to a Service: every counterexample's but an address claim's (reports drawn for checks)."""
        if not isinstance(self.flow, Flow):
            raise TypeError(f"counterexample {self.id} is a packet to an address of no Service")
        return self.flow

    def trace_lines(self) -> list[str]:
        """The hops, one line each, with addresses known only after apply marked as such."""
        key = getattr(self.flow, "service", None)  # an AddressFlow has none
        service = self.cluster.service(key) if key is not None else None
        allocated = service.allocated_addresses() if service is not None else frozenset()
        return [mark_allocated(str(h), allocated) for h in self.outcome.hops]

    @property
    def nodes(self) -> int:
        return len(self.cluster.nodes)

    @property
    def endpoints(self) -> int:
        from kverify.concrete.index import index_of  # cached: reports ask once per counterexample

        return index_of(self.cluster).endpoint_count


@attrs.frozen(kw_only=True)
class Proved:
    claim: str
    dataplane: Dataplane
    scope: str
    assumptions: tuple[str, ...] = ()
    verdict: str = "proved"
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "claim": self.claim,
            "dataplane": self.dataplane.spelling,
            "verdict": self.verdict,
            "scope": self.scope,
            "assumptions": list(self.assumptions),
            "seconds": round(self.seconds, 3),
        }


@attrs.frozen(kw_only=True)
class Refuted:
    claim: str
    dataplane: Dataplane
    scope: str
    counterexample: Counterexample
    verdict: str = "refuted"
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        cx = self.counterexample
        return {
            "claim": self.claim,
            "dataplane": self.dataplane.spelling,
            "verdict": self.verdict,
            "scope": self.scope,
            "seconds": round(self.seconds, 3),
            "counterexample": {
                "id": cx.id,
                "nodes": cx.nodes,
                "endpoints": cx.endpoints,
                "outcome": cx.outcome.to_json(),
                "trace": cx.trace_lines(),
                "detail": cx.detail,
                "command": cx.command,
                "manifest": cx.manifest,
                **({"placement": {node: list(pods) for node, pods in cx.placement}} if cx.placement else {}),
            },
        }


@attrs.frozen(kw_only=True)
class Unknown:
    claim: str
    dataplane: Dataplane
    reason: str
    scope: str = ""
    verdict: str = "unknown"
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "claim": self.claim,
            "dataplane": self.dataplane.spelling,
            "verdict": self.verdict,
            "scope": self.scope,
            "reason": self.reason,
            "seconds": round(self.seconds, 3),
        }


Verdict = Proved | Refuted | Unknown
