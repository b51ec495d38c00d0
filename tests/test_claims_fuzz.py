"""Every claim of the library against the executable model, on random clusters larger than the
proofs' bound (up to 6 nodes and 9 endpoints): a proved claim never fails (which also tests the
small-model argument behind the bounded proofs), and every refuted claim's counterexample fails it.
"""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kverify.model import ClientKind, Cluster, Cni, Dataplane, Destination, Flow
from kverify.model.cilium import CiliumSettings
from kverify.model.metallb import NEWEST_METALLB
from kverify.prove.claims import CLAIMS, CNI_CLAIMS, HOLDS, LB_CLAIMS, REVIEW_CLAIMS, Claim
from kverify.prove.run import prove_claim, violations
from kverify.testing.strategies import clusters_and_flows
from kverify.verdicts import Refuted

LIBRARY = CLAIMS + REVIEW_CLAIMS + LB_CLAIMS + CNI_CLAIMS
HOLDING = [(c, dp) for c in LIBRARY for dp, verdict in c.expected.items() if verdict == HOLDS]
REFUTED = [(c, dp) for c in LIBRARY for dp, verdict in c.expected.items() if verdict != HOLDS]


def _as_claimed(claim: Claim, dataplane: Dataplane, cluster: Cluster, flow: Flow) -> tuple[Cluster, Flow]:
    # The library's expectations are stated as `kverify prove` proves them: the newest MetalLB (a MetalLB claim
    # is refuted on older ones) and Cilium's chart defaults at its newest release (nodeport-ignores-source-ranges
    # is refuted with bpf.lbSourceRangeAllTypes=true or on v1.18.0-v1.18.5, as the claim itself says).
    proxy = attrs.evolve(cluster.proxy, dataplane=dataplane, cni=claim.cni or Cni.GENERIC, cilium=CiliumSettings())
    cluster = attrs.evolve(cluster, proxy=proxy, load_balancer=claim.load_balancer, metallb_version=NEWEST_METALLB)
    if claim.via_load_balancer and flow.client is ClientKind.EXTERNAL and flow.destination is Destination.LOAD_BALANCER:
        flow = attrs.evolve(flow, node=None)
    return cluster, flow


@settings(max_examples=500)
@given(pair=clusters_and_flows(max_nodes=6, max_endpoints=9), which=st.sampled_from(HOLDING))
def test_proved_claims_never_fail_in_the_executable_model(pair: tuple[Cluster, Flow], which) -> None:  # type: ignore[no-untyped-def]
    claim, dataplane = which
    cluster, flow = _as_claimed(claim, dataplane, *pair)
    broken = violations(claim, cluster, flow)
    assert not broken, (claim.id, dataplane.spelling, cluster, flow, [o.to_json() for o in broken])


@pytest.mark.parametrize(("claim", "dataplane"), REFUTED, ids=[f"{c.id}-{d.spelling}" for c, d in REFUTED])
def test_refuted_claims_fail_on_their_counterexample(claim: Claim, dataplane: Dataplane) -> None:
    verdict = prove_claim(claim, dataplane)
    assert isinstance(verdict, Refuted)
    cx = verdict.counterexample
    assert violations(claim, cx.cluster, cx.flow), "the counterexample does not break the claim concretely"


def test_claims_are_checked_at_cilium_s_defaults_as_they_are_proved() -> None:
    """A drawn Cilium option set (here bpf.lbSourceRangeAllTypes, which guards the NodePort too) is not what
    the library's verdicts are proved for: the fuzz once reported nodeport-ignores-source-ranges broken on it."""
    claim = next(c for c in LIBRARY if c.id == "nodeport-ignores-source-ranges")
    drawn = CiliumSettings(source_range_all_types=True)
    cluster = Cluster(nodes=(), services=(), proxy=attrs.evolve(Cluster(nodes=(), services=()).proxy, cilium=drawn))
    flow = Flow(service="default/svc", client=ClientKind.EXTERNAL, destination=Destination.NODE_PORT)
    claimed, _ = _as_claimed(claim, Dataplane.CILIUM_SNAT, cluster, flow)
    assert cluster.proxy.cilium.source_range_all_types
    assert claimed.proxy.cilium == CiliumSettings()
