"""``kverify.report.compact_json.dumps`` writes exactly the json module's compact text, by orjson
where that gives the same bytes and by the json module everywhere else."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kverify.concrete import iter_outcome_groups, route
from kverify.errors import InputError
from kverify.model import Cluster, Flow
from kverify.report import compact_json
from kverify.report.compact_json import dumps, reference
from kverify.testing.strategies import clusters_and_flows

orjson = pytest.importorskip("orjson")


@pytest.fixture
def fallbacks(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The documents written by the json module (the reference), as dumps falls back to it."""
    seen: list[Any] = []

    def counted(document: Any) -> str:
        seen.append(document)
        return reference(document)

    monkeypatch.setattr(compact_json, "reference", counted)
    return seen


@pytest.mark.parametrize(
    "document",
    [
        pytest.param({"a": 1, "b": [True, False, None], "c": {"d": "e"}}, id="plain values"),
        pytest.param(["".join(chr(c) for c in range(0x7F))], id="every ASCII character but DEL"),
        pytest.param({"ports": (80, 443)}, id="a tuple, written as a list by both"),
        pytest.param([2**63 - 1, -(2**63)], id="64-bit integers"),
    ],
)
def test_documents_orjson_writes_alike_are_written_by_orjson(document: Any, fallbacks: list[Any]) -> None:
    assert dumps(document) == reference(document)
    assert fallbacks == []


@pytest.mark.parametrize(
    "document",
    [
        pytest.param({"pod": "shop/café"}, id="non-ASCII: the json module escapes it"),
        pytest.param({"note": "a\x7fb"}, id="DEL: the json module escapes it, orjson does not"),
        pytest.param([2**64], id="an integer beyond 64 bits: orjson refuses it"),
        pytest.param({1: "x"}, id="a key that is not a string: orjson refuses it"),
        pytest.param(["\ud800"], id="a lone surrogate: orjson refuses it"),
    ],
)
def test_documents_orjson_writes_differently_are_written_by_the_json_module(
    document: Any, fallbacks: list[Any]
) -> None:
    assert dumps(document) == reference(document)
    assert len(fallbacks) == 1


@settings()  # examples per profile: 100 by default, 600 in CI (tests/conftest.py)
@given(pair=clusters_and_flows(max_nodes=4, max_endpoints=6), name=st.text(max_size=3))
def test_trace_documents_are_written_alike(pair: tuple[Cluster, Flow], name: str) -> None:
    """Every kind of outcome and group a trace writes (drops, deliveries, health checks, hops), with
    any text in it: the same text from both encoders."""
    cluster, flow = pair
    try:
        groups = [g.to_json() for g in iter_outcome_groups(cluster, flow)]
        outcomes = [o.to_json() for o in route(cluster, flow)]
    except InputError:  # not modelled (NotModelled), or a flow the cluster refuses: nothing is written
        return
    document = {"service": name, "outcomes": outcomes, "outcome_groups": groups}
    assert dumps(document) == reference(document)
