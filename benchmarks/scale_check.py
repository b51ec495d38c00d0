"""Benchmark: ``kverify check`` (built-in checks) on a Kubernetes-scale snapshot.

Generates 5,000 nodes, 10,000 Services and 150,000 endpoints in EndpointSlices as one
``kubectl get -o json`` List in a temporary directory, then reports the wall time of
``kverify check FILE`` divided by the time a fast JSON parser (orjson when installed: the
``bench`` extra, else the standard library) takes to parse the same file, and the peak memory.
Goal (issue 11): at most 1.5x, and under 2 GB. Beside the best-of figures it prints paired rounds:
the parse in process, the check and the parse in a fresh interpreter one after another, and the median
of the rounds' ratios (on a VM whose speed drifts by 10-30%, best against best may pair a fast minute
with a slow one). It also prints the ratio to msgspec decoding the
file into plain dicts, which is faster than orjson on these files (about 0.75x its time): the
stricter reading of "its parse time". The 200 MB List of issue 11:
``python benchmarks/scale_check.py --nodes 16000 --services 16000 --endpoints 480000 --repeat 1 --yaml``.
"""

from __future__ import annotations

import argparse
import gc
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

from _measure import (  # noqa: E402 - benchmarks/ is on sys.path when run
    PEAK_SCRIPT,
    compile_kverify,
    kverify_child_env,
    msgspec_ratio_line,
    paired_rounds,
    parse_process_seconds,
    parse_seconds,
    peak_total_memory_mb,
)


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


def dress_as_kubelet_reports(node: dict[str, Any]) -> None:
    """Give ``node`` the fields a kubelet reports and ``kubectl get -o json`` prints (capacity,
    conditions, nodeInfo, 40 cached images...): a real Node is ~11 KB of indented JSON, the plain one
    above ~0.6 KB, and kverify reads a few of its fields."""
    name = node["metadata"]["name"]
    node["metadata"].update(
        {
            "uid": f"u-{name}",
            "resourceVersion": "123456",
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "annotations": {
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                "csi.volume.kubernetes.io/nodeid": json.dumps({"ebs.csi.aws.com": "i-0123456789"}),
            },
        }
    )
    node["metadata"]["labels"].update(
        {
            "kubernetes.io/arch": "amd64",
            "kubernetes.io/os": "linux",
            "node.kubernetes.io/instance-type": "m5.xlarge",
            "topology.kubernetes.io/region": "us-east-1",
        }
    )
    node["spec"]["providerID"] = "aws:///us-east-1a/i-0123456789"
    status = node["status"]
    capacity = {"cpu": "4", "ephemeral-storage": "104845292Ki", "memory": "15928284Ki", "pods": "58"}
    status.update({"capacity": capacity, "allocatable": dict(capacity)})
    status["conditions"] = [
        {
            "type": condition,
            "status": "True" if condition == "Ready" else "False",
            "lastHeartbeatTime": "2026-11-29T10:00:00Z",
            "lastTransitionTime": "2026-11-01T10:00:00Z",
            "reason": f"Kubelet{condition}",
            "message": f"kubelet reports {condition}",
        }
        for condition in ("MemoryPressure", "DiskPressure", "PIDPressure", "Ready")
    ]
    status["daemonEndpoints"] = {"kubeletEndpoint": {"Port": 10250}}
    status["nodeInfo"] = {
        "architecture": "amd64",
        "bootID": f"b-{name}",
        "containerRuntimeVersion": "containerd://1.7.11",
        "kernelVersion": "6.1.0",
        "kubeProxyVersion": "v1.31.0",
        "kubeletVersion": "v1.31.0",
        "machineID": f"m-{name}",
        "operatingSystem": "linux",
        "osImage": "Amazon Linux 2023",
        "systemUUID": f"s-{name}",
    }
    status["images"] = [
        {
            "names": [
                f"registry.example.com/team/app-{i}@sha256:{'ab' * 32}",
                f"registry.example.com/team/app-{i}:v1.{i}.0",
            ],
            "sizeBytes": 123456789 + i,
        }
        for i in range(40)
    ]


