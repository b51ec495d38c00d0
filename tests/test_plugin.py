"""The pytest plugin, run as users run it (``pytester``): spec files collected as one item per claim,
failures that show the counterexample, bad specs as one error line per problem, ``-k``, ``-x``,
``--lf``, pytest-xdist, and the Markdown and SARIF reports of the run."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import jsonschema
import pytest

# Imported here, not first in an inline run: pytester drops the modules an inline run imports, and
# would import the engines (and z3) again for every run.
import kverify.prove.run
import kverify.testing.spec_items
from tests.plugin_loading import PLUGIN, plugin_args
from tests.test_reports_check import check_mermaid

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
SHOP = ROOT / "examples" / "shop" / "manifests"
SARIF_SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif" / "sarif-schema-2.1.0.json").read_text())
assert kverify.prove.run and kverify.testing.spec_items  # loaded for the reason above

HEAD = """\
apiVersion: kverify.io/v1alpha1
kind: Spec
metadata: {name: NAME}
manifests: [manifests]
environment: {dataplane: iptables, loadBalancer: health-checked}
claims:
"""
HOLDS = """\
  - id: external clients keep their IP
    service: shop/frontend
    property: client-ip-preserved
  - id: shoppers are served on the node they arrive at
    service: shop/frontend
    property: stays-on-arrival-node
"""
WEBHOOK = """\
  - id: webhook sees the provider's IP
    service: shop/checkout-webhook
    via: node-port
    property: client-ip-preserved
"""
HOSTNAME_ONLY = """\
apiVersion: v1
kind: Service
metadata: {name: elb, namespace: shop}
spec:
  type: LoadBalancer
  clusterIP: 10.96.0.30
  ports: [{port: 80, nodePort: 30030}]
status: {loadBalancer: {ingress: [{hostname: abc.elb.amazonaws.com}]}}
"""
# A kverify source line in a traceback, e.g. "kverify/check/specfile/evaluate.py:42: in decide_claim".
KVERIFY_FRAME = re.compile(r"kverify/[\w/]+\.py:\d+")


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project with the example shop's manifests (kverify importable in child processes too)."""
    shutil.copytree(SHOP, pytester.path / "manifests")
    pytester.syspathinsert(ROOT)
    return pytester


