"""Benchmark: the fixed start-up cost of ``kverify`` (issue 11: on the trace benchmark every 0.05 s of
start-up is 7% of the time budget).

Times, each in a fresh interpreter as a user runs it (best of ``--repeat``, wall and CPU):
``python -c pass`` (the interpreter alone), ``kverify --version``, and ``trace`` and ``check`` of a
snapshot of one Node, one Service and its EndpointSlice (start-up dominates). With ``--instructions``
(valgrind installed) it also counts the instructions each executes, a figure a loaded machine does
not distort (the shared machines here vary wall and CPU time by 2x): compare those before/after.
Run: ``python benchmarks/startup.py [--repeat N] [--instructions]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from _measure import compile_kverify, kverify_child_env  # noqa: E402 - benchmarks/ is on sys.path when run

#: The smallest snapshot a trace and a check read (start-up is nearly all of their time); the start-up
#: tests read the same file.
with open(os.path.join(ROOT, "tests", "data", "startup-snapshot.json")) as _file:
    SNAPSHOT = json.load(_file)

#: How kverify is started: as the console script does (``kverify.launch:main``).
KVERIFY = [sys.executable, "-c", "from kverify.launch import main; main()"]


def commands(snapshot: str) -> list[tuple[str, list[str]]]:
    trace = ["trace", snapshot, "--service", "shop/web", "--to", "node-port", "--from", "external"]
    return [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("kverify --version", [*KVERIFY, "--version"]),
        ("trace tiny --format json", [*KVERIFY, *trace, "--format", "json"]),
        ("trace tiny (text)", [*KVERIFY, *trace]),
        ("check tiny --format json", [*KVERIFY, "check", snapshot, "--format", "json"]),
        ("check tiny (text)", [*KVERIFY, "check", snapshot]),
    ]


def best_times(command: list[str], repeat: int, env: dict[str, str]) -> tuple[float, float]:
    """Best wall and best CPU time (user + system, from the child's rusage) of ``repeat`` runs."""
    best_wall = best_cpu = float("inf")
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
        best_wall = min(best_wall, time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        best_cpu = min(best_cpu, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return best_wall, best_cpu


def instructions(command: list[str], env: dict[str, str]) -> int:
    """Instructions executed (valgrind's cachegrind ``I refs``), the same from run to run."""
    done = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null", *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        check=False,
    )
    line = next(line for line in done.stderr.splitlines() if "I" in line and "refs:" in line)
    return int(line.split("refs:")[1].replace(",", "").strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=10, help="runs of each command; the best is shown")
    parser.add_argument("--instructions", action="store_true", help="count instructions with valgrind too")
    args = parser.parse_args()
    if args.instructions and shutil.which("valgrind") is None:
        parser.error("--instructions needs valgrind on PATH")
    print(compile_kverify(ROOT))
    env = kverify_child_env(ROOT)
    with tempfile.TemporaryDirectory() as folder:
        snapshot = os.path.join(folder, "snapshot.json")
        with open(snapshot, "w") as handle:
            json.dump(SNAPSHOT, handle)
        for name, command in commands(snapshot):
            wall, cpu = best_times(command, args.repeat, env)
            row = f"{name:26} wall {wall:.3f} s  cpu {cpu:.3f} s (best of {args.repeat})"
            if args.instructions:
                row += f"  {instructions(command, env) / 1e6:7.1f} M instructions"
            print(row, flush=True)


if __name__ == "__main__":
    main()
