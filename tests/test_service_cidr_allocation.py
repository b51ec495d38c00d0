"""ClusterIPs come from the service CIDRs the input declares, as the API server's allocator takes them.

Expected values are derived from kubernetes/kubernetes ``pkg/registry/core/service/ipallocator``:
``ipallocator.go`` ``NewIPAllocator`` (the network address is never allocated, nor the IPv4 broadcast
address; the IPv6 all-ones address is), ``bitmap.go`` ``calculateRangeOffset`` (a static band of
``min(max(16, size/16), 256)`` addresses at the start, none for 16 addresses or fewer) and
``allocateNextService`` (the upper band first, the lower one only when it is full), ``cidrallocator.go``
``MetaAllocator.AllocateNextService`` (another CIDR of the family only when one is full) and
``getAllocator`` with ``pkg/api/servicecidr`` ``PrefixContainsIP`` (a given ClusterIP must lie in a CIDR,
network and IPv4 broadcast address excluded, else ``ErrMismatchedNetwork``, which
``pkg/registry/core/service/storage/alloc.go`` ``allocIPs`` wraps); the family checks are ``alloc.go``
``initIPFamilyFields``'.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
import yaml

from kverify.check.specfile import load_spec
from kverify.cli import main
from kverify.errors import InputError
from kverify.load import load_manifests
from kverify.model import Service

MISMATCHED = "failed to allocate IP {ip}: the provided network does not match the current range"
FULL = "Internal error occurred: failed to allocate a serviceIP: range is full"


def _service(name: str, **spec: object) -> dict[str, object]:
    spec.setdefault("ports", [{"port": 80}])
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"}, "spec": spec}


def _service_cidr(name: str, *cidrs: str) -> dict[str, object]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "ServiceCIDR",
        "metadata": {"name": name},
        "spec": {"cidrs": list(cidrs)},
    }


def _write(tmp_path: Path, *objects: dict[str, object]) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump_all(objects))
    return path


def _load(tmp_path: Path, *objects: dict[str, object], given: tuple[str, ...] = ()) -> dict[str, Service]:
    return {s.key: s for s in load_manifests([_write(tmp_path, *objects)], service_cidrs=given).services}


def _in(ip: str, low: str, high: str) -> bool:
    return ipaddress.ip_address(low) <= ipaddress.ip_address(ip) <= ipaddress.ip_address(high)


def _many(n: int) -> list[dict[str, object]]:
    return [_service(f"s{i:03d}") for i in range(n)]


# -- where an omitted ClusterIP comes from ---------------------------------------------------------


def test_a_k3s_service_cidr_object_is_where_cluster_ips_come_from(tmp_path: Path) -> None:
    services = _load(tmp_path, _service("web"), _service_cidr("kubernetes", "10.43.0.0/16"))
    (ip,) = services["default/web"].cluster_ips
    # /16: 65536 addresses, static band 65536/16 = 4096 capped at 256: dynamic from 10.43.0.1 + 256.
    assert _in(ip, "10.43.1.1", "10.43.255.254")


def test_the_given_cidr_of_a_spec_or_flag_is_where_cluster_ips_come_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, _service("web"))
    (ip,) = load_manifests([path], service_cidrs=("10.43.0.0/16",)).services[0].cluster_ips
    assert _in(ip, "10.43.1.1", "10.43.255.254")
    # The regression of issue 9: the nftables proxy of the same run sees the allocated address as the
    # Service's own, not as an address outside every service CIDR.
    args = ["trace", str(path), "--service-cidr", "10.43.0.0/16", "--dataplane", "nftables", "--from", "pod"]
    assert main([*args, "--to-address", ip]) == 2
    assert f"{ip} is a cluster-ip address of default/web" in capsys.readouterr().err


def test_without_a_declared_cidr_kubeadms_default_is_assumed(tmp_path: Path) -> None:
    (ip,) = _load(tmp_path, _service("web"))["default/web"].cluster_ips
    assert _in(ip, "10.96.1.1", "10.111.255.254")  # 10.96.0.0/12, above its 256-address static band


def test_a_range_of_16_addresses_has_no_static_band_and_14_addresses(tmp_path: Path) -> None:
    # calculateRangeOffset: cidrSize <= 16 -> 0; the network and broadcast addresses are never allocated.
    services = _load(tmp_path, *_many(14), _service_cidr("kubernetes", "10.0.0.0/28"))
    ips = {ip for s in services.values() for ip in s.cluster_ips}
    assert ips == {f"10.0.0.{n}" for n in range(1, 15)}


def test_the_static_band_is_used_only_once_the_upper_band_is_full(tmp_path: Path) -> None:
    # /24: 256 addresses, static band max(16, 256/16) = 16 addresses (10.0.0.1-10.0.0.16); the upper band
    # 10.0.0.17-10.0.0.254 holds 238.
    upper = _load(tmp_path, *_many(238), _service_cidr("kubernetes", "10.0.0.0/24"))
    assert {ip for s in upper.values() for ip in s.cluster_ips} == {f"10.0.0.{n}" for n in range(17, 255)}
    everything = _load(tmp_path, *_many(254), _service_cidr("kubernetes", "10.0.0.0/24"))
    assert {ip for s in everything.values() for ip in s.cluster_ips} == {f"10.0.0.{n}" for n in range(1, 255)}


def test_ipv6_allocates_the_all_ones_address(tmp_path: Path) -> None:
    # IPv6 has no broadcast address: /120's upper band is fd00::11-fd00::ff, 239 addresses.
    services = _load(tmp_path, *_many(239), _service_cidr("kubernetes", "fd00::/120"))
    assert {ip for s in services.values() for ip in s.cluster_ips} == {
        str(ipaddress.IPv6Address(n))
        for n in range(int(ipaddress.IPv6Address("fd00::11")), 1 + int(ipaddress.IPv6Address("fd00::ff")))
    }


def test_another_cidr_of_the_family_is_used_when_one_is_full(tmp_path: Path) -> None:
    # The default object comes first wherever it is listed (kubectl lists objects by name: "extra" first).
    services = _load(
        tmp_path,
        _service_cidr("extra", "10.1.0.0/28"),
        _service_cidr("kubernetes", "10.0.0.0/28"),
        *_many(20),
    )
    ips = [ipaddress.ip_address(ip) for s in services.values() for ip in s.cluster_ips]
    assert sum(ip in ipaddress.ip_network("10.0.0.0/28") for ip in ips) == 14
    assert sum(ip in ipaddress.ip_network("10.1.0.0/28") for ip in ips) == 6


def test_a_full_range_is_refused_as_the_api_server_refuses_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, *_many(15), _service_cidr("kubernetes", "10.0.0.0/28"))
    assert main(["check", str(path)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "Service default/s014: spec.clusterIPs: " + FULL in line


def test_an_ipv6_cidr_shorter_than_64_gets_no_allocator(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # NewIPAllocator: "shortest allowed prefix length for service CIDR is 64": nothing is allocated from it,
    # and no ClusterIP inside it is accepted.
    path = _write(tmp_path, _service("web", ipFamilies=["IPv6"]), _service_cidr("kubernetes", "fd00::/48"))
    assert main(["check", str(path)]) == 2
    assert FULL in capsys.readouterr().err
    path = _write(tmp_path, _service("web", clusterIP="fd00::10"), _service_cidr("kubernetes", "fd00::/48"))
    assert main(["check", str(path)]) == 2
    assert MISMATCHED.format(ip="fd00::10") in capsys.readouterr().err


def test_allocation_is_deterministic_and_ignores_the_order_of_services(tmp_path: Path) -> None:
    objects = [*_many(30), _service_cidr("kubernetes", "10.43.0.0/16")]
    first = _load(tmp_path, *objects)
    again = _load(tmp_path, *reversed(objects))
    assert {k: s.cluster_ips for k, s in first.items()} == {k: s.cluster_ips for k, s in again.items()}


# -- what the API server refuses --------------------------------------------------------------------

GIVEN = [
    pytest.param("10.96.0.10", False, id="kubeadm's kube-dns address on a k3s range: refused"),
    pytest.param("10.43.0.10", True, id="k3s's kube-dns address: accepted"),
    pytest.param("10.43.0.0", False, id="the network address: refused (PrefixContainsIP)"),
    pytest.param("10.43.255.255", False, id="the IPv4 broadcast address: refused (PrefixContainsIP)"),
    pytest.param("10.43.255.254", True, id="the last address before the broadcast: accepted"),
]


@pytest.mark.parametrize(("ip", "accepted"), GIVEN)
def test_a_given_cluster_ip_must_lie_in_a_declared_cidr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], ip: str, accepted: bool
) -> None:
    objects = (_service("web", clusterIP=ip), _service_cidr("kubernetes", "10.43.0.0/16"))
    if accepted:
        assert _load(tmp_path, *objects)["default/web"].cluster_ips == (ip,)
        return
    path = _write(tmp_path, *objects)
    assert main(["trace", str(path), "--service", "default/web", "--to", "cluster-ip", "--from", "pod"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    spec_line = path.read_text().splitlines().index("spec:") + 1  # spec.clusterIPs is not written: its parent
    assert line == (
        f'{path}:{spec_line}: Service default/web: spec.clusterIPs: Invalid value: ["{ip}"]: '
        + MISMATCHED.format(ip=ip)
    )


def test_a_given_cluster_ip_in_any_object_is_accepted(tmp_path: Path) -> None:
    services = _load(
        tmp_path,
        _service("web", clusterIP="172.30.0.10"),
        _service_cidr("kubernetes", "10.43.0.0/16"),
        _service_cidr("extra", "172.30.0.0/16"),
    )
    assert services["default/web"].cluster_ips == ("172.30.0.10",)


def test_without_a_declared_cidr_no_given_cluster_ip_is_refused(tmp_path: Path) -> None:
    # kverify does not know the cluster's range: a snapshot of any cluster loads.
    assert _load(tmp_path, _service("web", clusterIP="172.16.5.5"))["default/web"].cluster_ips == ("172.16.5.5",)


FAMILIES = [
    pytest.param(
        {"ipFamilyPolicy": "RequireDualStack"},
        'spec.ipFamilyPolicy: Invalid value: "RequireDualStack": '
        "this cluster is not configured for dual-stack services",
        id="RequireDualStack on a single-stack cluster",
    ),
    pytest.param(
        {"ipFamilies": ["IPv6"]},
        'spec.ipFamilies[0]: Invalid value: "IPv6": not configured on this cluster',
        id="an IPv6 Service on an IPv4 cluster",
    ),
    pytest.param(
        {"clusterIP": "fd00::10"},
        'spec.clusterIPs[0]: Invalid value: ["fd00::10"]: IPv6 is not configured on this cluster',
        id="an IPv6 ClusterIP on an IPv4 cluster",
    ),
]


@pytest.mark.parametrize(("spec", "message"), FAMILIES)
def test_families_the_cluster_lacks_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], spec: dict[str, object], message: str
) -> None:
    path = _write(tmp_path, _service("web", **spec), _service_cidr("kubernetes", "10.43.0.0/16"))
    assert main(["check", str(path)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.endswith(f"Service default/web: {message}")


def test_prefer_dual_stack_on_a_single_stack_cluster_gets_one_family(tmp_path: Path) -> None:
    services = _load(
        tmp_path,
        _service("web", type="LoadBalancer", ipFamilyPolicy="PreferDualStack"),
        _service_cidr("kubernetes", "10.43.0.0/16"),
    )
    web = services["default/web"]
    assert [ipaddress.ip_address(ip).version for ip in web.cluster_ips] == [4]
    assert len(web.load_balancer_ingress) == 1  # one load-balancer address per ClusterIP family


def test_the_first_declared_cidr_is_the_primary_family(tmp_path: Path) -> None:
    services = _load(
        tmp_path,
        _service("single"),
        _service("dual", ipFamilyPolicy="PreferDualStack"),
        _service_cidr("kubernetes", "fd00:43::/112", "10.43.0.0/16"),
    )
    (single,) = services["default/single"].cluster_ips
    assert ipaddress.ip_address(single) in ipaddress.ip_network("fd00:43::/112")
    assert [ipaddress.ip_address(ip).version for ip in services["default/dual"].cluster_ips] == [6, 4]


# -- specs: environment.serviceCIDR with manifests or a topology ------------------------------------

SPEC = """\
apiVersion: kverify.io/v1alpha1
kind: Spec
metadata: {name: demo}
environment: {dataplane: nftables, serviceCIDR: 10.43.0.0/16}
"""


def test_a_specs_service_cidr_is_where_its_manifests_get_cluster_ips(tmp_path: Path) -> None:
    _write(tmp_path, _service("web"))
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC + "manifests: [m.yaml]\n")
    cluster = load_spec(str(path)).cluster
    (ip,) = cluster.services[0].cluster_ips
    assert _in(ip, "10.43.1.1", "10.43.255.254")
    assert cluster.proxy.service_cidrs == ("10.43.0.0/16",)


def test_a_specs_topology_takes_cluster_ips_from_its_service_cidr(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC + "topology:\n  nodes: [{name: node-a}]\n  services: [{name: web}, {name: api}]\n")
    services = {s.key: s.cluster_ips for s in load_spec(str(path)).cluster.services}
    # The topology's rule: the 10th address of the service CIDR onwards, one per Service, in order.
    assert services == {"default/web": ("10.43.0.10",), "default/api": ("10.43.0.11",)}


def test_a_specs_topology_with_a_cluster_ip_outside_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC + "topology:\n  services: [{name: web, clusterIP: 10.96.0.10}]\n")
    with pytest.raises(InputError):
        load_spec(str(path))
    assert main(["check", str(path)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f'{path}:6: Spec demo: topology.services[0].clusterIP: Invalid value: "10.96.0.10": ')
    assert line.endswith(MISMATCHED.format(ip="10.96.0.10"))
