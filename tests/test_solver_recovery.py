"""The solver recovers from timeouts (issue 11).

After one pass at a tiny timeout, later calls in the same process reused the interrupted solvers and
raised ``InputError``, ``InternalError`` or ``ValueError: 4 is not a valid ClientKind`` instead of
proving. Property: a process that first proves some claims at a tiny timeout, then at the default,
reaches exactly the verdicts (and counterexample ids) of a fresh process. Both run in their own
interpreters, so nothing cached in the test process can hide the difference.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kverify.cli import main
from kverify.prove.claims import ALL_CLAIMS

#: Holds, refuted with a counterexample, and a spread claim (its own encoding) twice: the second query on a
#: solver that gave up is the one that went wrong.
PAIRS = [
    ("etp-cluster-delivers", "iptables"),
    ("etp-local-always-delivers", "nftables"),
    ("etp-local-even-spread", "iptables"),
    ("etp-local-even-spread", "ipvs"),
    ("external-reply-ok", "dnat-only"),
]

SCRIPT = """
import json, sys
from kverify.prove.run import prove_all
from kverify.prove.claims import ALL_CLAIMS, find_claim
from kverify.model import Dataplane
pairs = [(find_claim(c), Dataplane.parse(d)) for c, d in json.loads(sys.argv[1])]
tiny = int(sys.argv[2])
if tiny:  # the whole library first, as the issue ran it: most of it ends in Unknown, the solvers gave up
    prove_all([(c, d) for c in ALL_CLAIMS for d in c.expected], timeout_ms=tiny)
verdicts = prove_all(pairs)
print(json.dumps([[v.claim, v.verdict, getattr(getattr(v, "counterexample", None), "id", None)] for v in verdicts]))
"""


def _run(pairs: list[tuple[str, str]], tiny_ms: int) -> list[list[str | None]]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(pairs), str(tiny_ms)],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def fresh() -> dict[tuple[str, str], list[str | None]]:
    """Each pair's verdict from a fresh process at the default timeout."""
    return dict(zip(PAIRS, _run(PAIRS, 0), strict=True))


@pytest.mark.slow
@settings(max_examples=2, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), database=None)
@given(
    pairs=st.permutations(PAIRS),
    tiny_ms=st.integers(min_value=1, max_value=10),
)
def test_verdicts_after_timeouts_equal_a_fresh_process(fresh, pairs, tiny_ms) -> None:  # type: ignore[no-untyped-def]
    assert _run(pairs, tiny_ms) == [fresh[p] for p in pairs]


@pytest.mark.parametrize(
    ("seconds", "expected"), [(0.0009, 1), (0.001, 1), (0.0011, 2), (20.0, 20_000), (1e-9, 1)], ids=str
)
def test_timeouts_round_up_and_never_to_zero(seconds: float, expected: int) -> None:
    from kverify.symbolic.prove import timeout_ms_of

    assert timeout_ms_of(seconds) == expected  # Z3 reads 0 ms as no timeout at all


@pytest.mark.parametrize("bad", [0, -1, 0.0])
def test_a_zero_timeout_is_refused_by_the_library(bad: float) -> None:
    from kverify.prove.run import prove_all

    with pytest.raises(ValueError, match="timeout"):
        prove_all([(ALL_CLAIMS[0], next(iter(ALL_CLAIMS[0].expected)))], timeout_ms=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["0", "-1", "nan", "inf"])
def test_prove_refuses_a_timeout_that_is_not_a_positive_number(capsys, bad: str) -> None:  # type: ignore[no-untyped-def]
    assert main(["prove", ALL_CLAIMS[0].id, "--timeout", bad]) == 2
    assert "--timeout: Invalid value" in capsys.readouterr().err


def test_prove_json_is_byte_identical_between_runs_unless_timings_are_asked(capsys) -> None:  # type: ignore[no-untyped-def]
    argv = ["prove", "etp-local-always-delivers", "--dataplane", "iptables", "--format", "json"]
    outputs = []
    for _ in range(2):
        main(argv)
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]
    assert '"seconds"' not in outputs[0]
    main([*argv, "--timings"])
    assert all("seconds" in r for r in json.loads(capsys.readouterr().out)["results"])


def test_a_solver_that_gave_up_is_replaced_and_one_that_did_not_is_kept(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import z3

    from kverify.model import Dataplane
    from kverify.prove.claims import find_claim
    from kverify.symbolic import prove

    claim = find_claim("etp-cluster-delivers")
    before = prove.encoding(2, 2)[2]
    real_check = z3.Solver.check
    calls = 0

    def gives_up_once(self, *assumptions):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        return z3.unknown if calls == 1 else real_check(self, *assumptions)  # as a timeout does

    monkeypatch.setattr(z3.Solver, "check", gives_up_once)
    prove.find_violation(claim, Dataplane.IPTABLES, max_nodes=2, max_endpoints=2)
    after = prove.encoding(2, 2)[2]
    assert after is not before  # never asked again
    assert after.num_scopes() == 0
    assert after.kverify_shared == before.kverify_shared
    answer = prove.find_violation(claim, Dataplane.IPTABLES, max_nodes=2, max_endpoints=2)
    assert answer.status == "unsat"  # the claim holds within these bounds
    assert prove.encoding(2, 2)[2] is after  # a query that did not give up keeps its solver
    assert after.num_scopes() == 0
