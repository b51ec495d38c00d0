"""ServiceCIDR objects in manifests and a spec's ``environment.serviceCIDR``: where kube-proxy learns the
service CIDRs (rule ``nftables-unallocated-service-ip``), validated as the API server validates them.

Expected messages are the API server's (pkg/apis/networking/validation/validation.go
``ValidateServiceCIDR``); expected verdicts come from kube-proxy's nftables tests (tests/test_service_cidr.py
cites them); kube-proxy's CIDR set is the union of every object's ``spec.cidrs``
(pkg/proxy/config/config.go ``ServiceCIDRConfig.handleServiceCIDREvent``).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from kverify.check.specfile import load_spec
from kverify.cli import main
from kverify.errors import InputError
from kverify.load import load_manifests, to_cluster
from kverify.model import ProxyConfig

CLUSTER = """\
apiVersion: v1
kind: Node
metadata: {name: node-a}
status: {addresses: [{type: InternalIP, address: 192.168.0.2}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {clusterIP: 10.96.0.20, ports: [{port: 80}]}
"""


def _service_cidr(name: str, cidrs: str, api: str = "networking.k8s.io/v1") -> str:
    return f"---\napiVersion: {api}\nkind: ServiceCIDR\nmetadata: {{name: {name}}}\nspec:\n  cidrs: {cidrs}\n"


def _write(tmp_path: Path, *objects: str) -> str:
    path = tmp_path / "snapshot.yaml"
    path.write_text(CLUSTER + "".join(objects))
    return str(path)


def test_kube_proxy_knows_the_union_of_every_object(tmp_path: Path) -> None:
    # The default object the API server makes from --service-cluster-ip-range, and a second, dual-stack one.
    path = _write(
        tmp_path,
        _service_cidr("kubernetes", "[10.96.0.0/12]"),
        _service_cidr("extra", '["172.30.0.0/16", "fd00:10:96::/112"]', api="networking.k8s.io/v1beta1"),
    )
    loaded = load_manifests([path])
    assert loaded.service_cidrs == ("10.96.0.0/12", "172.30.0.0/16", "fd00:10:96::/112")
    assert "ServiceCIDR" not in loaded.skipped_kinds
    given = to_cluster(loaded, proxy=ProxyConfig(service_cidrs=("10.96.0.0/12", "192.168.200.0/24")))
    assert given.proxy.service_cidrs == ("10.96.0.0/12", "192.168.200.0/24", "172.30.0.0/16", "fd00:10:96::/112")


# (addresses, where and what the API server says) - ValidateServiceCIDR's checks, in its order.
BAD = [
    pytest.param("[]", "spec.cidrs: Required value: at least one CIDR required", id="no CIDR"),
    pytest.param("[10.96.0.0/12, fd00::/108, 10.100.0.0/16]", "may only hold up to 2 values", id="three CIDRs"),
    pytest.param(
        "[10.96.0.0/12, 10.100.0.0/16]",
        'spec.cidrs: Invalid value: ["10.96.0.0/12", "10.100.0.0/16"]: may specify no more than one IP for each '
        "IP family, i.e 192.168.0.0/24 and 2001:db8::/64",
        id="two of one family",
    ),
    pytest.param("[10.96.0.0/33]", 'spec.cidrs[0]: Invalid value: "10.96.0.0/33": must be a valid CIDR', id="bad"),
    pytest.param("[fd00::/108, 10.96/12]", "may specify no more than one IP for each IP family", id="bad pair"),
]


@pytest.mark.parametrize(("cidrs", "message"), BAD)
def test_bad_objects_are_one_line_each_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], cidrs: str, message: str
) -> None:
    path = _write(tmp_path, _service_cidr("kubernetes", cidrs))
    args = ["trace", path, "--to-address", "10.96.0.99", "--from", "pod", "--dataplane", "nftables"]
    assert main(args) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    # The object starts on line 11; spec.cidrs is on line 15.
    assert line.startswith(f"{path}:15: ServiceCIDR kubernetes: ")
    assert message in line


def test_an_unsupported_api_version_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, _service_cidr("kubernetes", "[10.96.0.0/12]", api="networking.k8s.io/v1alpha1"))
    assert main(["trace", path, "--to-address", "10.96.0.99", "--from", "pod"]) == 2
    assert 'apiVersion: Unsupported value: "networking.k8s.io/v1alpha1"' in capsys.readouterr().err


def test_a_bad_name_is_refused_as_the_api_server_does(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, _service_cidr("Kubernetes_1", "[10.96.0.0/12]"))
    assert main(["trace", path, "--to-address", "10.96.0.99", "--from", "pod"]) == 2
    assert "metadata.name: Invalid value" in capsys.readouterr().err


# trace --to-address on a snapshot holding its ServiceCIDR objects, without --service-cidr.
TRACE_ROWS = [
    # nftables/proxier_test.go TestClusterIPGeneral 'packet to unallocated cluster ip': DROP.
    pytest.param("nftables", "1.34", "10.96.0.99", ["drop"], id="nftables v1.34: dropped"),
    # MultiCIDRServiceAllocator beta, off by default in v1.31-v1.32: kube-proxy does not watch ServiceCIDRs.
    pytest.param("nftables", "1.32", "10.96.0.99", ["not-intercepted"], id="nftables v1.32, gate off: routed"),
    # Outside every object's CIDRs: the drop does not match (`ip daddr { <serviceCIDRs> } drop`).
    pytest.param("nftables", "1.34", "10.112.0.1", ["not-intercepted"], id="outside the CIDRs: routed"),
    # The second object's IPv6 CIDR counts as much as the default one.
    pytest.param("nftables", "1.34", "fd00:10:96::99", ["drop"], id="IPv6 CIDR of another object: dropped"),
    # iptables' OnServiceCIDRsChanged is empty.
    pytest.param("iptables", "1.34", "10.96.0.99", ["not-intercepted"], id="iptables: routed"),
]


@pytest.mark.parametrize(("dataplane", "version", "address", "kinds"), TRACE_ROWS)
def test_trace_to_address_reads_the_objects(  # type: ignore[no-untyped-def]
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dataplane, version, address, kinds
) -> None:
    path = _write(
        tmp_path,
        _service_cidr("kubernetes", "[10.96.0.0/12]"),
        _service_cidr("v6", "[fd00:10:96::/112]"),
    )
    args = ["trace", path, "--to-address", address, "--from", "pod", "--dataplane", dataplane]
    assert main([*args, "--kubernetes-version", version, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["service_cidrs"] == ["10.96.0.0/12", "fd00:10:96::/112"]
    assert [o["drop_kind"] for o in document["outcomes"]] == kinds


def test_without_objects_or_flag_nftables_stays_unknown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path)
    assert main(["trace", path, "--to-address", "10.96.0.99", "--from", "pod", "--dataplane", "nftables"]) == 3
    assert "ServiceCIDR objects" in capsys.readouterr().err


SPEC = """\
apiVersion: kverify.io/v1alpha1
kind: Spec
metadata: {name: demo}
topology:
  nodes: [{name: node-a}]
  services:
    - name: shop/web
      endpoints: [{ip: 10.244.1.5, node: node-a}]
environment:
  dataplane: nftables
  serviceCIDR: %s
claims:
  - {id: delivered, service: shop/web, from: pod, via: cluster-ip, property: delivered}
"""


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10.96.0.0/12", ("10.96.0.0/12",)),
        ('"10.96.0.0/12,fd00:10:96::/112"', ("10.96.0.0/12", "fd00:10:96::/112")),
        ("[fd00:10:96::/112, 10.96.0.0/12]", ("fd00:10:96::/112", "10.96.0.0/12")),
    ],
)
def test_spec_environment(tmp_path: Path, value: str, expected: tuple[str, ...]) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(textwrap.dedent(SPEC % value))
    assert load_spec(str(path)).cluster.proxy.service_cidrs == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[10.96.0.0/12, 10.100.0.0/16]", "may specify no more than one IP for each IP family"),
        ('"10.96.0.0/12,fd00::/108,10.100.0.0/16"', "may only hold up to 2 values"),
        ("[]", "Required value: at least one CIDR required"),
        ("10.96.0.0/40", 'serviceCIDR[0]: Invalid value: "10.96.0.0/40"'),
    ],
)
def test_spec_environment_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str, message: str) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(textwrap.dedent(SPEC % value))
    with pytest.raises(InputError, match=r"environment\.serviceCIDR"):
        load_spec(str(path))
    assert main(["check", str(path)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"{path}:11: Spec demo: environment.serviceCIDR") and message in line


def test_a_specs_manifests_add_their_objects_and_keep_the_specs_load_balancer(tmp_path: Path) -> None:
    _write(tmp_path, _service_cidr("kubernetes", "[10.96.0.0/12]"))
    path = tmp_path / "spec.yaml"
    path.write_text(
        "apiVersion: kverify.io/v1alpha1\nkind: Spec\nmetadata: {name: demo}\nmanifests: [snapshot.yaml]\n"
        "environment: {dataplane: nftables, serviceCIDR: fd00:10:96::/112}\n"
    )
    cluster = load_spec(str(path)).cluster
    assert cluster.proxy.service_cidrs == ("fd00:10:96::/112", "10.96.0.0/12")
    # The spec's environment names the load balancer (its default included), not the Services' annotations;
    # regression: reading the objects once made it look unchosen.
    assert cluster.load_balancer_explicit
