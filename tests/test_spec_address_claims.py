"""Spec claims about packets to an address that belongs to no Service (``to: {address: ...}``,
``to: {unallocated: service-cidr}``), decided by the executable model and the Z3 address query.

Expected verdicts come from kube-proxy, as tests/test_service_cidr.py cites it: nftables drops a new
connection to an unallocated address of the ServiceCIDRs (pkg/proxy/nftables/proxier_test.go
TestClusterIPGeneral, 'packet to unallocated cluster ip': DROP; setupNFTables' cluster-ips-check, PR
#122692, v1.30) once it watches ServiceCIDR objects (MultiCIDRServiceAllocator: off by default in v1.31-v1.32,
on from v1.33); iptables and ipvs install nothing for such an address (their OnServiceCIDRsChanged is empty),
so the packet follows the node's routes; an address outside every service CIDR is not matched
(``ip daddr { <serviceCIDRs> } drop``).
"""

from __future__ import annotations

import ipaddress
import json
import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml

from kverify.check.specfile import evaluate, load_spec
from kverify.cli import main
from kverify.verdicts import Proved, Refuted, Unknown

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "kverify" / "data" / "spec.schema.json").read_text())
REPORT_SCHEMA = json.loads((ROOT / "kverify" / "data" / "check-report.schema.json").read_text())

SPEC = """\
apiVersion: kverify.io/v1alpha1
kind: Spec
metadata: {{name: demo}}
environment:
  dataplane: {dataplane}
  kubernetesVersion: "{version}"
  serviceCIDR: 10.43.0.0/16{extra}
topology:
  nodes: [{{name: node-a}}, {{name: node-b}}]
  services:
    - name: shop/web
      clusterIP: 10.43.0.10
      endpoints: [{{ip: 10.244.1.5, node: node-a}}]
claims:
  - id: c
{claim}
"""


def _spec(tmp_path: Path, claim: str, *, dataplane: str = "nftables", version: str = "1.34", extra: str = "") -> Path:
    path = tmp_path / "spec.yaml"
    body = textwrap.indent(textwrap.dedent(claim).strip(), "    ")
    path.write_text(SPEC.format(dataplane=dataplane, version=version, extra=extra, claim=body))
    return path


def _verdict(path: Path):  # type: ignore[no-untyped-def]
    (result,) = evaluate(load_spec(str(path))).results
    return result.verdict


ONE_ADDRESS = [
    pytest.param(
        "nftables", "1.34", "10.43.255.1", "dropped", Proved, id="nftables v1.34: an unallocated address is dropped"
    ),
    pytest.param("iptables", "1.34", "10.43.255.1", "dropped", Refuted, id="iptables: routed on, not dropped"),
    pytest.param("ipvs", "1.34", "10.43.255.1", "never-dropped", Proved, id="ipvs: never dropped"),
    pytest.param("nftables", "1.32", "10.43.255.1", "dropped", Refuted, id="nftables v1.32: gate off, routed on"),
    pytest.param("nftables", "1.34", "192.0.2.1", "dropped", Refuted, id="outside the service CIDR: routed on"),
    pytest.param("nftables", "1.34", "10.43.255.1", "never-rejected", Proved, id="never rejected: dropped silently"),
]


@pytest.mark.parametrize(("dataplane", "version", "address", "prop", "verdict"), ONE_ADDRESS)
def test_one_address(tmp_path: Path, dataplane: str, version: str, address: str, prop: str, verdict: type) -> None:
    claim = f"to: {{address: {address}}}\nfrom: pod\nproperty: {prop}"
    result = _verdict(_spec(tmp_path, claim, dataplane=dataplane, version=version))
    assert isinstance(result, verdict), result
    if isinstance(result, Refuted):
        cx = result.counterexample
        assert cx.flow.dst_ip == address
        assert cx.outcome.drop_kind is not None
        assert f"--to-address {address}" in cx.command and "--service-cidr 10.43.0.0/16" in cx.command


def test_without_from_every_kind_of_client_and_node_is_decided(tmp_path: Path) -> None:
    result = _verdict(_spec(tmp_path, "to: {address: 10.43.255.1}\nproperty: dropped"))
    assert isinstance(result, Proved)
    assert "every kind of client" in result.scope


EVERY = [
    pytest.param("nftables", "1.34", "", "dropped", Proved, id="nftables v1.34: every unallocated address dropped"),
    pytest.param("nftables", "1.32", "", "dropped", Refuted, id="nftables v1.32: gate off by default"),
    pytest.param(
        "nftables",
        "1.32",
        "\n  featureGates: {MultiCIDRServiceAllocator: true}",
        "dropped",
        Proved,
        id="nftables v1.32 with MultiCIDRServiceAllocator",
    ),
    pytest.param(
        "nftables",
        "1.29",
        "\n  featureGates: {NFTablesProxyMode: true, MultiCIDRServiceAllocator: true}",
        "dropped",
        Refuted,
        id="nftables before v1.30: no drop rule",
    ),
    pytest.param("iptables", "1.34", "", "dropped", Refuted, id="iptables: routed on"),
    pytest.param("iptables", "1.34", "", "never-dropped", Proved, id="iptables: never dropped"),
    pytest.param("nftables", "1.34", "", "never-dropped", Refuted, id="nftables: dropped"),
]


