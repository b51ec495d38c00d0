"""Issue 11: hostile input ends in one clear line per problem and exit 2, never a traceback or a hang.

Each row feeds the exact input the issue lists. Messages are checked for the part a user acts on, for
being one line each, and for naming the file (and the line, where there is one).
"""

from __future__ import annotations

import os
import re

import pytest

from kverify.cli import main

NODE = """\
apiVersion: v1
kind: Node
metadata: {name: node-a}
status: {addresses: [{type: InternalIP, address: 192.168.0.11}]}
"""


def service(name: str = "web", **spec: str) -> str:
    fields = {"type": "NodePort", "clusterIP": "10.96.0.10", "ports": "[{port: 80, nodePort: 30080}]", **spec}
    body = "".join(f"  {k}: {v}\n" for k, v in fields.items())
    return f"apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: shop}}\nspec:\n{body}"


def alias_bomb(levels: int) -> str:
    """A value that is a few hundred bytes written and 10**levels strings expanded."""
    lines = ["    a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"    a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def spec(claims: str = "", topology: str = "") -> str:
    topology = (
        topology
        or """\
  nodes: [{name: node-a}, {name: node-b}]
  services:
    - {name: shop/web, type: NodePort, endpoints: [{ip: 10.244.1.5, node: node-a}]}
"""
    )
    return (
        "apiVersion: kverify.io/v1alpha1\nkind: Spec\nmetadata: {name: demo}\n"
        f"topology:\n{topology}claims:\n{claims or '  - {id: c, service: shop/web, property: delivered}'}\n"
    )


TRACE = ["--service", "shop/web", "--to", "cluster-ip", "--from", "pod"]

# (case id, file name, content, command, what the first error line must contain, its line number or None)
CASES = [
    ("JSON nested 1,000 deep", "deep.json", "[" * 1000 + "]" * 1000, "trace", "invalid JSON: nested too deeply", 1),
    (
        "an integer of 5,000 digits in YAML",
        "big.yaml",
        NODE + "---\n" + service(ports="[{port: " + "9" * 5000 + "}]"),
        "trace",
        "a number has more than 4300 digits",
        12,
    ),
    (
        "an integer of 5,000 digits in JSON",
        "big.json",
        '{"apiVersion": "v1", "kind": "Node",\n"metadata": {"name": ' + "7" * 5000 + "}}",
        "trace",
        "a number has more than 4300 digits",
        2,
    ),
    (
        "a claim whose from is a list",
        "spec.yaml",
        spec("  - {id: c, service: shop/web, property: delivered, from: [external]}"),
        "check",
        'claims[0].from: Unsupported value: ["external"]',
        9,
    ),
    (
        "a claim whose via is a map",
        "spec.yaml",
        spec("  - {id: c, service: shop/web, property: delivered, via: {node-port: 1}}"),
        "check",
        'claims[0].via: Unsupported value: {"node-port": 1}',
        9,
    ),
    (
        "a share ratio of .inf",
        "spec.yaml",
        spec("  - {id: c, service: shop/web, property: share-within, ratio: .inf}"),
        "check",
        "claims[0].ratio: Invalid value: inf: must be a finite number >= 1",
        9,
    ),
    (
        "a topology Service named shop/",
        "spec.yaml",
        spec(topology="  nodes: [{name: node-a}]\n  services:\n    - {name: shop/}\n"),
        "check",
        'topology.services[0].name: Invalid value: "shop/": must be NAME or NAMESPACE/NAME',
        7,
    ),
    (
        "a topology Service named /",
        "spec.yaml",
        spec(topology="  nodes: [{name: node-a}]\n  services:\n    - {name: /}\n"),
        "check",
        'topology.services[0].name: Invalid value: "/": must be NAME or NAMESPACE/NAME',
        7,
    ),
    (
        "an alias bomb inside a field that fails validation",
        "bomb.yaml",
        NODE + "---\n" + service().replace("  type: NodePort\n", "  type:\n" + alias_bomb(10)),
        "trace",
        'spec.type: Unsupported value: {"a0": ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"], '
        '"a1": [["x", "x", ...: '
        'supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
        10,
    ),
    (
        "two Services with the same nodePort",
        "two.yaml",
        NODE + "---\n" + service("web") + "---\n" + service("api", clusterIP="10.96.0.11"),
        "trace",
        "Service shop/api: spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated "
        "(to Service shop/web)",
        20,
    ),
    (
        "two Services with the same ClusterIP",
        "two.yaml",
        NODE + "---\n" + service("web") + "---\n" + service("api", ports="[{port: 80, nodePort: 30081}]"),
        "trace",
        'Service shop/api: spec.clusterIPs: Invalid value: ["10.96.0.10"]: failed to allocate IP 10.96.0.10: '
        "provided IP is already allocated (to Service shop/web)",
        17,
    ),
    (
        "one Service with the same nodePort twice for one protocol",
        "dup.yaml",
        NODE + "---\n" + service(ports="[{name: a, port: 80, nodePort: 30080}, {name: b, port: 81, nodePort: 30080}]"),
        "trace",
        "Service shop/web: spec.ports[1].nodePort: Duplicate value: 30080",
        12,
    ),
    (
        "a healthCheckNodePort equal to the Service's nodePort",
        "hcnp.yaml",
        NODE + "---\n" + service(type="LoadBalancer", externalTrafficPolicy="Local", healthCheckNodePort="30080"),
        "trace",
        "Service shop/web: spec.healthCheckNodePort: Invalid value: 30080: failed to allocate requested HealthCheck "
        "NodePort 30080: provided port is already allocated",
        14,
    ),
    (
        "loadBalancerSourceRanges on a NodePort Service",
        "ranges.yaml",
        NODE + "---\n" + service(loadBalancerSourceRanges="[10.0.0.0/8]"),
        "trace",
        "Service shop/web: spec.loadBalancerSourceRanges: Forbidden: may only be used when `type` is 'LoadBalancer'",
        13,
    ),
    (
        "the legacy source-ranges annotation on a ClusterIP Service",
        "annotation.yaml",
        NODE
        + "---\n"
        + service(type="ClusterIP", ports="[{port: 80}]").replace(
            "metadata: {name: web, namespace: shop}",
            "metadata:\n  name: web\n  namespace: shop\n  annotations:\n"
            "    service.beta.kubernetes.io/load-balancer-source-ranges: 10.0.0.0/8",
        ),
        "trace",
        "metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]: Forbidden: may only be used "
        "when `type` is 'LoadBalancer'",
        12,
    ),
    (
        "externalTrafficPolicy on a ClusterIP Service",
        "etp.yaml",
        NODE + "---\n" + service(type="ClusterIP", ports="[{port: 80}]", externalTrafficPolicy="Local"),
        "trace",
        'spec.externalTrafficPolicy: Invalid value: "Local": may only be set for externally-accessible services',
        13,
    ),
    (
        "externalTrafficPolicy on a ClusterIP Service in a topology",
        "spec.yaml",
        spec(topology="  nodes: [{name: node-a}]\n  services:\n    - {name: shop/web, externalTrafficPolicy: Local}\n"),
        "check",
        'topology.services[0].externalTrafficPolicy: Invalid value: "Local": may only be set for '
        "externally-accessible services",
        7,
    ),
    (
        "duplicate node names in a topology",
        "spec.yaml",
        spec(topology="  nodes: [{name: node-a}, {name: node-a}]\n  services: [{name: shop/web}]\n"),
        "check",
        'topology.nodes[1].name: Duplicate value: "node-a": already defined at line 5',
        5,
    ),
    (
        "duplicate Service names in a topology",
        "spec.yaml",
        spec(topology="  nodes: [{name: node-a}]\n  services:\n    - {name: shop/web}\n    - {name: shop/web}\n"),
        "check",
        'topology.services[1].name: Duplicate value: "shop/web": already defined at line 7',
        8,
    ),
    (
        "a 5 MB metadata.name",
        "long.yaml",
        NODE + "---\n" + service("x" * 5_000_000),
        "trace",
        'metadata.name: Invalid value: "xxxxxxxx',
        8,
    ),
    (
        "a claim on a port the Service does not have",
        "spec.yaml",
        spec("  - {id: c, service: shop/web, property: delivered, via: node-port, port: 8080}"),
        "check",
        "claims[0].port: Not found: 8080: Service shop/web has no TCP port 8080 (ports: 80/TCP)",
        9,
    ),
    (
        "a control character in a value",
        "ctl.yaml",
        NODE + "---\n" + service(type="Node\x07Port"),
        "trace",
        "invalid YAML: control characters are not allowed: \\x07 (column 13)",
        10,
    ),
    (
        "a terminal escape sequence as an unknown field of a spec",
        "spec.yaml",
        spec('  - {id: c, service: shop/web, property: delivered, "\\e[2J\\nforged: line": 1}'),
        "check",
        'claims[0][\\x1b[2J\\nforged: line]: unknown field "\\x1b[2J\\nforged: line"',
        9,
    ),
    (
        "a terminal escape sequence as a claim's Service",
        "spec.yaml",
        spec('  - {id: c, service: "shop/\\e[31mweb\\nforged", property: delivered}'),
        "check",
        'claims[0].service: Not found: "shop/\\x1b[31mweb\\nforged" (services: shop/web)',
        9,
    ),
]


@pytest.mark.parametrize(
    ("name", "content", "command", "expected", "line"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_hostile_input_gives_one_line_per_problem_and_exit_2(  # type: ignore[no-untyped-def]
    tmp_path, capsys, name, content, command, expected, line
):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    argv = [command, str(path), *(TRACE if command == "trace" else [])]
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if not x.startswith(("warning:", "skipped:"))]
    assert lines, err
    first = next((x for x in lines if expected in x), None)
    assert first is not None, lines
    assert first.startswith(f"{path}:{line}: " if line else f"{path}: "), first
    assert all(len(x) < 5000 for x in lines)
    assert not any(c in err for c in "\x1b\x07\r")


def test_a_huge_name_is_named_invalid_not_printed_whole(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "long.yaml"
    path.write_text(NODE + "---\n" + service("x" * 5_000_000))
    assert main(["trace", str(path), *TRACE]) == 2
    err = capsys.readouterr().err
    assert "must be no more than 63 characters" in err
    assert len(err) < 20_000


def test_files_of_only_null_tilde_or_dashes_warn_as_an_empty_file_does(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    for text in ("null\n", "~\n", "---\n", ""):
        path = tmp_path / "empty.yaml"
        path.write_text(NODE + "---\n" + service())
        other = tmp_path / "other.yaml"
        other.write_text(text)
        assert main(["trace", str(path), str(other), *TRACE]) == 0
        assert f"warning: {other}: no Kubernetes objects in this file" in capsys.readouterr().err, repr(text)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_is_refused_without_blocking(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    fifo = tmp_path / "p.yaml"
    os.mkfifo(fifo)
    assert main(["trace", str(fifo), *TRACE]) == 2  # before the fix: blocked forever in open()
    assert capsys.readouterr().err.strip() == f"{fifo}: not a regular file (a FIFO): kverify reads only files"


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_device_is_refused_without_reading_it(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["check", "/dev/zero"]) == 2  # before the fix: read whole, MemoryError
    err = capsys.readouterr().err.strip()
    assert err == "/dev/zero: not a regular file (a character device): kverify reads only files"


def test_files_over_the_size_limit_are_refused_unless_it_is_raised(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "cluster.yaml"
    path.write_text(NODE + "---\n" + service() + "# padding\n" * 150_000)  # 1.7 MB
    assert main(["trace", str(path), *TRACE, "--max-input-size", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert re.fullmatch(
        rf"{re.escape(str(path))}: file is 1\.\d MB, larger than the input limit of 1 MB "
        r"\(raise it with --max-input-size MB\)",
        err,
    ), err
    assert main(["trace", str(path), *TRACE, "--max-input-size", "2"]) == 0
    capsys.readouterr()
    with pytest.raises(SystemExit) as usage:
        main(["trace", str(path), *TRACE, "--max-input-size", "0"])
    assert usage.value.code == 2


def test_a_service_name_with_escapes_is_not_echoed_raw(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "cluster.yaml"
    path.write_text(NODE + "---\n" + service())
    argv = ["trace", str(path), "--service", "shop/\x1b[31mweb\nforged: 1", "--to", "cluster-ip", "--from", "pod"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err == '--service: Not found: "shop/\\x1b[31mweb\\nforged: 1" (services: shop/web)\n'


def test_allocated_values_are_not_taken_by_a_topology_when_the_user_gave_them(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # web is filled in 30080, the first candidate; api asks for 30080 itself: web moves on, no clash.
    topology = (
        "  nodes: [{name: node-a}]\n  services:\n"
        "    - {name: shop/web, type: NodePort, endpoints: [{ip: 10.244.1.5, node: node-a}]}\n"
        "    - {name: shop/api, type: NodePort, nodePort: 30080, clusterIP: 10.96.0.10,"
        " endpoints: [{ip: 10.244.1.6, node: node-a}]}\n"
    )
    from kverify.check.specfile import load_spec

    path = tmp_path / "spec.yaml"
    path.write_text(spec("  - {id: c, service: shop/web, property: delivered, from: pod}", topology))
    loaded = load_spec(str(path))
    web, api = loaded.cluster.services
    assert api.ports[0].node_port == 30080 and web.ports[0].node_port == 30081
    assert api.cluster_ips == ("10.96.0.10",) and web.cluster_ips == ("10.96.0.11",)


@pytest.mark.parametrize(
    "fields",
    [
        {
            "ports": "[{name: dns, port: 53, nodePort: 30053, protocol: TCP}, "
            "{name: dns-udp, port: 53, nodePort: 30053, protocol: UDP}]"
        },
        {"type": "LoadBalancer", "loadBalancerSourceRanges": "[10.0.0.0/8]"},
        {"type": "LoadBalancer", "externalTrafficPolicy": "Local", "healthCheckNodePort": "30081"},
    ],
    ids=[
        "a TCP and a UDP port sharing a nodePort (ValidateService keys duplicates by protocol)",
        "loadBalancerSourceRanges on a LoadBalancer Service",
        "a healthCheckNodePort of its own",
    ],
)
def test_what_the_api_server_accepts_is_accepted(tmp_path, capsys, fields) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "ok.yaml"
    path.write_text(NODE + "---\n" + service(**fields))
    assert main(["trace", str(path), *TRACE]) == 0, capsys.readouterr().err
