"""What a fix must make hold: a spec claim, or a built-in check's finding on one Service.

A built-in check is decided on a few candidate flows of the manifests as they are; a change may move
the traffic elsewhere (a node gets a pod, the load balancer skips a node) or stop the check applying
at all (eTP Cluster has no eTP Local check). So a finding is not re-checked by its candidate flows:
it is restated as the spec claim it stands for, for every node (the finding's client, entry point and
property), and decided by the engine a spec claim would use. The change must also not bring another
built-in finding onto the Service (switching to eTP Cluster must not trade a drop for a lost client
IP the Service needs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import attrs

from kverify.check.exhaustive import PROPERTIES
from kverify.check.findings import HOLDS, CheckResult, Location
from kverify.check.specfile.evaluate import decide_claim
from kverify.check.specfile.model import Spec, SpecClaim
from kverify.verdicts import Proved, Refuted, Unknown, Verdict


@attrs.frozen(kw_only=True)
class Goal:
    """One thing that should hold of one Service, and how to decide it again on a changed spec."""

    id: str
    service: str  # namespace/name
    statement: str
    #: "spec claim" or "built-in check"
    kind: str
    decide: Callable[[Spec], Verdict] = attrs.field(eq=False, repr=False)


def goal_for_claim(claim: SpecClaim) -> Goal:
    """A spec claim, decided as ``kverify check`` decides it."""
    return Goal(
        id=claim.id,
        service=claim.service,
        statement=claim.statement,
        kind="spec claim",
        decide=lambda spec: decide_claim(spec, claim),
    )


def claim_of_finding(result: CheckResult) -> SpecClaim | None:
    """The spec claim a built-in finding stands for: its flow's client and entry point, every node,
    the check's property. None when the finding carries no flow (an Unknown verdict)."""
    from kverify.check.catalogue import check as catalogue_check

    verdict = result.verdict
    if not isinstance(verdict, Refuted) or verdict.counterexample is None:
        return None
    flow = verdict.counterexample.service_flow
    prop = catalogue_check(result.claim).prop.id
    if prop not in PROPERTIES:
        return None  # a property only the check states (e.g. Ready pods only): no spec claim says it
    return SpecClaim(
        id=result.claim,
        service=result.service,
        client=flow.client,
        via=flow.destination,
        port=flow.port,
        prop=prop,
        expect=HOLDS,
        location=result.service_location or Location(file="", line=0),
    )


def goal_for_finding(
    result: CheckResult, found_before: frozenset[str], needs_client_ip: Mapping[str, str]
) -> Goal | None:
    """A built-in finding as a goal: its claim proved, and no built-in finding on the Service beyond
    ``found_before`` (the checks that already found something there)."""
    claim = claim_of_finding(result)
    if claim is None:
        return None

    def decide(spec: Spec) -> Verdict:
        verdict = decide_claim(spec, claim)
        if not isinstance(verdict, Proved):
            return verdict
        new = [f for f in builtin_findings(spec, result.service, needs_client_ip) if f.claim not in found_before]
        if new:
            return Unknown(
                claim=claim.id,
                dataplane=spec.cluster.proxy.dataplane,
                reason=f"it brings the built-in finding {new[0].claim}: {new[0].statement}",
            )
        return verdict

    return Goal(
        id=result.claim, service=result.service, statement=result.statement, kind="built-in check", decide=decide
    )


def builtin_findings(spec: Spec, service: str, needs_client_ip: Mapping[str, str]) -> list[CheckResult]:
    """The built-in checks' findings on one Service of ``spec`` (the other Services are not routed)."""
    from kverify.check.run import facts_for, run_builtin_checks

    cluster = spec.cluster
    facts = facts_for(cluster, ip_blocks=spec.ip_blocks, intents=spec.intents, needs_client_ip=needs_client_ip)
    only = attrs.evolve(cluster, services=[s for s in cluster.services if s.key == service])
    run = run_builtin_checks(
        attrs.evolve(spec.design, cluster=only), attrs.evolve(facts, cluster=only), files=spec.manifests
    )
    return [r for r in run.results if r.service == service]
