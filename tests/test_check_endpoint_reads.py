"""The built-in checks read endpoints as columns where the loader made them (kverify.check.endpoint_reads),
and ask each Service only the checks for its type (catalogue.CHECKS_FOR_TYPE): the same findings, passes
and idle reasons as reading Endpoint objects and asking every check."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kverify.check import catalogue, endpoint_reads
from kverify.check.catalogue import CHECKS, candidate_flows
from kverify.check.run import facts_for, run_builtin
from kverify.model import Cluster, Endpoint, ServiceType
from kverify.report import check_json
from kverify.testing.strategies import clusters
from tests.test_endpoint_columns import _checked_of, _columns_of

_NODES = st.sampled_from([None, "node-a", "node-b", "node-c"])
_ENDPOINT_LISTS = st.lists(
    st.builds(
        Endpoint,
        ip=st.integers(1, 250).map(lambda i: f"10.0.0.{i}"),
        node_name=_NODES,
        ready=st.booleans(),
        serving=st.booleans(),
        terminating=st.booleans(),
    ),
    max_size=8,
).map(tuple)


@given(_ENDPOINT_LISTS, st.frozensets(_NODES))
def test_each_reader_answers_as_the_endpoint_objects_do(endpoints: tuple[Endpoint, ...], known: frozenset) -> None:
    # The expected values are the Endpoint properties' own definitions, written out per object.
    expected = {
        "node_names": [e.node_name for e in endpoints],
        "ready_nodes": {e.node_name for e in endpoints if e.ready and e.node_name},
        "usable_nodes": {e.node_name for e in endpoints if (e.ready or (e.serving and e.terminating)) and e.node_name},
        "any_usable": any(e.ready or (e.serving and e.terminating) for e in endpoints),
        "any_ready": any(e.ready for e in endpoints),
        "first_usable_node_in": next(
            (e.node_name for e in endpoints if (e.ready or (e.serving and e.terminating)) and e.node_name in known),
            None,
        ),
    }
    made: list[str] = []  # the columns the loader's lazy columns made
    lazy = (_checked_of(tuple(attrs.evolve(e, ports=()) for e in endpoints), made),) if endpoints else ()
    for form in (endpoints, _columns_of(endpoints), *lazy):
        got = {
            "node_names": list(endpoint_reads.node_names(form)),
            "ready_nodes": endpoint_reads.ready_nodes(form),
            "usable_nodes": endpoint_reads.usable_nodes(form),
            "any_usable": endpoint_reads.any_usable(form),
            "any_ready": endpoint_reads.any_ready(form),
            "first_usable_node_in": endpoint_reads.first_usable_node_in(form, known),
        }
        assert got == expected, type(form).__name__
    if all(e.ready for e in endpoints):  # every endpoint usable: serving and terminating say nothing more
        assert "serving" not in made and "terminating" not in made


def _as_columns(cluster: Cluster) -> Cluster:
    """The cluster with every Service's endpoints held as columns, as the loader holds a snapshot's."""
    services = [attrs.evolve(s, endpoints=_columns_of(tuple(s.endpoints))) for s in cluster.services]
    return attrs.evolve(cluster, services=services)


def _report(cluster: Cluster) -> str:
    """Everything the built-in checks conclude on ``cluster``, as the JSON report prints it."""
    return check_json.render(run_builtin(cluster, facts_for(cluster), files=["cluster.yaml"]))


@given(clusters(hints=False, max_nodes=4, max_endpoints=6))
def test_columns_and_endpoint_objects_give_the_same_report(cluster: Cluster) -> None:
    assert _report(_as_columns(cluster)) == _report(cluster)


@given(clusters(max_nodes=4, max_endpoints=6))
def test_a_check_left_out_for_a_service_type_does_not_apply_to_it(cluster: Cluster) -> None:
    facts = facts_for(cluster)
    for service in cluster.services:
        for check in CHECKS:
            if service.type not in check.service_types:
                assert check.candidates(facts, service) is None, (check.id, service.type)
        asked = [(c.id, found) for c, found in candidate_flows(facts, service)]
        every = [(c.id, found) for c in CHECKS if (found := c.candidates(facts, service)) is not None]
        assert [(i, [(x.flow, x.context, x.lb_picks_only) for x in f]) for i, f in asked] == [
            (i, [(x.flow, x.context, x.lb_picks_only) for x in f]) for i, f in every
        ]


@pytest.mark.parametrize("kind", list(ServiceType))
def test_the_checks_for_a_type_keep_the_catalogue_order(kind: ServiceType) -> None:
    order = [c.id for c in CHECKS]
    ids = [c.id for c in catalogue.CHECKS_FOR_TYPE[kind]]
    assert ids == sorted(ids, key=order.index)
    assert "no-usable-endpoints" in ids and "itp-local-clients-without-endpoint" in ids
    assert ("etp-local-node-port" in ids) == (kind is ServiceType.NODE_PORT)