@pytest.mark.parametrize(("dataplane", "version", "extra", "prop", "verdict"), EVERY)
def test_every_unallocated_address(
    tmp_path: Path, dataplane: str, version: str, extra: str, prop: str, verdict: type
) -> None:
    path = _spec(
        tmp_path,
        f"to: {{unallocated: service-cidr}}\nproperty: {prop}",
        dataplane=dataplane,
        version=version,
        extra=extra,
    )
    result = _verdict(path)
    assert isinstance(result, verdict), result
    if isinstance(result, Refuted):
        # The solver's packet, replayed through the executable model: an address of the service CIDR that
        # no Service holds (10.43.0.10 is shop/web's).
        cx = result.counterexample
        address = ipaddress.ip_address(cx.flow.dst_ip)
        assert address in ipaddress.ip_network("10.43.0.0/16") and cx.flow.dst_ip != "10.43.0.10"
        assert cx.flow.dst_ip != "10.43.0.0"  # not the network address, which reads as the CIDR itself
        assert f"--to-address {cx.flow.dst_ip}" in cx.command


def test_the_counterexample_avoids_every_address_a_service_holds(tmp_path: Path) -> None:
    # 10.43.0.0/29 holds 10.43.0.0-10.43.0.7: six ClusterIPs and one externalIP leave only the network address.
    services = "".join(f"    - {{name: s{n}, clusterIP: 10.43.0.{n}}}\n" for n in range(1, 6))
    path = tmp_path / "spec.yaml"
    path.write_text(
        "apiVersion: kverify.io/v1alpha1\nkind: Spec\nmetadata: {name: demo}\n"
        "environment: {dataplane: iptables, serviceCIDR: 10.43.0.0/29}\n"
        "topology:\n  nodes: [{name: node-a}]\n  services:\n"
        + services
        + "    - {name: x, clusterIP: 10.43.0.6, externalIPs: [10.43.0.7]}\n"
        "claims: [{id: c, to: {unallocated: service-cidr}, from: pod, property: dropped}]\n"
    )
    result = _verdict(path)
    assert isinstance(result, Refuted)
    assert result.counterexample.flow.dst_ip == "10.43.0.0"


def test_cilium_is_unknown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _spec(tmp_path, "to: {unallocated: service-cidr}\nproperty: dropped", dataplane="cilium-snat")
    result = _verdict(path)
    assert isinstance(result, Unknown) and "Cilium" in result.reason
    assert main(["check", str(path)]) == 3


def test_nftables_without_service_cidrs_is_unknown_for_one_address(tmp_path: Path) -> None:
    path = _spec(tmp_path, "to: {address: 10.96.0.99}\nproperty: dropped")
    path.write_text(
        path.read_text()
        .replace("  serviceCIDR: 10.43.0.0/16\n", "")
        .replace("clusterIP: 10.43.0.10", "clusterIP: 10.96.0.10")
    )
    result = _verdict(path)
    assert isinstance(result, Unknown) and "service CIDR" in result.reason


def test_check_exit_codes_and_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    holds = _spec(tmp_path, "to: {unallocated: service-cidr}\nfrom: pod\nproperty: dropped")
    assert main(["check", str(holds)]) == 0
    assert "unallocated service IPs" in capsys.readouterr().out
    fails = _spec(tmp_path, "to: {unallocated: service-cidr}\nfrom: pod\nproperty: dropped", dataplane="iptables")
    assert main(["check", str(fails), "--format", "json"]) == 1
    document = json.loads(capsys.readouterr().out)
    jsonschema.validate(document, REPORT_SCHEMA)
    (result,) = document["results"]
    assert result["service"] == "unallocated service IPs"
    command = result["verdict"]["counterexample"]["command"]
    # The reproduce command runs as printed and shows the same outcome.
    cx_file = next(w for w in command.split() if w.endswith(".yaml"))
    assert Path(cx_file).exists()
    words = command.split()
    assert main([*words[1:], "--format", "json"]) == 0
    (outcome,) = json.loads(capsys.readouterr().out)["outcomes"]
    assert outcome["drop_kind"] == result["verdict"]["counterexample"]["outcome"]["drop_kind"] == "not-intercepted"


