"""The NetworkPolicy index finds exactly the policies that compare-every-pair finds
(:meth:`IngressPolicy.may_select`), and ``kverify check``'s warning names them in the same order a
Service-by-Service scan of every policy does."""

from __future__ import annotations

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from kverify.check.session import _unenforced_policies
from kverify.load.manifests import LoadedManifests
from kverify.model import Cluster, Service, ServicePort
from kverify.model.policy import IngressPolicy, PolicyIndex

NAMESPACES = st.sampled_from(["a", "b"])
LABELS = st.dictionaries(st.sampled_from(["app", "tier", "team"]), st.sampled_from(["x", "y"]), max_size=3)


def _pairs(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


@st.composite
def policies(draw: st.DrawFn) -> list[IngressPolicy]:
    drawn = draw(st.lists(st.tuples(NAMESPACES, LABELS), max_size=12))
    return [
        IngressPolicy(policy=f"{ns}/p{i}", namespace=ns, pod_selector=_pairs(labels))
        for i, (ns, labels) in enumerate(drawn)
    ]


@settings(max_examples=300)
@given(policies(), NAMESPACES, st.one_of(st.none(), LABELS.map(_pairs)))
def test_the_index_finds_what_every_pair_finds(found: list[IngressPolicy], namespace: str, selector) -> None:  # type: ignore[no-untyped-def]
    buckets = PolicyIndex(found).buckets(namespace, selector)
    from_index = [placed for bucket in buckets for placed in bucket]
    assert len(from_index) == len({position for position, _ in from_index}), "a policy in two lists"
    assert {p.policy for _, p in from_index} == {p.policy for p in found if p.may_select(namespace, selector)}


def _every_pair(found: list[IngressPolicy], services: list[Service]) -> tuple[list[str], list[str]]:
    """The policies and Services the warning names, found by comparing every Service with every policy."""
    names: dict[str, None] = {}
    keys: list[str] = []
    for service in services:
        fitting = [p.policy for p in found if p.may_select(service.namespace, service.selector)]
        if fitting:
            keys.append(service.key)
            names.update(dict.fromkeys(fitting))
    return list(names), keys


@settings(max_examples=200)
@given(policies(), st.lists(st.tuples(NAMESPACES, LABELS), max_size=8))
def test_the_warning_names_policies_in_scan_order(found: list[IngressPolicy], drawn) -> None:  # type: ignore[no-untyped-def]
    services = [
        Service(namespace=ns, name=f"s{i}", selector=_pairs(labels), ports=(ServicePort(name="http", port=80),))
        for i, (ns, labels) in enumerate(drawn)
    ]
    loaded = attrs.evolve(LoadedManifests(), ingress_policies=tuple(found))
    warning = _unenforced_policies(loaded, Cluster(nodes=(), services=tuple(services)))
    names, keys = _every_pair(found, services)
    if not keys:
        assert warning == ()
        return
    (line,) = warning
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    assert line.startswith(f"NetworkPolicy {shown} may restrict ingress to the pods of {keys[0]}")
