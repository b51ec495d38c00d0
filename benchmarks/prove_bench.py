"""Benchmark the theorem library and the differential test.

    python benchmarks/prove_bench.py [--examples N]

Prints the wall time of proving or refuting every claim on every dataplane (in this process,
including building the encoding), and how many differential-test examples per second the twin
check runs (Z3 enumeration vs the executable model on random clusters).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))


def library(jobs: int) -> tuple[float, int]:
    from kverify.prove.claims import ALL_CLAIMS
    from kverify.prove.run import prove_all

    started = time.perf_counter()
    verdicts = prove_all([(c, dp) for c in ALL_CLAIMS for dp in c.expected], jobs=jobs)
    return time.perf_counter() - started, len(verdicts)


def differential(examples: int) -> tuple[float, int]:
    from hypothesis import HealthCheck, given, settings

    from kverify.symbolic.differential import compare
    from kverify.testing.strategies import clusters_and_flows

    calls = 0

    @settings(
        max_examples=examples, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    @given(clusters_and_flows(max_nodes=3, max_endpoints=4))
    def run(pair):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        for comparison in compare(*pair):
            assert comparison.symbolic == comparison.concrete

    started = time.perf_counter()
    run()
    return time.perf_counter() - started, calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=500)
    args = parser.parse_args()
    started = time.perf_counter()
    import kverify.prove.run  # noqa: F401  (import time counts: z3 and the rule table)

    imported = time.perf_counter() - started
    for jobs in (1, 2):
        seconds, verdicts = library(jobs)
        print(
            f"theorem library: {verdicts} verdicts in {seconds:.2f} s with {jobs} process(es) "
            f"(+ {imported:.2f} s imports; {os.cpu_count()} CPUs visible)"
        )
    seconds, examples = differential(args.examples)
    print(f"differential test: {examples} examples in {seconds:.2f} s = {examples / seconds:.1f} examples/s")


if __name__ == "__main__":
    main()
