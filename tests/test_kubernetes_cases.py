"""Kubernetes' own kube-proxy tests, transcribed row by row (tests/kubernetes_cases/*.yaml).

Expected values are copied from the Kubernetes tests named in each row's ``origin``; these tests run
them through kverify's public API (``route``, ``categorize_endpoints``).
"""

from __future__ import annotations

from typing import Any

import pytest

from kverify.concrete import route
from kverify.concrete.categorize import categorize_endpoints
from kverify.model.versions import parse_version
from tests.kubernetes_cases import rows


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [c["id"] for c in cases]


FLOWS = rows.load_rows("flow")
CATEGORIZE = rows.load_rows("categorize")
HEALTH = rows.load_rows("health-check")


@pytest.mark.parametrize("case", FLOWS, ids=_ids(FLOWS))
def test_packet_flow(case: dict[str, Any]) -> None:
    outcomes = route(rows.cluster(case), rows.flow(case))
    expect = case["expect"]
    delivered = [o for o in outcomes if o.delivered]
    assert {o.endpoint_ip for o in delivered} == set(expect.get("endpoints") or []), case["origin"]
    if expect.get("drop_kind"):
        assert not delivered
        assert {o.drop_kind.spelling for o in outcomes} == {expect["drop_kind"]}
    else:
        assert all(o.delivered for o in outcomes)
        if "masqueraded" in expect:
            assert {o.masqueraded for o in delivered} == {expect["masqueraded"]}


@pytest.mark.parametrize("case", CATEGORIZE, ids=_ids(CATEGORIZE))
def test_categorize_endpoints(case: dict[str, Any]) -> None:
    svc = case["service"]
    result = categorize_endpoints(
        [rows.endpoint(e) for e in case["endpoints"]],
        node_name=case["node"]["name"],
        node_zone=case["node"].get("zone"),
        internal_policy_local=svc["internal_traffic_policy"] == "Local",
        external_policy_local=svc["external_traffic_policy"] == "Local",
        externally_accessible=svc["externally_accessible"],
        kubernetes_version=parse_version(str(case.get("kubernetes_version", "1.34"))),
        feature_gates=tuple((case.get("feature_gates") or {}).items()),
        hints_annotation=svc.get("hints_annotation"),
    )
    expect = case["expect"]
    for name, got in (("cluster_endpoints", result.cluster), ("local_endpoints", result.local)):
        wanted = expect[name]
        if wanted is None:
            assert got is None, name
        else:  # Kubernetes' checker accepts nil for an expected empty set.
            assert set(got or ()) == set(wanted), name
    assert set(result.all) == set(expect["all_endpoints"])
    assert result.has_any == (bool(expect["all_endpoints"]) or expect["only_remote_endpoints"])


@pytest.mark.parametrize("case", HEALTH, ids=_ids(HEALTH))
def test_health_check_node_port(case: dict[str, Any]) -> None:
    cluster = rows.cluster(case)
    expect = case["expect"]
    flow = rows.Flow(
        service=cluster.services[0].key,
        client=rows.ClientKind.EXTERNAL,
        destination=rows.Destination.HEALTH_CHECK_NODE_PORT,
        node=expect["node"],
    )
    (outcome,) = route(cluster, flow)
    assert outcome.health_check is not None
    assert outcome.health_check.local_endpoints == expect["local_endpoints"]
    assert outcome.health_check.status == expect["status"]
