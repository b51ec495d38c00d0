"""The ClusterIPs a Service claims are those the API server did not allocate, whichever its position."""

from __future__ import annotations

import pytest

from kverify.errors import Problem
from kverify.load.fields import Ctx
from kverify.load.validate import Allocations


@pytest.mark.parametrize("allocated_at", [None, 0, 1, 2])
def test_each_given_cluster_ip_is_claimed_and_an_allocated_one_is_not(allocated_at: int | None) -> None:
    ips = ("10.96.0.1", "fd00::1", "10.96.0.3")
    allocated = frozenset() if allocated_at is None else frozenset({f"spec.clusterIPs[{allocated_at}]", "spec.type"})
    problems: list[Problem] = []
    claims = Allocations()
    claims.service(
        Ctx("f.yaml", lambda _: 1, "Service a/b", problems, []), "a/b", {"cluster_ips": ips, "allocated": allocated}
    )
    assert list(claims.cluster_ips) == [ip for j, ip in enumerate(ips) if j != allocated_at]
    # A second Service giving the same addresses is refused each claimed one, and only those.
    claims.service(
        Ctx("f.yaml", lambda _: 2, "Service a/c", problems, []), "a/c", {"cluster_ips": ips, "allocated": frozenset()}
    )
    assert len(problems) == len(ips) - (allocated_at is not None)
    assert not any("a/c" in p.message for p in problems)
