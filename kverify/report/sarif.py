"""``kverify check --format sarif``: SARIF 2.1.0 for CI code scanning.

Each failing or unknown result points at the Service's manifest (file and line), so a pull request
that changes the Service is annotated there; the spec's claim, when there is one, is a related
location. Passing results are not reported (code scanning lists problems).
"""

from __future__ import annotations

import json
from typing import Any

from kverify.check.findings import BUILT_IN, CheckResult, CheckRun, Location
from kverify.report.trace_text import outcome_line
from kverify.verdicts import Refuted, Unknown

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"


def _rule_id(r: CheckResult) -> str:
    return r.claim if r.origin == BUILT_IN or r.claim_location is None else f"{r.origin}/{r.claim}"


def _physical(location: Location) -> dict[str, Any]:
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": location.file.replace("\\", "/")},
            "region": {"startLine": location.line},
        }
    }


def _message(r: CheckResult) -> str:
    v = r.verdict
    if isinstance(v, Unknown):
        allowed = " (allowed by the spec)" if r.allow_unknown else ""
        return f"{r.service}: {r.statement} Unknown{allowed}: {v.reason}"
    if isinstance(v, Refuted):
        cx = v.counterexample
        text = f"{r.service}: {r.statement} Refuted by {cx.id}: {outcome_line(cx.outcome)}"
        if cx.detail:
            text += f" ({cx.detail})"
        return f"{text}. Reproduce: {cx.command}"
    return f"{r.service}: {r.statement} Proved ({v.scope}), but the spec expects it to be refuted."


def _level(r: CheckResult) -> str:
    """``error`` for a failure; ``warning`` for an unknown verdict, ``note`` when the spec allows it."""
    if r.status != "unknown":
        return "error"
    return "note" if r.allow_unknown else "warning"


def _result(r: CheckResult, rule_index: int) -> dict[str, Any]:
    where = r.service_location or r.claim_location
    out: dict[str, Any] = {
        "ruleId": _rule_id(r),
        "ruleIndex": rule_index,
        "level": _level(r),
        "message": {"text": _message(r)},
        "partialFingerprints": {"kverifyResultId/v1": r.id},
        "properties": {"service": r.service, "origin": r.origin, "expected": r.expected, "verdict": r.verdict.verdict},
    }
    if where is not None:
        out["locations"] = [_physical(where)]
    if r.claim_location is not None and r.claim_location != where:
        related = _physical(r.claim_location)
        related["id"] = 1
        related["message"] = {"text": "the claim"}
        out["relatedLocations"] = [related]
    return out


def document(run: CheckRun) -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    try:
        tool_version = version("kverify")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        tool_version = "0"
    reported = [r for r in run.results if r.status != "ok"]
    rules: dict[str, dict[str, Any]] = {}
    for r in reported:
        rules.setdefault(
            _rule_id(r),
            {
                "id": _rule_id(r),
                "name": _rule_id(r).replace("/", "-"),
                "shortDescription": {"text": r.statement},
                "defaultConfiguration": {"level": "error"},
            },
        )
    index = {rule_id: i for i, rule_id in enumerate(rules)}
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "kverify",
                        "version": tool_version,
                        "rules": list(rules.values()),
                    }
                },
                "results": [_result(r, index[_rule_id(r)]) for r in reported],
                "columnKind": "unicodeCodePoints",
            }
        ],
    }


def render(run: CheckRun) -> str:
    return json.dumps(document(run), indent=2)
