"""Benchmark: CPU time of ``kverify check``'s check phase, in this process.

The check phase is everything after the manifests become a Cluster (``to_cluster``): the facts the
checks share, the built-in checks on every Service, the NetworkPolicy note, and the report written
(to ``/dev/null``). Loading is timed apart, and within it ``finish``: what joins the objects read
(endpoints to Services, nodes to endpoints), allocates and builds the Services. CPU time
(``time.process_time``) is what a shared machine distorts least; the best of ``--repeat`` runs counts.

    python benchmarks/check_phase.py /work/bench/check.json --repeat 3 -- --format json

Arguments after ``--`` go to ``kverify check`` (default: ``--format json``).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, ROOT)


def check_phase(path: str, options: list[str]) -> tuple[float, float, float, int]:
    """CPU seconds of loading (up to and including ``to_cluster``), of ``finish`` within it, and of the
    check phase, and the exit code."""
    from kverify import cli
    from kverify.check import session
    from kverify.load.manifests import _Assembly

    marks: dict[str, float] = {}
    original = session.to_cluster
    original_finish = _Assembly.finish

    def timed_finish(self: _Assembly) -> object:
        started = time.process_time()
        try:
            return original_finish(self)
        finally:
            marks["finish"] = time.process_time() - started

    def timed_to_cluster(*args: object, **kwargs: object) -> object:
        cluster = original(*args, **kwargs)  # type: ignore[arg-type]
        marks["clustered"] = time.process_time()
        return cluster

    session.to_cluster = timed_to_cluster  # type: ignore[assignment]
    _Assembly.finish = timed_finish  # type: ignore[assignment,method-assign]
    # As console_main: what the command keeps until exit is not freed inside the timed phase.
    cli._KEPT_UNTIL_EXIT = []
    try:
        started = time.process_time()
        code = cli.main(
            ["check", path, "--output", os.devnull, "--max-input-size", "2000", "--allow-nothing-checked", *options]
        )
        ended = time.process_time()
    finally:
        session.to_cluster = original
        _Assembly.finish = original_finish  # type: ignore[method-assign]
        cli._KEPT_UNTIL_EXIT = None  # freed here, untimed
    return marks["clustered"] - started, marks["finish"], ended - marks["clustered"], code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("options", nargs="*", help="after --: options for kverify check")
    args = parser.parse_args()
    options = args.options or ["--format", "json"]
    best_load = best_finish = best_check = float("inf")
    for _ in range(args.repeat):
        load, finish, check, code = check_phase(args.path, options)
        best_load, best_finish, best_check = min(best_load, load), min(best_finish, finish), min(best_check, check)
        gc.collect()
    print(f"{os.path.basename(args.path)} {' '.join(options)}: exit {code}")
    print(
        f"  load (to to_cluster): {best_load:.3f} s CPU, of which finish {best_finish:.3f} s; "
        f"check phase (after it, report included): {best_check:.3f} s CPU"
    )


if __name__ == "__main__":
    main()