def test_a_specs_manifests_and_their_service_cidr_objects(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(
        yaml.safe_dump_all(
            [
                {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-a"}},
                {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}},
                {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "ServiceCIDR",
                    "metadata": {"name": "kubernetes"},
                    "spec": {"cidrs": ["10.43.0.0/16"]},
                },
            ]
        )
    )
    path = tmp_path / "spec.yaml"
    path.write_text(
        "apiVersion: kverify.io/v1alpha1\nkind: Spec\nmetadata: {name: demo}\nmanifests: [m.yaml]\n"
        "environment: {dataplane: nftables, kubernetesVersion: '1.32'}\n"
        "claims: [{id: c, to: {unallocated: service-cidr}, from: pod, property: dropped}]\n"
    )
    result = _verdict(path)
    assert isinstance(result, Refuted)  # v1.32: kube-proxy does not watch the ServiceCIDRs
    assert result.counterexample.command.split()[2] == str(tmp_path / "m.yaml")
    assert ipaddress.ip_address(result.counterexample.flow.dst_ip) in ipaddress.ip_network("10.43.0.0/16")


# -- bad forms: one line each, exit 2 --------------------------------------------------------------

BAD = [
    pytest.param(
        "to: {address: 10.43.255.1}\nservice: shop/web\nproperty: dropped",
        "claims[0].service: Forbidden",
        id="to and service",
    ),
    pytest.param(
        "to: 10.43.255.1\nproperty: dropped",
        'claims[0].to: Invalid value: "10.43.255.1": must be a mapping',
        id="to not a mapping",
    ),
    pytest.param("to: {}\nproperty: dropped", "claims[0].to: Required value: exactly one of", id="to empty"),
    pytest.param(
        "to: {address: 10.43.255.1, unallocated: service-cidr}\nproperty: dropped",
        "claims[0].to: Required value: exactly one of",
        id="both forms",
    ),
    pytest.param(
        "to: {adress: 10.43.255.1}\nproperty: dropped", 'claims[0].to.adress: unknown field "adress"', id="typo"
    ),
    pytest.param(
        "to: {address: 10.43.255.999}\nproperty: dropped",
        'claims[0].to.address: Invalid value: "10.43.255.999"',
        id="not an IP",
    ),
    pytest.param(
        "to: {address: 10.43.0.10}\nproperty: dropped",
        'claims[0].to.address: Invalid value: "10.43.0.10": a cluster-ip address of shop/web: claim it with '
        "`service: shop/web` and `via: cluster-ip`",
        id="a Service's address",
    ),
    pytest.param(
        "to: {unallocated: everything}\nproperty: dropped",
        'claims[0].to.unallocated: Unsupported value: "everything"',
        id="bad word",
    ),
    pytest.param(
        "to: {address: 10.43.255.1}\nproperty: delivered",
        'claims[0].property: Unsupported value: "delivered"',
        id="a Service property",
    ),
    pytest.param("to: {address: 10.43.255.1}\nproperty: dropped\nhops: 1", "claims[0].hops: Forbidden", id="hops"),
    pytest.param(
        "to: {address: 10.43.255.1}\nproperty: dropped\nfrom: router",
        'claims[0].from: Unsupported value: "router"',
        id="bad client",
    ),
    pytest.param(
        "to: {address: 10.43.255.1}\nproperty: dropped\nnode: node-z",
        'claims[0].node: Not found: "node-z"',
        id="bad node",
    ),
    pytest.param("property: dropped", "claims[0].service: Required value: `service`", id="neither service nor to"),
]


@pytest.mark.parametrize(("claim", "message"), BAD)
def test_bad_forms(tmp_path: Path, capsys: pytest.CaptureFixture[str], claim: str, message: str) -> None:
    path = _spec(tmp_path, claim)
    assert main(["check", str(path)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert all(line.startswith(f"{path}:") and "Spec demo: " in line for line in lines), lines
    assert any(message in line for line in lines), lines


def test_the_service_cidr_is_required_for_every_unallocated_address(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _spec(tmp_path, "to: {unallocated: service-cidr}\nproperty: dropped")
    path.write_text(path.read_text().replace("  serviceCIDR: 10.43.0.0/16\n", "").replace("10.43.0.10", "10.96.0.10"))
    assert main(["check", str(path)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "claims[0].to.unallocated: Required value: the service CIDRs" in line


# -- the published schema follows the loader --------------------------------------------------------


def test_the_schema_accepts_the_address_forms(tmp_path: Path) -> None:
    for claim in (
        "to: {address: 10.43.255.1}\nfrom: pod\nproperty: dropped",
        "to: {unallocated: service-cidr}\nproperty: never-dropped",
    ):
        jsonschema.validate(yaml.safe_load(_spec(tmp_path, claim).read_text()), SCHEMA)


@pytest.mark.parametrize(
    "claim", [param.values[0] for param in BAD if param.id not in ("bad node", "a Service's address", "not an IP")]
)
def test_the_schema_rejects_what_the_loader_rejects(tmp_path: Path, claim: str) -> None:
    document = yaml.safe_load(_spec(tmp_path, claim).read_text())
    assert list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(document))


def test_manifests_without_nodes_are_unknown_as_for_a_service_claim(tmp_path: Path) -> None:
    (tmp_path / "m.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n"
    )
    path = tmp_path / "spec.yaml"
    path.write_text(
        "apiVersion: kverify.io/v1alpha1\nkind: Spec\nmetadata: {name: demo}\nmanifests: [m.yaml]\n"
        "environment: {dataplane: nftables, serviceCIDR: 10.43.0.0/16}\n"
        "claims: [{id: c, to: {address: 10.43.255.1}, property: dropped}]\n"
    )
    result = _verdict(path)
    assert isinstance(result, Unknown) and "no Node objects" in result.reason
