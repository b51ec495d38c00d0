"""A kverify spec file as pytest sees it: a collector with one item per claim, and one for the built-in
checks when the spec asks for them.

Items hold only what the spec file says and are rebuilt by every process that collects (pytest-xdist
workers collect for themselves), so their ids depend on the file alone: ``SERVICE: CLAIM-ID
[DATAPLANE]``, unique because claim ids are unique in a spec. A claim fails with its verdict and
counterexample (outcome, hops, the ``kverify trace`` command that reproduces it), never with a
traceback into kverify; a bad spec file is one collection error with a line per problem.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from kverify.check.findings import CheckResult, CheckRun
from kverify.check.specfile import Spec, SpecClaim, builtin_run, claim_result, is_spec_file, load_spec
from kverify.errors import InputError
from kverify.report.check_text import result_lines
from kverify.testing.run_report import Results

SPEC_SUFFIXES = (".kverify.yaml", ".kverify.yml")


def is_spec_candidate(path: Path) -> bool:
    """Named as a spec (``*.kverify.yaml``: its mistakes are reported), or a YAML file that says
    ``apiVersion: kverify.io/...`` (other YAML files a broad pattern matches are manifests: skipped)."""
    return path.name.endswith(SPEC_SUFFIXES) or is_spec_file(str(path))


def shown_path(path: Path, config: pytest.Config) -> str:
    """``path`` as messages and reproduce commands show it: relative to where pytest was started,
    when that is the working directory, else absolute."""
    base = config.invocation_params.dir
    if Path.cwd() == base and path.is_relative_to(base):
        return os.path.relpath(path, base)
    return str(path)


class ClaimFailed(Exception):
    """Results that are not what the spec expects; :meth:`SpecItem.repr_failure` shows them."""

    def __init__(self, results: Sequence[CheckResult]) -> None:
        super().__init__(f"{len(results)} result(s) differ from the spec")
        self.results = tuple(results)


class SpecFile(pytest.File):
    """A spec file: loaded once per process, at collection."""

    def collect(self) -> Iterator[pytest.Item]:
        try:
            spec = load_spec(shown_path(self.path, self.config))
        except InputError as error:  # one line per problem: FILE:LINE: Spec NAME: field: message
            raise self.CollectError(str(error)) from None
        dataplane = spec.cluster.proxy.dataplane.spelling
        for i, claim in enumerate(spec.claims):
            # '::' separates node ids, and pytest (9.2+) reads a trailing "[...]" as parameters: use "(...)".
            name = f"{claim.service}: {claim.id} ({dataplane})".replace("::", ": :")
            yield ClaimItem.from_parent(self, name=name, spec=spec, claim=claim, position=i)
        if spec.builtin_checks:
            name = f"built-in checks ({dataplane})"
            yield BuiltinChecksItem.from_parent(self, name=name, spec=spec, claim=None, position=len(spec.claims))


class SpecItem(pytest.Item):
    """What claim items and the built-in checks item share: running, reporting, failing."""

    def __init__(self, *, spec: Spec, claim: SpecClaim | None, position: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.claim = claim
        self.position = position
        #: Set once run: read by the plugin for ``--kverify-markdown`` and ``--kverify-sarif``.
        self.kverify_results: Results | None = None
        self.add_marker("kverify")

    def decide(self) -> CheckRun:
        raise NotImplementedError

    def runtest(self) -> None:
        run = self._runnable(self.decide())
        self.kverify_results = ((self.parent.nodeid if self.parent else "", self.position), run)
        failing = [r for r in run.results if r.status == "fail" or (r.status == "unknown" and not r.allow_unknown)]
        if failing:
            raise ClaimFailed(failing)
        allowed = [r for r in run.results if r.status == "unknown"]
        if allowed:
            reasons = "; ".join(f"{r.claim}: {r.verdict.reason}" for r in allowed)  # type: ignore[union-attr]
            # _use_item_location: the skip is reported at the claim (reportinfo), not at this line; it
            # is what pytest's own skip marker passes.
            raise pytest.skip.Exception(
                f"unknown, allowed by the spec (allowUnknown) - {reasons}", _use_item_location=True
            )

    def _runnable(self, run: CheckRun) -> CheckRun:
        """Reproduce commands that run as printed: a counterexample's own manifest (an inline topology,
        a design-time placement) is written under ``.kverify/counterexamples`` where pytest started."""
        from kverify.report import reproduce

        folder = str(self.config.invocation_params.dir / reproduce.DEFAULT_FOLDER)
        return reproduce.finish(run, folder=folder, write_all=False, program=["kverify"])[0]

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, ClaimFailed):
            return failure_text(self.spec, excinfo.value.results)
        if isinstance(excinfo.value, InputError):  # the flow cannot exist in this cluster: say where
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int, str]:
        line = self.claim.location.line if self.claim else 1
        # Not a suffix of the node id: pytest would then rewrite its dots as '::' in verbose output.
        return self.path, line - 1, f"spec {self.spec.name}: {self.name}"


class ClaimItem(SpecItem):
    """One claim, decided on the spec's cluster (every node enumerated)."""

    def decide(self) -> CheckRun:
        assert self.claim is not None
        return CheckRun(results=(claim_result(self.spec, self.claim),), claims=1, inputs=_inputs(self.spec))


class BuiltinChecksItem(SpecItem):
    """The built-in checks on the spec's cluster; the findings the spec expects pass."""

    def decide(self) -> CheckRun:
        run = builtin_run(self.spec)
        return CheckRun(
            results=run.results,
            builtin_passed=run.builtin_passed,
            builtin_found=run.builtin_found,
            builtin_services=run.builtin_services,
            nothing_to_check=run.nothing_to_check,
            services_checked=len(self.spec.cluster.services),
            inputs=_inputs(self.spec),
        )


def _inputs(spec: Spec) -> tuple[str, ...]:
    return (spec.file, *(spec.manifests or ()))


def failure_text(spec: Spec, results: Sequence[CheckResult]) -> str:
    """What a reviewer needs: where the claim is written, the verdict against the expectation, the
    counterexample's outcome and hops, and the command that reproduces it."""
    lines: list[str] = []
    for r in results:
        if lines:
            lines.append("")
        where = f"{r.claim_location}: " if r.claim_location else ""
        lines.append(f"{where}spec {spec.name}, Service {r.service}")
        if r.service_location:
            lines.append(f"  the Service is defined at {r.service_location}")
        lines.extend(line[2:] for line in result_lines(r, verbose=False))
        if r.status == "unknown":
            lines.append("  (the model does not cover this case; `allowUnknown: true` on the claim accepts it)")
        elif r.claim_location is None:  # a built-in check's finding the spec does not list
            lines.append("  (if it is a known trade-off, list it in the spec's builtinChecks.expectFindings)")
    return "\n".join(lines)