def snapshot(nodes: int, services: int, endpoints: int, seed: int = 7) -> dict[str, Any]:
    """A realistic mix: mostly ClusterIP, some NodePort/LoadBalancer, a few with each problem."""
    rng = random.Random(seed)
    items: list[dict[str, Any]] = [_node(i) for i in range(nodes)]
    per_service = endpoints // services
    pod = 0
    # The API server refuses a nodePort (or healthCheckNodePort) held by another Service, and the
    # default range has 2,768 of them: once they are all taken, further Services are ClusterIP.
    node_ports = iter(range(30000, 32768))
    for s in range(services):
        namespace, name = f"ns-{s % 200}", f"svc-{s:05d}"
        roll = rng.random()
        type_ = "LoadBalancer" if roll < 0.05 else "NodePort" if roll < 0.10 else "ClusterIP"
        node_port = next(node_ports, None) if type_ != "ClusterIP" else None
        if node_port is None:
            type_ = "ClusterIP"
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
            spec["ports"][0]["nodePort"] = node_port
            spec["externalTrafficPolicy"] = "Local" if rng.random() < 0.3 else "Cluster"
            if rng.random() < 0.1:
                metadata["annotations"] = {"kverify.io/needs-client-ip": "true"}
        if type_ == "LoadBalancer":
            service["status"] = {"loadBalancer": {"ingress": [{"ip": f"198.18.{s // 256}.{s % 256}"}]}}
            if spec["externalTrafficPolicy"] == "Local":
                spec["healthCheckNodePort"] = next(node_ports, None)
                if spec["healthCheckNodePort"] is None:
                    spec["externalTrafficPolicy"] = "Cluster"
                    del spec["healthCheckNodePort"]
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


def _check_argv(path: str) -> list[str]:
    """``kverify check FILE`` as the benchmark runs it."""
    return [
        sys.executable,
        "-m",
        "kverify",
        "check",
        path,
        "--format",
        "json",
        "--output",
        os.devnull,
        "--max-input-size",
        "2000",
        "--allow-nothing-checked",
    ]


