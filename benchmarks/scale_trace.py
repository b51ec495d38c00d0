"""Benchmark: ``kverify trace`` of one big Service, against the time it takes to parse the file.

Generates one Service (NodePort, ``externalTrafficPolicy: Local``) with 100,000 endpoints spread over
1,000 nodes as one ``kubectl get -o json`` List (and the same as YAML), then times, each in a fresh
interpreter as a user runs it:

- ``trace --to node-port --from external`` with no ``--node`` on the Service with
  ``externalTrafficPolicy: Local``: the flow arriving at every node (1,000 handlings, 100 local
  endpoints each: 100,000 outcomes, printed as 1,000 groups);
- ``trace --to node-port --from external --node node-00000`` on the same Service with
  ``externalTrafficPolicy: Cluster``: one handling, 100,000 outcomes (the case that was quadratic:
  each outcome's explanation re-scanned every endpoint).

and prints each beside the parse time (orjson for JSON when installed, else the standard library;
PyYAML's C loader for YAML) and the peak memory. Goal (issue 11): under 3x the parse time. For JSON
it also prints the ratio to msgspec decoding the file into plain dicts, faster than orjson on these
files: the stricter reading of "the time it takes to parse the file".
Run: ``python benchmarks/scale_trace.py [--nodes N --endpoints E --yaml]`` (both cases, one run).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from _measure import (  # noqa: E402 - benchmarks/ is on sys.path when run
    PEAK_SCRIPT,
    compile_kverify,
    kverify_child_env,
    msgspec_ratio_line,
    parse_process_seconds,
    parse_seconds,
)


def snapshot(nodes: int, endpoints: int, etp: str) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    for i in range(nodes):
        items.append(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": f"node-{i:05d}", "labels": {"topology.kubernetes.io/zone": f"zone-{i % 3}"}},
                "spec": {"podCIDR": f"10.{64 + i // 256}.{i % 256}.0/24"},
                "status": {"addresses": [{"type": "InternalIP", "address": f"172.16.{i // 256}.{i % 256}"}]},
            }
        )
    items.append(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {
                "type": "NodePort",
                "clusterIP": "10.96.0.10",
                "ports": [{"name": "http", "port": 80, "targetPort": 8080, "nodePort": 30080, "protocol": "TCP"}],
                "externalTrafficPolicy": etp,
            },
        }
    )
    per_slice = 1000  # the EndpointSlice controller's maximum is 1,000 endpoints per slice
    for first in range(0, endpoints, per_slice):
        eps = []
        for pod in range(first, min(first + per_slice, endpoints)):
            eps.append(
                {
                    "addresses": [f"10.{128 + pod // 65536}.{(pod // 256) % 256}.{pod % 256}"],
                    "conditions": {"ready": True, "serving": True, "terminating": False},
                    "nodeName": f"node-{pod % nodes:05d}",
                    "targetRef": {"kind": "Pod", "namespace": "shop", "name": f"web-{pod}"},
                }
            )
        items.append(
            {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "name": f"web-{first // per_slice:05d}",
                    "namespace": "shop",
                    "labels": {"kubernetes.io/service-name": "web"},
                },
                "addressType": "IPv4",
                "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
                "endpoints": eps,
            }
        )
    return {"apiVersion": "v1", "kind": "List", "items": items}


def run(command: list[str]) -> tuple[float, float, int, float, int]:
    """Wall time, CPU time (user + system), exit code and peak memory (MB) of one fresh ``kverify``
    process; output lines."""
    env = kverify_child_env(ROOT)
    script = PEAK_SCRIPT
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", script, *command], env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    peak_kb = int(done.stderr.strip().splitlines()[-1]) if done.stderr.strip() else 0
    return wall, cpu, done.returncode, peak_kb / 1024, done.stdout.count("\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--endpoints", type=int, default=100_000)
    parser.add_argument("--yaml", action="store_true", help="also measure the same Lists as YAML")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of kverify and of the parse, each; the best of each counts"
    )
    args = parser.parse_args()
    print(f"one Service: {args.endpoints} endpoints on {args.nodes} nodes; load average {os.getloadavg()[0]:.1f}")
    print(compile_kverify(ROOT))
    cases = (
        ("Local", "arriving at every node", []),
        ("Cluster", "arriving at node-00000", ["--node", "node-00000"]),
    )
    with tempfile.TemporaryDirectory() as folder:
        for etp, where, extra in cases:
            data = snapshot(args.nodes, args.endpoints, etp)
            paths = [os.path.join(folder, f"snapshot-{etp}.json")]
            with open(paths[0], "w") as handle:
                # Keys in alphabetical order, as kubectl prints the unstructured objects of a List.
                json.dump(data, handle, indent=1, sort_keys=True)
            if args.yaml:
                import yaml

                paths.append(os.path.join(folder, f"snapshot-{etp}.yaml"))
                with open(paths[1], "w") as handle:
                    yaml.dump(data, handle, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=True)
            del data
            for path in paths:
                size = os.path.getsize(path) / 1e6
                parse, parse_cpu, parser_name = parse_seconds(path, args.repeat)
                command = ["trace", path, "--service", "shop/web", "--to", "node-port", "--from", "external"]
                # The best of as many fresh processes as parses: the first run after the file is written
                # pays for cold pages (system time) that neither figure is about.
                runs = [run([*command, *extra, "--format", "json"]) for _ in range(args.repeat)]
                wall, cpu = min(r[0] for r in runs), min(r[1] for r in runs)
                code, peak, lines = runs[0][2], max(r[3] for r in runs), runs[0][4]
                print(f"{os.path.basename(path)} ({size:.1f} MB), externalTrafficPolicy {etp}, {where}:")
                print(f"  parse ({parser_name}, best of {args.repeat}): {parse:.2f} s wall, {parse_cpu:.2f} s CPU")
                if parser_name == "orjson":  # the standard library's figure beside it; the ratio is to orjson
                    json_wall, json_cpu, _ = parse_seconds(path, args.repeat, stdlib=True)
                    print(
                        f"  parse (json, the standard library, best of {args.repeat}): {json_wall:.2f} s wall, "
                        f"{json_cpu:.2f} s CPU"
                    )
                print(
                    f"  kverify trace --format json (fresh interpreter, start included, best of {args.repeat}): "
                    f"{wall:.2f} s wall, {cpu:.2f} s CPU, exit {code}, {lines} line(s); "
                    f"each run: {', '.join(f'{r[0]:.2f}' for r in runs)} s wall"
                )
                print(
                    f"  ratio: {wall / parse:.2f}x wall, {cpu / parse_cpu:.2f}x CPU (goal < 3x); "
                    f"peak memory {peak:.0f} MB; load average now {os.getloadavg()[0]:.1f}"
                )
                if (line := msgspec_ratio_line(path, args.repeat, wall, cpu, "< 3x", 2)) is not None:
                    print(line)
                if (process := parse_process_seconds(path, args.repeat)) is not None:
                    # A program that only parses the file, on the same footing as kverify's runs (see _measure).
                    print(
                        f"  parse in a fresh interpreter (orjson, read and start included, best of {args.repeat}): "
                        f"{process[0]:.2f} s wall, {process[1]:.2f} s CPU; ratio to it: {wall / process[0]:.2f}x wall, "
                        f"{cpu / process[1]:.2f}x CPU (< 3x)"
                    )


if __name__ == "__main__":
    main()
