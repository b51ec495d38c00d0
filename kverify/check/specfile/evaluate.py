"""Deciding a spec: each claim by exhaustive enumeration on its cluster, and the built-in checks it asks for."""

from __future__ import annotations

from collections.abc import Callable

from kverify.check import facts_for
from kverify.check.exhaustive import PROPERTIES, at_most_hops, decide, decide_share
from kverify.check.findings import REFUTED, CheckResult, CheckRun, Location
from kverify.check.run import run_builtin_checks
from kverify.check.specfile.address import AddressSpecClaim, decide_address_claim
from kverify.check.specfile.model import Spec, SpecClaim
from kverify.errors import InputError, Problem
from kverify.model import Flow
from kverify.placement.design import Design, at_design_time
from kverify.verdicts import Proved, Verdict

Progress = Callable[[int, int], None]


def flow_of(claim: SpecClaim) -> Flow:
    return Flow(
        service=claim.service,
        client=claim.client,
        destination=claim.via,
        client_ip=claim.source_ip,
        node=claim.node,
        port=claim.port,
    )


def decide_claim(spec: Spec, claim: SpecClaim | AddressSpecClaim) -> Verdict:
    """Proved for these manifests, Refuted with an outcome from them, or Unknown with the reason."""
    try:
        if isinstance(claim, AddressSpecClaim):
            return decide_address_claim(spec.cluster, claim, spec.manifests)
        flow = flow_of(claim)
        service = spec.cluster.service(claim.service)
        if claim.during is not None:
            from kverify.change.decide import decide_change  # loads Z3

            return decide_change(
                spec.design,
                flow,
                claim.prop,
                claim.during.change,
                claim=claim.id,
                hops=claim.hops,
                ratio=claim.ratio,
                health_check=claim.during.health_check,
                disruption_budgets="PodDisruptionBudget" in spec.skipped_kinds,
                start_seconds=claim.during.start_seconds,
            )
        if service is not None and at_design_time(spec.design, service):
            return decide_at_design_time(spec.design, flow, claim)
        if claim.prop == "share-within":
            assert claim.ratio is not None
            return decide_share(spec.cluster, flow, claim.ratio, claim=claim.id, files=spec.manifests)
        prop = at_most_hops(claim.hops or 0) if claim.prop == "at-most-hops" else PROPERTIES[claim.prop]
        return decide(spec.cluster, flow, prop, claim=claim.id, files=spec.manifests)
    except InputError as error:  # the flow cannot exist in this cluster: the claim is wrong, say where
        loc = claim.location
        raise InputError(
            [Problem(p.message, loc.file, loc.line, f"Spec {spec.name}", f"claims[{claim.id}]") for p in error.problems]
        ) from None


def decide_at_design_time(design: Design, flow: Flow, claim: SpecClaim) -> Verdict:
    """The claim over every placement of the Service's workloads (:mod:`kverify.placement`)."""
    from kverify.placement.solve import decide_over_placements, decide_share_over_placements  # loads Z3

    if claim.prop == "share-within":
        assert claim.ratio is not None
        return decide_share_over_placements(design, flow, claim.ratio, claim=claim.id).verdict
    return decide_over_placements(design, flow, claim.prop, claim=claim.id, hops=claim.hops).verdict


def claim_result(spec: Spec, claim: SpecClaim | AddressSpecClaim) -> CheckResult:
    """One claim of ``spec``, decided, with what the spec expects of it."""
    return CheckResult(
        origin=spec.name,
        claim=claim.id,
        statement=claim.statement,
        service=claim.service,
        verdict=decide_claim(spec, claim),
        expected=claim.expect,
        service_location=spec.service_lines.get(claim.service),
        claim_location=claim.location,
        context=claim.why,
        allow_unknown=claim.allow_unknown,
    )


def builtin_run(spec: Spec) -> CheckRun:
    """The built-in checks on the spec's cluster (when it asks for them), with its expected findings:
    a finding the spec expects passes, an expected finding that does not occur fails."""
    if not spec.builtin_checks:
        return CheckRun()
    needs = {key: f"spec {spec.name} lists it in builtinChecks.needsClientIP" for key in spec.needs_client_ip}
    facts = facts_for(spec.cluster, ip_blocks=spec.ip_blocks, intents=spec.intents, needs_client_ip=needs)
    run = run_builtin_checks(
        spec.design, facts, files=spec.manifests, locate=lambda s: spec.service_lines.get(s.key), origin=spec.name
    )
    results: list[CheckResult] = []
    expected = {(e.check, e.service): e for e in spec.expected_findings}
    for finding in run.results:
        e = expected.pop((finding.claim, finding.service), None)
        if e is not None:
            finding = _expected(finding, e.location)
        results.append(finding)
    for (check_id, service), e in expected.items():  # expected, yet the check holds: a failure
        from kverify.check.catalogue import check

        c = check(check_id)
        verdict = Proved(claim=check_id, dataplane=spec.cluster.proxy.dataplane, scope="these manifests")
        results.append(
            CheckResult(
                origin=spec.name,
                claim=check_id,
                statement=c.statement,
                service=service,
                verdict=verdict,
                expected=REFUTED,
                service_location=spec.service_lines.get(service),
                claim_location=e.location,
                context="the spec expects this built-in check to find a problem here",
            )
        )
    return CheckRun(
        results=tuple(results),
        builtin_passed=run.builtin_passed,
        builtin_found=run.builtin_found,
        builtin_services=run.builtin_services,
        nothing_to_check=run.nothing_to_check,
    )


def evaluate(spec: Spec, progress: Progress | None = None) -> CheckRun:
    """Every claim of ``spec`` and, if it asks, the built-in checks with their expected findings."""
    results: list[CheckResult] = []
    total = len(spec.claims)
    for i, claim in enumerate(spec.claims):
        if progress is not None:
            progress(i, total)
        results.append(claim_result(spec, claim))
    builtin = builtin_run(spec)
    files = (spec.file, *(spec.manifests or ()))
    return CheckRun(
        results=(*results, *builtin.results),
        builtin_passed=builtin.builtin_passed,
        builtin_found=builtin.builtin_found,
        builtin_services=builtin.builtin_services,
        nothing_to_check=builtin.nothing_to_check,
        claims=len(spec.claims),
        services_checked=len(spec.cluster.services),
        inputs=files,
    )


def _expected(finding: CheckResult, location: Location) -> CheckResult:
    import attrs

    return attrs.evolve(finding, expected=REFUTED, claim_location=location)