@pytest.fixture
def child_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """For child processes: kverify from this checkout, and no sign of this suite's own xdist worker."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        monkeypatch.delenv(name, raising=False)


def spec(name: str, *claims: str, head: str = HEAD) -> str:
    return head.replace("NAME", name) + "".join(claims)


def child_args() -> list[str]:
    """How every child run starts: the plugin, and not pytest-benchmark (which warns under xdist)."""
    return [*plugin_args(), "-p", "no:benchmark"]


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest(*child_args(), "-p", "no:cacheprovider", *args)


def output(result: pytest.RunResult) -> str:
    return "\n".join(result.outlines + result.errlines)


# -- loading --------------------------------------------------------------------------------------


def test_pyproject_registers_the_plugin_under_pytest11() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["entry-points"]["pytest11"] == {"kverify": PLUGIN}


@pytest.mark.usefixtures("child_env")
def test_loading_the_plugin_imports_neither_z3_nor_hypothesis(project: pytest.Pytester) -> None:
    """A fresh interpreter, a project without spec files: the plugin costs pytest nothing heavy."""
    project.makepyfile(
        test_light="""
        import sys

        def test_nothing_heavy_was_imported(pytestconfig):
            assert pytestconfig.pluginmanager.has_plugin("kverify") or pytestconfig.pluginmanager.has_plugin(
                "kverify.testing.plugin"
            )
            heavy = {"z3", "hypothesis", "kverify.check.specfile", "kverify.concrete"}
            assert sorted(heavy & set(sys.modules)) == []
        """
    )
    result = project.runpytest_subprocess(*child_args(), "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


# -- collection -----------------------------------------------------------------------------------


def test_each_claim_is_its_own_item_with_a_readable_id(project: pytest.Pytester) -> None:
    project.makefile(".kverify.yaml", web=spec("web", HOLDS, WEBHOOK))
    result = run(project, "--collect-only", "-q")
    assert result.outlines[:3] == [
        "web.kverify.yaml::shop/frontend: external clients keep their IP (iptables)",
        "web.kverify.yaml::shop/frontend: shoppers are served on the node they arrive at (iptables)",
        "web.kverify.yaml::shop/checkout-webhook: webhook sees the provider's IP (iptables)",
    ]


def test_the_ini_option_names_other_spec_files_and_skips_manifests_it_matches(project: pytest.Pytester) -> None:
    """``specs/*.yaml`` matches the spec and a manifest beside it: only the spec is collected."""
    (project.path / "specs").mkdir()
    (project.path / "specs" / "web.yaml").write_text(spec("web", HOLDS).replace("[manifests]", "[../manifests]"))
    shutil.copy(SHOP / "api.yaml", project.path / "specs" / "api.yaml")
    project.makefile(".kverify.yaml", other=spec("other", HOLDS))  # the default pattern no longer applies
    project.makepyprojecttoml('[tool.pytest.ini_options]\nkverify_spec_files = ["specs/*.yaml"]\n')
    result = run(project, "--collect-only", "-q")
    assert [line.split("::")[0] for line in result.outlines if "::" in line] == ["specs/web.yaml"] * 2


def test_the_ini_option_in_pytest_ini(project: pytest.Pytester) -> None:
    project.makefile(".yaml", web=spec("web", HOLDS))
    project.makeini("[pytest]\nkverify_spec_files = *.yaml\n")
    run(project).assert_outcomes(passed=2)


# -- verdicts -------------------------------------------------------------------------------------


def test_a_spec_whose_claims_hold_passes(project: pytest.Pytester) -> None:
    project.makefile(".kverify.yaml", web=spec("web", HOLDS))
    run(project).assert_outcomes(passed=2)


def test_a_failing_claim_shows_its_counterexample_and_no_traceback(project: pytest.Pytester) -> None:
    project.makefile(".kverify.yaml", web=spec("web", HOLDS, WEBHOOK))
    result = run(project)
    result.assert_outcomes(passed=2, failed=1)
    text = output(result)
    result.stdout.fnmatch_lines(
        [
            "*_ spec web: shop/checkout-webhook: webhook sees the provider's IP (iptables) _*",
            "web.kverify.yaml:13: spec web, Service shop/checkout-webhook",
            "  the Service is defined at manifests/checkout.yaml:3",
            "  FAIL    webhook sees the provider's IP: external clients via node-port: every connection reaches "
            "the pod with the client's IP as source  [[]refuted, expected it to hold[]]",
            "           counterexample cx-*: at node-a: delivered to 10.244.3.40 (shop/checkout-7b5d4-zzzzz), "
            "crosses to node-c; pod sees 192.168.1.11 (SNAT); reply ok  *",
            "             client -> node-a: src 203.0.113.10 dst 192.168.1.11:31080",
            "             node-a -> node-c: src 192.168.1.11 dst 10.244.3.40:8080 (DNAT *; SNAT 203.0.113.10 -> "
            "192.168.1.11 on node-a)",
            "*reproduce: kverify trace manifests --service shop/checkout-webhook --to node-port --from external "
            "--node node-a *",
            # With CI set, pytest prints the whole message after the id in the short summary.
            "FAILED web.kverify.yaml::shop/checkout-webhook: webhook sees the provider's IP (iptables)*",
        ]
    )
    assert "Traceback" not in text and not KVERIFY_FRAME.search(text), text


def test_the_reproduce_command_shows_the_counterexample(project: pytest.Pytester) -> None:
    project.makefile(".kverify.yaml", web=spec("web", WEBHOOK))
    text = output(run(project))
    command = re.search(r"reproduce: (kverify trace .*)", text)
    outcome = re.search(r"counterexample cx-\w+: (at node-a: .*)", text)
    assert command and outcome
    words = shlex.split(command.group(1))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.run(
        [sys.executable, "-m", "kverify", *words[1:]], cwd=project.path, env=env, capture_output=True, text=True
    )
    assert child.returncode == 0, child.stderr
    assert f"  {outcome.group(1)}" in child.stdout.splitlines()


@pytest.mark.parametrize(
    ("expect", "outcome"),
    [
        pytest.param("refuted", "passed", id="a claim expected refuted passes while it is refuted"),
        pytest.param("holds", "failed", id="the same claim expected to hold fails"),
    ],
)
def test_expect_refuted(project: pytest.Pytester, expect: str, outcome: str) -> None:
    project.makefile(".kverify.yaml", web=spec("web", WEBHOOK + f"    expect: {expect}\n"))
    run(project).assert_outcomes(**{outcome: 1})


def test_a_claim_expected_refuted_fails_once_proved(project: pytest.Pytester) -> None:
    project.makefile(".kverify.yaml", web=spec("web", HOLDS.replace("IP\n", "IP\n    expect: refuted\n", 1)))
    result = run(project)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*FAIL    external clients keep their IP: *  [[]proved, expected it to be refuted[]]"])


@pytest.mark.parametrize(
    ("allow", "outcome"),
    [
        pytest.param("", {"failed": 1}, id="an unknown verdict fails"),
        pytest.param("    allowUnknown: true\n", {"skipped": 1}, id="unless the spec allows it: then it is skipped"),
    ],
)
def test_unknown(project: pytest.Pytester, allow: str, outcome: dict[str, int]) -> None:
    """In-cluster clients of a load balancer known only by its hostname leave the cluster: not modelled, Unknown."""
    (project.path / "manifests" / "elb.yaml").write_text(HOSTNAME_ONLY)
    claim = (
        "  - id: elb delivers\n    service: shop/elb\n    from: pod\n    via: load-balancer\n    property: delivered\n"
    )
    claim += allow
    project.makefile(".kverify.yaml", elb=spec("elb", claim))
    result = run(project, "-rs")
    result.assert_outcomes(**outcome)
    reason = (
        "the load balancer is known only by a hostname: in-cluster clients leave the cluster to reach it, "
        "which is not modelled (external clients are)"
    )
    if allow:
        skipped = "SKIPPED [[]1[]] elb.kverify.yaml:7: unknown, allowed by the spec (allowUnknown)"
        result.stdout.fnmatch_lines([f"{skipped} - elb delivers: {reason}"])
    else:
        result.stdout.fnmatch_lines(
            [
                f"  UNKNOWN elb delivers: pods via load-balancer: *  [[]unknown: {reason}[]]",
                "  (the model does not cover this case; `allowUnknown: true` on the claim accepts it)",
            ]
        )


def test_built_in_checks_are_one_item_and_expected_findings_pass(project: pytest.Pytester) -> None:
    head = HEAD.replace("claims:\n", "builtinChecks: {}\nclaims:\n")
    project.makefile(".kverify.yaml", web=spec("web", HOLDS, head=head))
    result = run(project, "-v")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "web.kverify.yaml::built-in checks (iptables) FAILED*",
            "  FAIL    itp-local-clients-without-endpoint: *",
            "  (if it is a known trade-off, list it in the spec's builtinChecks.expectFindings)",
        ]
    )
    expected = "builtinChecks:\n  expectFindings: [{check: itp-local-clients-without-endpoint, service: shop/cart}]\n"
    project.makefile(".kverify.yaml", web=spec("web", HOLDS, head=HEAD.replace("claims:\n", expected + "claims:\n")))
    run(project).assert_outcomes(passed=3)


def test_a_broken_spec_is_one_error_line_per_problem(project: pytest.Pytester) -> None:
    broken = HOLDS.replace("property: client-ip-preserved", "property: client-ip-preservd\n    colour: blue")
    project.makefile(".kverify.yaml", web=spec("web", broken))
    result = run(project)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*_ ERROR collecting web.kverify.yaml _*",
            'web.kverify.yaml:10: Spec web: claims[[]0[]].colour: unknown field "colour": supported fields: *',
            'web.kverify.yaml:9: Spec web: claims[[]0[]].property: Unsupported value: "client-ip-preservd": *',
            "*= short test summary info =*",
            "ERROR web.kverify.yaml",
        ]
    )
    text = output(result)
    assert "Traceback" not in text and not KVERIFY_FRAME.search(text), text


# -- selection and re-runs ------------------------------------------------------------------------


def test_k_selects_claims_by_their_id(project: pytest.Pytester) -> None:
    project.makefile(".kverify.yaml", web=spec("web", HOLDS, WEBHOOK))
    result = run(project, "-k", "keep and not webhook", "-v")
    result.assert_outcomes(passed=1, deselected=2)
    result.stdout.fnmatch_lines(
        ["web.kverify.yaml::shop/frontend: external clients keep their IP (iptables) PASSED*"],
    )


def test_x_stops_at_the_first_failing_claim(project: pytest.Pytester) -> None:
    project.makefile(".kverify.yaml", web=spec("web", WEBHOOK, WEBHOOK.replace("'s IP", "'s IP again"), HOLDS))
    run(project, "-x").assert_outcomes(failed=1)


def test_lf_reruns_only_the_failed_claim(project: pytest.Pytester) -> None:
    project.makefile(".kverify.yaml", web=spec("web", HOLDS, WEBHOOK))
    project.runpytest(*child_args()).assert_outcomes(passed=2, failed=1)
    result = project.runpytest(*child_args(), "--lf", "-v")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "collecting ... collected 1 item",
            "run-last-failure: rerun previous 1 failure",
            "",
            "web.kverify.yaml::shop/checkout-webhook: webhook sees the provider's IP (iptables) FAILED*",
        ]
    )


# -- pytest-xdist and the reports -----------------------------------------------------------------


@pytest.mark.usefixtures("child_env")
def test_xdist_runs_every_claim_once_and_the_controller_writes_the_reports(project: pytest.Pytester) -> None:
    """Workers collect for themselves (the ids must agree) and send their verdicts to the controller;
    the reports equal those of a run without xdist."""
    project.makefile(".kverify.yaml", web=spec("web", HOLDS, WEBHOOK), shop=spec("shop", WEBHOOK, HOLDS))
    reports = ["--kverify-markdown=out/xdist.md", "--kverify-sarif=out/xdist.sarif"]
    result = project.runpytest_subprocess(*child_args(), "-p", "xdist", "-n", "2", "-p", "no:cacheprovider", *reports)
    result.assert_outcomes(passed=4, failed=2)
    written = "kverify: {} report of the spec verdicts written to out/xdist.{}"
    result.stdout.fnmatch_lines(
        ["created: 2/2 workers", written.format("Markdown", "md"), written.format("SARIF", "sarif")]
    )
    run(project, "--kverify-markdown=out/serial.md", "--kverify-sarif=out/serial.sarif").assert_outcomes(
        passed=4, failed=2
    )
    for kind in ("md", "sarif"):
        assert (project.path / f"out/xdist.{kind}").read_text() == (project.path / f"out/serial.{kind}").read_text()


def test_the_markdown_report_lists_every_verdict_with_its_counterexample(project: pytest.Pytester) -> None:
    project.makefile(".kverify.yaml", web=spec("web", HOLDS, WEBHOOK))
    run(project, "--kverify-markdown=report.md").assert_outcomes(passed=2, failed=1)
    text = (project.path / "report.md").read_text()
    assert text.startswith("# kverify: the spec verdicts of a pytest run\n\n3 results: 2 as expected, 1 failed")
    rows = [line for line in text.splitlines() if line.startswith("| ✅") or line.startswith("| ❌")]
    assert [row.split(" | ")[3].split(":")[0] for row in rows] == [
        "external clients keep their IP",
        "shoppers are served on the node they arrive at",
        "webhook sees the provider's IP",
    ]
    (diagram,) = re.findall(r"```mermaid\n(.*?)\n```", text, flags=re.DOTALL)
    check_mermaid(diagram)
    assert "- reproduce: `kverify trace manifests --service shop/checkout-webhook" in text


def test_the_sarif_report_validates_and_points_at_the_manifest(project: pytest.Pytester) -> None:
    (project.path / "manifests" / "elb.yaml").write_text(HOSTNAME_ONLY)
    unknown = "  - {id: elb delivers, service: shop/elb, from: pod, via: load-balancer, property: delivered,"
    unknown += " allowUnknown: true}\n"
    project.makefile(".kverify.yaml", web=spec("web", HOLDS, WEBHOOK, unknown))
    run(project, "--kverify-sarif=reports/kverify.sarif").assert_outcomes(passed=2, failed=1, skipped=1)
    document = json.loads((project.path / "reports" / "kverify.sarif").read_text())
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(document)
    results = document["runs"][0]["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [
        ("web/webhook sees the provider's IP", "error"),
        ("web/elb delivers", "note"),
    ]
    where = results[0]["locations"][0]["physicalLocation"]
    assert where == {"artifactLocation": {"uri": "manifests/checkout.yaml"}, "region": {"startLine": 3}}


def test_reports_are_written_even_when_no_spec_ran(project: pytest.Pytester) -> None:
    """A CI step that uploads the SARIF file finds one, with no results."""
    project.makepyfile(test_other="def test_other():\n    pass\n")
    run(project, "--kverify-sarif=kverify.sarif").assert_outcomes(passed=1)
    document = json.loads((project.path / "kverify.sarif").read_text())
    assert document["runs"][0]["results"] == []
