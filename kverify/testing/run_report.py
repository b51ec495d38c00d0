"""The Markdown and SARIF reports of a pytest run's spec verdicts (``--kverify-markdown``,
``--kverify-sarif``).

Each spec item attaches its results to its test report (see
:func:`kverify.testing.plugin.pytest_runtest_makereport`). Under pytest-xdist the reports travel from
the workers to the controller, so the results are encoded as text (a pickled
:class:`~kverify.check.findings.CheckRun`, produced by this same kverify in a worker of this same run); the
controller, or the only process without xdist, gathers them in ``pytest_runtest_logreport`` and writes
the files at the end of the session. Workers never write.
"""

from __future__ import annotations

import base64
import pickle
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from kverify.check.findings import CheckRun

#: An item's results: where it sorts in the report (spec file, position in it), and what it decided.
Results = tuple[tuple[str, int], "CheckRun"]


def encode(results: Results) -> str:
    """Text that survives xdist's report serialization (and JSON report logs)."""
    return base64.b64encode(pickle.dumps(results, protocol=pickle.HIGHEST_PROTOCOL)).decode("ascii")


def decode(text: str) -> Results:
    results: Results = pickle.loads(base64.b64decode(text))  # encode() wrote it, in this run
    return results


class RunReport:
    """Gathers the verdicts of the run's spec items and writes the reports the options ask for."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.collected: list[Results] = []
        self.written: list[tuple[str, str]] = []  # (kind, the path as given)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        from kverify.testing.plugin import REPORT_ATTRIBUTE

        text: Any = getattr(report, REPORT_ATTRIBUTE, None)
        if isinstance(text, str):
            self.collected.append(decode(text))

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if hasattr(self.config, "workerinput"):  # an xdist worker: its controller writes
            return
        run = self.run()
        base = self.config.invocation_params.dir
        for kind, option in (("Markdown", "kverify_markdown"), ("SARIF", "kverify_sarif")):
            name = self.config.getoption(option)
            if not name:
                continue
            path = base / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(render(kind, run), encoding="utf-8")
            self.written.append((kind, name))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        for kind, path in self.written:
            terminalreporter.write_line(f"kverify: {kind} report of the spec verdicts written to {path}")

    def run(self) -> CheckRun:
        """Every result gathered, in collection order (xdist delivers them in any order)."""
        import attrs

        from kverify.check.findings import merge

        runs = [run for _, run in sorted(self.collected, key=lambda item: item[0])]
        return attrs.evolve(merge(runs), inputs=tuple(dict.fromkeys(i for run in runs for i in run.inputs)))


def render(kind: str, run: CheckRun) -> str:
    from kverify.report import markdown, sarif

    if kind == "Markdown":
        return markdown.render(run, title="kverify: the spec verdicts of a pytest run")
    return sarif.render(run) + "\n"
