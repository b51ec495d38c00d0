"""kverify's pytest plugin (registered under the ``pytest11`` entry point): spec files as tests.

Every claim of a spec file (``*.kverify.yaml`` by default; the ``kverify_spec_files`` ini option
takes other glob patterns) becomes its own test item, named ``SERVICE: CLAIM-ID [DATAPLANE]``; a spec
that asks for the built-in checks gets one more item for them. ``--kverify-markdown=PATH`` and
``--kverify-sarif=PATH`` write the Markdown and SARIF reports of the verdicts the run decided.

It must stay cheap to import: pytest loads it in every project that installs kverify. So this
module imports only pytest and the standard library; the spec loader and the engines are imported
when a spec file is collected (:mod:`kverify.testing.spec_items`), the reports when they are written
(:mod:`kverify.testing.run_report`).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Generator, Sequence
from pathlib import Path

import pytest

#: The ini option naming the spec files to collect (glob patterns, as ``python_files``).
SPEC_FILES_INI = "kverify_spec_files"
DEFAULT_SPEC_FILES = ("*.kverify.yaml", "*.kverify.yml")
#: The report attribute that carries an item's results (encoded) to the process writing the reports.
REPORT_ATTRIBUTE = "kverify_results"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        SPEC_FILES_INI,
        type="args",
        default=list(DEFAULT_SPEC_FILES),
        help="glob patterns of kverify spec files to collect as tests; a pattern with a '/' matches the "
        "end of the path (default: *.kverify.yaml *.kverify.yml)",
    )
    group = parser.getgroup("kverify", "kverify spec files")
    group.addoption(
        "--kverify-markdown",
        metavar="PATH",
        default=None,
        help="write the Markdown report (verdict table, counterexamples as sequence diagrams) of the "
        "spec claims this run decided",
    )
    group.addoption(
        "--kverify-sarif",
        metavar="PATH",
        default=None,
        help="write the SARIF 2.1.0 report (failing and unknown claims, for code scanning) of the spec "
        "claims this run decided",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "kverify: a claim (or the built-in checks) of a kverify spec file")
    if reports_wanted(config):
        from kverify.testing.run_report import RunReport  # no engine: findings and the report renderers

        config.pluginmanager.register(RunReport(config), "kverify-run-report")


def reports_wanted(config: pytest.Config) -> bool:
    return bool(config.getoption("kverify_markdown") or config.getoption("kverify_sarif"))


def matches(path: Path, patterns: Sequence[str]) -> bool:
    """Whether ``path`` matches one of the glob ``patterns``: a pattern without ``/`` is matched
    against the file name, one with ``/`` against the end of the path (as pytest's ``python_files``)."""
    posix = path.as_posix()
    for pattern in patterns:
        pattern = pattern.replace("\\", "/")
        if "/" not in pattern:
            if fnmatch.fnmatch(path.name, pattern):
                return True
        elif fnmatch.fnmatch(posix, pattern if pattern.startswith("/") else f"*/{pattern}"):
            return True
    return False


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    named = parent.session.isinitpath(file_path)  # given on the command line: no pattern needed
    if not named and not matches(file_path, parent.config.getini(SPEC_FILES_INI)):
        return None
    from kverify.testing.spec_items import SpecFile, is_spec_candidate

    if not is_spec_candidate(file_path):
        return None  # a manifest that a broad pattern (``specs/*.yaml``) also matches
    return SpecFile.from_parent(parent, path=file_path)  # type: ignore[no-any-return]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach a spec item's results to its report: reports cross from xdist workers to the
    controller, which writes the Markdown and SARIF files."""
    report: pytest.TestReport = yield
    results = getattr(item, "kverify_results", None)
    if call.when == "call" and results is not None and reports_wanted(item.config):
        from kverify.testing.run_report import encode

        setattr(report, REPORT_ATTRIBUTE, encode(results))
    return report
