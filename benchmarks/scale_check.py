"""Benchmark: ``kverify check`` (built-in checks) on a Kubernetes-scale snapshot.

Generates 5,000 nodes, 10,000 Services and 150,000 endpoints in EndpointSlices as one
``kubectl get -o json`` List in a temporary directory, then reports the wall time of
``kverify check FILE`` divided by the time a fast JSON parser (orjson when installed: the
``bench`` extra, else the standard library) takes to parse the same file, and the peak memory.
Goal: at most 3x. Run: ``python benchmarks/scale_check.py [--nodes N --services S --endpoints E]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, ROOT)

try:
    import orjson
except ImportError:  # pragma: no cover - depends on the environment
    orjson = None


def _node(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": f"node-{i:05d}",
            "labels": {"topology.kubernetes.io/zone": f"zone-{i % 3}", "kubernetes.io/hostname": f"node-{i:05d}"},
        },
        "spec": {"podCIDR": f"10.{64 + i // 256}.{i % 256}.0/24", "podCIDRs": [f"10.{64 + i // 256}.{i % 256}.0/24"]},
        "status": {
            "addresses": [
                {"type": "InternalIP", "address": f"172.16.{i // 256}.{i % 256}"},
                {"type": "Hostname", "address": f"node-{i:05d}"},
            ]
        },
    }


def snapshot(nodes: int, services: int, endpoints: int, seed: int = 7) -> dict[str, Any]:
    """A realistic mix: mostly ClusterIP, some NodePort/LoadBalancer, a few with each problem."""
    rng = random.Random(seed)
    items: list[dict[str, Any]] = [_node(i) for i in range(nodes)]
    per_service = endpoints // services
    pod = 0
    free_ports = iter(range(30000, 32768))  # node ports and health-check node ports share the range
    for s in range(services):
        namespace, name = f"ns-{s % 200}", f"svc-{s:05d}"
        roll = rng.random()
        type_ = "LoadBalancer" if roll < 0.05 else "NodePort" if roll < 0.10 else "ClusterIP"
        spec: dict[str, Any] = {
            "type": type_,
            "clusterIP": f"10.96.{s // 256}.{s % 256}",
            "clusterIPs": [f"10.96.{s // 256}.{s % 256}"],
            "selector": {"app": name},
            "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}],
            "sessionAffinity": "None",
            "internalTrafficPolicy": "Local" if rng.random() < 0.02 else "Cluster",
        }
        metadata: dict[str, Any] = {
            "name": name,
            "namespace": namespace,
            "uid": f"uid-{s}",
            "resourceVersion": str(1000 + s),
        }
        service: dict[str, Any] = {"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": spec}
        if type_ != "ClusterIP":
            spec["ports"][0]["nodePort"] = next(free_ports)  # unique, as the API server requires
            spec["externalTrafficPolicy"] = "Local" if rng.random() < 0.3 else "Cluster"
            if rng.random() < 0.1:
                metadata["annotations"] = {"kverify.io/needs-client-ip": "true"}
        if type_ == "LoadBalancer":
            service["status"] = {"loadBalancer": {"ingress": [{"ip": f"198.18.{s // 256}.{s % 256}"}]}}
            if spec["externalTrafficPolicy"] == "Local":
                spec["healthCheckNodePort"] = next(free_ports)
        items.append(service)
        count = 0 if rng.random() < 0.01 else per_service
        eps = []
        for _ in range(count):
            node = rng.randrange(nodes)
            terminating = rng.random() < 0.01
            eps.append(
                {
                    "addresses": [f"10.{128 + pod // 65536}.{(pod // 256) % 256}.{pod % 256}"],
                    "conditions": {"ready": not terminating, "serving": True, "terminating": terminating},
                    "nodeName": f"node-{node:05d}",
                    "zone": f"zone-{node % 3}",
                    "targetRef": {"kind": "Pod", "namespace": namespace, "name": f"{name}-{pod}", "uid": f"pod-{pod}"},
                }
            )
            pod += 1
        items.append(
            {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "name": f"{name}-abcde",
                    "namespace": namespace,
                    "labels": {"kubernetes.io/service-name": name},
                },
                "addressType": "IPv4",
                "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
                "endpoints": eps,
            }
        )
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items}


def _parse_seconds(path: str, repeat: int = 3) -> tuple[float, str]:
    with open(path, "rb") as handle:
        raw = handle.read()
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        if orjson is not None:
            orjson.loads(raw)
        else:
            json.loads(raw)
        best = min(best, time.perf_counter() - started)
    return best, "orjson" if orjson is not None else "json"


def _check_command(path: str, repeat: int = 3) -> tuple[float, int, float]:
    """Best wall time of ``kverify check FILE`` as a user runs it (a fresh interpreter each time, its
    start included), its exit code, and its peak memory (max RSS of the children, MB)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "kverify", "check", path, "--format", "json", "--output", os.devnull]
    best, code = float("inf"), -1
    for _ in range(repeat):
        started = time.perf_counter()
        code = subprocess.run(command, check=False, env=env).returncode
        best = min(best, time.perf_counter() - started)
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return best, code, peak_kb / 1024


def _phases(path: str) -> dict[str, float]:
    """Where the time goes, in this process: loading, then the built-in checks."""
    from kverify.checks import facts_for, run_builtin
    from kverify.load import load_manifests, to_cluster

    started = time.perf_counter()
    loaded = load_manifests([path])
    loaded_at = time.perf_counter()
    cluster = to_cluster(loaded)
    run = run_builtin(cluster, facts_for(cluster, ip_blocks=loaded.ip_blocks, intents=loaded.intents), files=[path])
    done = time.perf_counter()
    return {"load": loaded_at - started, "checks": done - loaded_at, "findings": len(run.results)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--services", type=int, default=10000)
    parser.add_argument("--endpoints", type=int, default=150000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "snapshot.json")
        with open(path, "w") as handle:
            json.dump(snapshot(args.nodes, args.services, args.endpoints), handle, indent=1)
        size = os.path.getsize(path) / 1e6
        parse, parser_name = _parse_seconds(path)
        wall, code, peak = _check_command(path)
        phases = _phases(path)
        print(f"snapshot: {args.nodes} nodes, {args.services} services, {args.endpoints} endpoints, {size:.1f} MB JSON")
        print(f"parse ({parser_name}, best of 3): {parse:.3f} s")
        print(f"kverify check FILE (best of 3, interpreter start included): {wall:.3f} s, exit {code}")
        print(f"ratio: {wall / parse:.2f}x (goal <= 3x)")
        print(
            f"of which, in process: load {phases['load']:.3f} s, built-in checks {phases['checks']:.3f} s "
            f"({phases['findings']:.0f} findings, each replayed with route())"
        )
        print(f"peak memory (max RSS of kverify check): {peak:.0f} MB")


if __name__ == "__main__":
    main()
