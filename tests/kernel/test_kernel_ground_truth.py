"""kverify against the Linux kernel running kube-proxy's own rules (issue 13).

The privileged test builds the namespace labs (``harness.py``), loads the rules kube-proxy's unit
tests assert (``rules/``), sends every fixture flow, compares with ``route()``, and checks
``docs/research/kernel-ground-truth.md`` against what it saw. Without root or the tools it is
skipped with the reason; with ``KVERIFY_REQUIRE_KERNEL=1`` (set by ``.ci/run``) it fails instead,
so CI cannot pass without running it. The other tests here need no privileges.
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.kernel import experiments
from tests.kernel.fixture import FIXTURES, OVERALL_NFT, Fixture
from tests.kernel.ground_truth import Row, compare, load_rules, open_lab
from tests.kernel.harness import CLIENT, NODE_A, RULES, nft_transaction, unavailable
from tests.kernel.report import DOC, REGENERATE, Results, render, unexplained

ROOT = Path(__file__).resolve().parents[2]


def _fixture_in_a_lab(fixture: Fixture) -> tuple[list[Row], list[experiments.Hairpin]]:
    with open_lab(fixture) as lab:
        load_rules(lab, fixture)
        rows = compare(lab, fixture)
        hairpin = experiments.hairpin(lab) if fixture is OVERALL_NFT else []
    return rows, hairpin


def _run_everything() -> Results:
    with ThreadPoolExecutor(max_workers=2) as pool:
        labs = [pool.submit(_fixture_in_a_lab, fixture) for fixture in FIXTURES]
        thought = pool.submit(experiments.thought_experiment)
        vxlan = pool.submit(experiments.vxlan_observations)
        rows = [row for lab in labs for row in lab.result()[0]]
        hairpin = [h for lab in labs for h in lab.result()[1]]
        routed = {row.flow.id: row.observed for row in rows if row.fixture is OVERALL_NFT}
        return Results(
            rows=tuple(rows),
            thought=thought.result(),
            masquerade=tuple(experiments.masquerade_sources(routed, vxlan.result())),
            hairpin=tuple(hairpin),
        )


@pytest.fixture(scope="module")
def results() -> Results:
    reason = unavailable()
    if reason:
        if os.environ.get("KVERIFY_REQUIRE_KERNEL") == "1":
            pytest.fail(f"KVERIFY_REQUIRE_KERNEL=1 but {reason}")
        pytest.skip(reason)
    return _run_everything()


def test_kernel_agrees_with_kverify_or_the_gap_is_explained(results: Results) -> None:
    assert len(results.rows) >= 40
    problems = unexplained(results.rows)
    assert not problems, "kverify and the kernel disagree, unexplained:\n" + "\n".join(problems)
    rendered = render(results)
    doc = ROOT / DOC
    if os.environ.get("KVERIFY_WRITE_GROUND_TRUTH") == "1":
        doc.write_text(rendered)
    assert doc.read_text() == rendered, f"{DOC} is not what the kernel did this time; regenerate: {REGENERATE}"


def test_dnat_without_snat_fails_because_the_reply_comes_from_the_pod(results: Results) -> None:
    t = results.thought
    assert t.model.delivered and not t.model.reply_ok and t.model.source_ip_seen == CLIENT
    assert "delivered" not in t.without_snat.fates
    assert "10.180.0.1" in t.without_snat.replies_from and "1.2.3.4" not in t.without_snat.replies_from
    assert t.with_snat.fates == ("delivered",) and t.with_snat.seen == (("10.180.0.1", NODE_A),)


def test_masquerade_takes_the_address_of_the_interface_the_packet_leaves_by(results: Results) -> None:
    for found in results.masquerade:
        assert found.observed == found.interface_address, found


def test_hairpin_needs_hairpin_mode_only_when_bridge_netfilter_is_on(results: Results) -> None:
    reached = {(h.hairpin_mode, h.bridge_netfilter): dict(h.observed.seen).get("10.180.0.5") for h in results.hairpin}
    assert reached == {
        (True, True): "10.0.0.1",
        (True, False): "10.0.0.1",
        (False, False): "10.0.0.1",
        (False, True): None,
    }
    (off,) = [h for h in results.hairpin if not h.hairpin_mode and h.bridge_netfilter]
    assert "dropped" in off.observed.fates and "10.180.0.4" in dict(off.observed.seen)


# -- no privileges needed ----------------------------------------------------------------------


def test_the_nft_transaction_creates_every_object_before_a_rule_uses_it() -> None:
    lines = nft_transaction((RULES / "nftables_overall.nft").read_text()).splitlines()
    first_rule = next(i for i, line in enumerate(lines) if line.startswith(("add rule", "add element")))
    assert all(line.startswith(("add table", "add set", "add map", "add chain")) for line in lines[:first_rule])
    assert not any(line.startswith(("add table", "add set", "add map", "add chain")) for line in lines[first_rule:])
    assert len(lines) == len(
        [x for x in (RULES / "nftables_overall.nft").read_text().splitlines() if x.strip() and not x.startswith("#")]
    )


PATTERNS = {
    ".nft": (r"dnat to ([\d.]+):80", r"service-ips \{ ([\d.]+) \. tcp \. 80"),
    ".rules": (r"--to-destination ([\d.]+):80", r"-d ([\d.]+) --dport 80 -j KUBE-(?:SVC|EXT|FW)"),
}


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f.name)
def test_the_kverify_fixture_is_the_cluster_the_rules_were_written_for(fixture: Fixture) -> None:
    """The Services and endpoints built in fixture.py are those the transcribed rules serve."""
    (path,) = fixture.rules
    text = (RULES / path).read_text()
    dnat, service_ip = PATTERNS[Path(path).suffix]
    services = fixture.cluster.services
    assert set(re.findall(dnat, text)) <= {e.ip for s in services for e in s.endpoints}
    addresses = {ip for s in services if s.endpoints for ip in (*s.cluster_ips, *s.external_ips)} | {
        i.ip for s in services if s.endpoints for i in s.load_balancer_ingress if i.ip
    }
    assert set(re.findall(service_ip, text)) == addresses
    node_ports = {p.node_port for s in services for p in s.ports if p.node_port}
    assert {int(n) for n in re.findall(r"(?:tcp \. |--dport )(300\d)\b", text)} == node_ports


def test_enough_flows_for_both_dataplanes() -> None:
    assert sum(len(f.flows) for f in FIXTURES) >= 40
    assert all(len({flow.id for flow in f.flows}) == len(f.flows) for f in FIXTURES)
