"""Benchmark: the review commands, ``kverify check --fixes`` and ``kverify diff``, as a snapshot grows
(issue 11: work grows linearly with the input).

Generates, for each size N, a snapshot of N nodes, N Services and 30 endpoints per Service (the shape of
``scale_check.py``, about a twentieth of whose Services have a built-in finding) written as YAML documents
one after another (``---``), the layout a fix can patch, and as one JSON List, whose fixes say why there is
no patch. Times ``kverify check FILE --fixes --format json`` in a fresh interpreter and prints each time,
the findings, and the growth factor from the size before. Linear work in the input doubles when the input
doubles; each fix is decided again over every node, so the work is findings x nodes, and the factor per
doubling tends to 4 at most (it was 8 and more on YAML before each edit read only its own document).
Then times ``kverify diff`` of each file against a copy where one Service's ``externalTrafficPolicy``
is flipped: only that Service is decided again, so the time is loading the two revisions plus one
Service's probes over every node (linear; it compared every node once per Service before).
Run: ``python benchmarks/review_scale.py [--sizes 100 200 400 800]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, ROOT)

from _measure import compile_kverify, kverify_child_env  # noqa: E402 - benchmarks/ is on sys.path when run
from scale_check import snapshot  # noqa: E402


def _write(folder: str, size: int) -> tuple[str, str]:
    document = snapshot(size, size, 30 * size)
    json_path = os.path.join(folder, f"snapshot-{size}.json")
    with open(json_path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=1, sort_keys=True)
    import yaml

    yaml_path = os.path.join(folder, f"snapshot-{size}.yaml")
    with open(yaml_path, "w", encoding="utf-8") as handle:
        yaml.safe_dump_all(document["items"], handle, sort_keys=True)
    return json_path, yaml_path


def _run(path: str) -> tuple[float, int, int]:
    """Wall time, exit code and fixes found of ``kverify check PATH --fixes --format json``."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "kverify", "check", path, "--fixes", "--format", "json", "--allow-nothing-checked"],
        env=kverify_child_env(ROOT),
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    fixes = len(json.loads(done.stdout).get("fixes", [])) if done.stdout.strip() else -1
    return wall, done.returncode, fixes


def _flipped(path: str) -> str:
    """A copy of ``path`` with the first Service's eTP Cluster turned Local (JSON) or Local (YAML)."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    for before, after in (
        ('"externalTrafficPolicy": "Cluster"', '"externalTrafficPolicy": "Local"'),
        ("externalTrafficPolicy: Cluster", "externalTrafficPolicy: Local"),
    ):
        if before in text:
            text = text.replace(before, after, 1)
            break
    flipped = path.replace("snapshot-", "flipped-")
    with open(flipped, "w", encoding="utf-8") as handle:
        handle.write(text)
    return flipped


def _diff(old: str, new: str) -> tuple[float, int, int]:
    """Wall time, exit code and Services changed of ``kverify diff OLD NEW --format json``."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "kverify", "diff", old, new, "--format", "json"],
        env=kverify_child_env(ROOT),
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    changed = json.loads(done.stdout)["summary"]["services_changed"] if done.stdout.strip() else -1
    return wall, done.returncode, changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 200, 400, 800])
    args = parser.parse_args()
    print(compile_kverify(ROOT))
    before: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        for size in args.sizes:
            for path in _write(folder, size):
                kind = path.rsplit(".", 1)[1]
                wall, code, fixes = _run(path)
                growth = f", x{wall / before[kind]:.1f} from the size before" if kind in before else ""
                print(
                    f"{size:6d} nodes and Services, {kind:4s} ({os.path.getsize(path) / 1e6:.1f} MB): "
                    f"check --fixes {wall:.2f} s, exit {code}, fixes for {fixes} findings{growth}"
                )
                before[kind] = wall
                wall, code, changed = _diff(path, _flipped(path))
                key = f"diff {kind}"
                growth = f", x{wall / before[key]:.1f} from the size before" if key in before else ""
                print(f"{'':36s} diff {wall:.2f} s, exit {code}, {changed} Service(s) changed{growth}")
                before[key] = wall


if __name__ == "__main__":
    main()
