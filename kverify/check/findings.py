"""What ``kverify check`` reports: one result per (claim, service), with the verdict and what was expected.

A result *passes* when its verdict is the expected one (a spec may expect a claim to be refuted, to
document a known trade-off). An Unknown verdict never passes.
"""

from __future__ import annotations

from collections import Counter
from functools import cached_property
from typing import Any

import attrs

from kverify.verdicts import Proved, Refuted, Unknown, Verdict

HOLDS, REFUTED = "holds", "refuted"
BUILT_IN = "built-in"


@attrs.frozen(kw_only=True)
class Location:
    """A place in an input file (1-based line)."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@attrs.frozen(kw_only=True)
class CheckResult:
    """One claim about one Service, decided on concrete manifests."""

    #: The spec's name, or ``"built-in"`` for the checks that need no spec.
    origin: str
    claim: str  # claim id: the spec claim's id, or the built-in check's id
    statement: str  # the belief, in Kubernetes words
    service: str  # namespace/name
    verdict: Verdict
    expected: str = HOLDS  # HOLDS or REFUTED
    #: Where the Service is defined (its manifest, or the spec's inline topology).
    service_location: Location | None = None
    #: Where the claim is written (a spec claim, or an expected finding), if anywhere.
    claim_location: Location | None = None
    #: Why the claim matters here (e.g. the NetworkPolicy that needs the client IP).
    context: str = ""
    #: The spec accepts an Unknown verdict for this claim (``allowUnknown``): still reported as
    #: unknown, but it does not fail the run.
    allow_unknown: bool = False

    @property
    def passed(self) -> bool:
        if isinstance(self.verdict, Unknown):
            return False
        return isinstance(self.verdict, Proved) == (self.expected == HOLDS)

    @property
    def status(self) -> str:
        """``ok``, ``fail`` or ``unknown``: what the exit code and the reports are built on."""
        if isinstance(self.verdict, Unknown):
            return "unknown"
        return "ok" if self.passed else "fail"

    @property
    def id(self) -> str:
        """A stable id: the counterexample's when there is one, else origin/claim/service."""
        if isinstance(self.verdict, Refuted):
            return self.verdict.counterexample.id
        return f"{self.origin}/{self.claim}/{self.service}"


@attrs.frozen(kw_only=True)
class CheckRun:
    """Everything one ``kverify check`` found."""

    results: tuple[CheckResult, ...] = ()
    #: (service, built-in check) pairs that applied and held: counted, not listed (10,000s on big clusters).
    builtin_passed: int = 0
    #: (service, built-in check) pairs that applied and found something (listed in ``results``).
    builtin_found: int = 0
    #: Services the built-in checks looked at (each applied to some, nothing to check on the others).
    builtin_services: int = 0
    #: ``(reason, count)``: Services no built-in check applied to, by why (``kverify.check.idle``).
    nothing_to_check: tuple[tuple[str, int], ...] = ()
    #: Spec claims decided (each is one result).
    claims: int = 0
    services_checked: int = 0
    #: Inputs read (spec files and manifest files), for the reports' headers.
    inputs: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    #: Objects the manifests hold that kverify builds nothing from (one line each), and their kinds.
    skipped: tuple[str, ...] = ()
    skipped_kinds: tuple[str, ...] = ()
    #: Service key -> its values known only after apply, as ``(field path, value)`` (see
    #: ``Service.allocated_values``): reports show them as "allocated at apply time".
    allocated: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()

    #: Service key -> (load balancer profile, why) for the LoadBalancer Services checked.
    load_balancers: tuple[tuple[str, str, str], ...] = ()

    def load_balancer_of(self, service: str) -> tuple[str, str] | None:
        return self._load_balancer_by_service.get(service)

    def allocated_for(self, service: str) -> tuple[tuple[str, str], ...]:
        return self._allocated_by_service.get(service, ())

    # The reports ask both for every Service with a finding: a scan of the list each time was findings x
    # Services (16,000 LoadBalancer Services with a finding each: 256 million comparisons).
    @cached_property
    def _load_balancer_by_service(self) -> dict[str, tuple[str, str]]:
        found: dict[str, tuple[str, str]] = {}
        for key, profile, why in self.load_balancers:
            found.setdefault(key, (profile, why))  # the first, as the list was read
        return found

    @cached_property
    def _allocated_by_service(self) -> dict[str, tuple[tuple[str, str], ...]]:
        found: dict[str, tuple[tuple[str, str], ...]] = {}
        for key, values in self.allocated:
            found.setdefault(key, values)
        return found

    @property
    def failed(self) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.results if r.status == "fail")

    @property
    def unknown(self) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.results if r.status == "unknown")

    @property
    def unknown_not_allowed(self) -> tuple[CheckResult, ...]:
        """The unknown results that fail the run (those a spec did not mark ``allowUnknown``)."""
        return tuple(r for r in self.unknown if not r.allow_unknown)

    @property
    def builtin_applied(self) -> int:
        """(service, built-in check) pairs that applied: those without findings and those with."""
        return self.builtin_passed + self.builtin_found

    @property
    def nothing_checked(self) -> bool:
        """No spec claim was decided and no built-in check applied to anything: not a pass."""
        return self.claims == 0 and self.builtin_applied == 0 and not self.results

    def summary(self) -> dict[str, Any]:
        """The counts every report prints (JSON keeps them as numbers)."""
        idle = dict(self.nothing_to_check)
        return {
            "results": len(self.results),
            "ok": sum(r.status == "ok" for r in self.results),
            "failed": len(self.failed),
            "unknown": len(self.unknown),
            "claims": self.claims,
            "builtin_applied": self.builtin_applied,
            "builtin_found": self.builtin_found,
            "builtin_passed": self.builtin_passed,
            "builtin_services": self.builtin_services,
            "nothing_to_check": sum(idle.values()),
            "nothing_to_check_by_reason": idle,
            "nothing_checked": self.nothing_checked,
            "services_checked": self.services_checked,
        }


def add_idle(*tallies: tuple[tuple[str, int], ...]) -> tuple[tuple[str, int], ...]:
    """The sum of ``nothing_to_check`` tallies, in the order of the first time each reason appears."""
    total: Counter[str] = Counter()
    for pairs in tallies:
        for reason, count in pairs:
            total[reason] += count
    return tuple(total.items())


def merge(runs: list[CheckRun]) -> CheckRun:
    return CheckRun(
        results=tuple(r for run in runs for r in run.results),
        builtin_passed=sum(run.builtin_passed for run in runs),
        builtin_found=sum(run.builtin_found for run in runs),
        builtin_services=sum(run.builtin_services for run in runs),
        nothing_to_check=add_idle(*(run.nothing_to_check for run in runs)),
        claims=sum(run.claims for run in runs),
        services_checked=sum(run.services_checked for run in runs),
        inputs=tuple(i for run in runs for i in run.inputs),
        warnings=tuple(w for run in runs for w in run.warnings),
        skipped=tuple(s for run in runs for s in run.skipped),
        skipped_kinds=tuple(k for run in runs for k in run.skipped_kinds),
        allocated=tuple(a for run in runs for a in run.allocated),
        load_balancers=tuple(lb for run in runs for lb in run.load_balancers),
    )