def _check_command(path: str, repeat: int = 3) -> tuple[float, float, int, float]:
    """Best wall time of ``kverify check FILE`` as a user runs it (a fresh interpreter each time, its
    start included), its exit code, and its peak memory (max RSS of that process, MB)."""
    env = kverify_child_env(ROOT)
    command = [sys.executable, "-c", PEAK_SCRIPT, *_check_argv(path)[3:]]
    best, best_cpu, code, peak_kb = float("inf"), float("inf"), -1, 0
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(command, check=False, env=env, capture_output=True, text=True)
        best = min(best, time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        best_cpu = min(best_cpu, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
        code = done.returncode
        lines = done.stderr.strip().splitlines()
        peak_kb = max(peak_kb, int(lines[-1]) if lines and lines[-1].isdigit() else 0)
        if code not in (0, 1):
            print(done.stderr[-2000:], file=sys.stderr)
    return best, best_cpu, code, peak_kb / 1024


def _phases(path: str) -> dict[str, float]:
    """Where the time goes, in this process: loading, then the built-in checks."""
    from kverify.check import facts_for, run_builtin
    from kverify.load import load_manifests, to_cluster

    # As `kverify check` runs them: with the cyclic GC off (on, a full collection of the ~1 GB heap
    # lands in whichever phase allocates next, and the split says little about the command).
    gc.disable()
    try:
        started = time.perf_counter()
        loaded = load_manifests([path])
        loaded_at = time.perf_counter()
        cluster = to_cluster(loaded)
        facts = facts_for(cluster, ip_blocks=loaded.ip_blocks, intents=loaded.intents)
        run = run_builtin(cluster, facts, files=[path])
        done = time.perf_counter()
    finally:
        gc.enable()
    return {"load": loaded_at - started, "checks": done - loaded_at, "findings": len(run.results)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--services", type=int, default=10000)
    parser.add_argument("--endpoints", type=int, default=150000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command; the best counts")
    parser.add_argument("--yaml", action="store_true", help="also measure the same List written as YAML")
    parser.add_argument("--no-phases", action="store_true", help="skip the in-process load/checks split")
    parser.add_argument(
        "--kubelet-nodes", action="store_true", help="Nodes with every field a kubelet reports (~11 KB each, not ~0.6)"
    )
    args = parser.parse_args()
    data = snapshot(args.nodes, args.services, args.endpoints)
    if args.kubelet_nodes:
        for item in data["items"]:
            if item["kind"] == "Node":
                dress_as_kubelet_reports(item)
    with tempfile.TemporaryDirectory() as folder:
        paths = [os.path.join(folder, "snapshot.json")]
        with open(paths[0], "w") as handle:
            # Keys in alphabetical order, as kubectl prints the unstructured objects of a List.
            json.dump(data, handle, indent=1, sort_keys=True)
        if args.yaml:
            import yaml

            paths.append(os.path.join(folder, "snapshot.yaml"))
            with open(paths[1], "w") as handle:
                yaml.dump(data, handle, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=True)
        del data
        nodes_are = " (as kubelets report them)" if args.kubelet_nodes else ""
        print(f"snapshot: {args.nodes} nodes{nodes_are}, {args.services} services, {args.endpoints} endpoints")
        print(compile_kverify(ROOT))
        for path in paths:
            size = os.path.getsize(path) / 1e6
            parse, parse_cpu, parser_name = parse_seconds(path, args.repeat)
            wall, cpu, code, peak = _check_command(path, args.repeat)
            print(f"{os.path.basename(path)}: {size:.1f} MB")
            print(f"  parse ({parser_name}, best of {args.repeat}): {parse:.3f} s wall, {parse_cpu:.3f} s CPU")
            if parser_name == "orjson":  # the standard library's figure beside it; the ratio is to orjson
                json_wall, json_cpu, _ = parse_seconds(path, args.repeat, stdlib=True)
                print(
                    f"  parse (json, the standard library, best of {args.repeat}): {json_wall:.3f} s wall, "
                    f"{json_cpu:.3f} s CPU"
                )
            print(
                f"  kverify check FILE (best of {args.repeat}, interpreter start included): {wall:.3f} s wall, "
                f"{cpu:.3f} s CPU, exit {code}"
            )
            print(
                f"  ratio: {wall / parse:.2f}x wall, {cpu / parse_cpu:.2f}x CPU (goal <= 1.5x); peak memory "
                f"{peak:.0f} MB (goal < 2 GB); load average now {os.getloadavg()[0]:.1f}"
            )
            total = peak_total_memory_mb(_check_argv(path), kverify_child_env(ROOT))
            if total is not None:
                print(f"  peak memory of kverify and its slice worker together (sampled, untimed run): {total:.0f} MB")
            if (line := msgspec_ratio_line(path, args.repeat, wall, cpu, "<= 1.5x", 3)) is not None:
                print(line)
            if (process := parse_process_seconds(path, args.repeat)) is not None:
                # A program that only parses the file, on the same footing as kverify's runs (see _measure).
                print(
                    f"  parse in a fresh interpreter (orjson, read and start included, best of {args.repeat}): "
                    f"{process[0]:.3f} s wall, {process[1]:.3f} s CPU; ratio to it: {wall / process[0]:.2f}x wall, "
                    f"{cpu / process[1]:.2f}x CPU (<= 1.5x)"
                )
            if (line := paired_rounds(path, args.repeat, lambda path=path: _check_command(path, 1)[0])) is not None:
                print(line)
            if not args.no_phases:
                phases = _phases(path)
                print(
                    f"  of which, in process: load {phases['load']:.3f} s, built-in checks {phases['checks']:.3f} s "
                    f"({phases['findings']:.0f} findings, each replayed with route())"
                )


if __name__ == "__main__":
    main()
