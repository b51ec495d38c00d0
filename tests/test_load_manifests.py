"""kverify.load: Kubernetes manifests -> model, and every way the input can be wrong.

Fixtures live in tests/data/manifests/ (valid/, errors/, warnings/). Tests run from that directory
so messages carry short relative paths, exactly as a user who typed them would see them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from kverify.errors import InputError, Problem
from kverify.load import LoadedManifests, load_manifests, to_cluster
from kverify.load.sources import JsonLocator
from kverify.load.yaml_locate import line_in_node
from kverify.model import (
    Cluster,
    IPMode,
    LoadBalancerProfile,
    Protocol,
    ProxyConfig,
    ServiceType,
    SessionAffinity,
    TrafficPolicy,
)

DATA = Path(__file__).parent / "data" / "manifests"


@pytest.fixture(autouse=True)
def _in_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA)


def load(*files: str) -> LoadedManifests:
    return load_manifests(list(files))


def problems_of(*files: str) -> list[str]:
    with pytest.raises(InputError) as info:
        load(*files)
    return [str(p) for p in info.value.problems]


# -- valid input --------------------------------------------------------------------------------


def test_multi_document_yaml_builds_nodes_and_services() -> None:
    loaded = load("valid/cluster.yaml")
    nodes = {n.name: n for n in loaded.nodes}
    assert nodes["node-a"].addresses == ("192.168.0.10", "198.51.100.10")  # InternalIP first
    assert nodes["node-a"].primary_address == "192.168.0.10"
    assert nodes["node-a"].zone == "zone-a"
    assert nodes["node-a"].pod_cidrs == ("10.244.0.0/24",)
    assert not nodes["node-a"].draining
    assert nodes["node-b"].pod_cidrs == ("10.244.1.0/24",)  # from the singular spec.podCIDR
    assert nodes["node-b"].draining  # deletionTimestamp
    assert nodes["node-c"].draining  # ToBeDeletedByClusterAutoscaler taint

    services = {s.key: s for s in loaded.services}
    assert set(services) == {"shop/web", "default/db"}
    web = services["shop/web"]
    assert web.type is ServiceType.LOAD_BALANCER
    assert web.cluster_ips == ("10.96.0.20",)
    assert [(p.name, p.port, p.protocol, p.node_port, p.target_port) for p in web.ports] == [
        ("http", 80, Protocol.TCP, 30080, 8080),
        ("dns", 53, Protocol.UDP, 30053, 53),  # targetPort defaults to port
    ]
    assert web.external_traffic_policy is TrafficPolicy.LOCAL
    assert web.internal_traffic_policy is TrafficPolicy.CLUSTER
    assert web.health_check_node_port == 32000
    assert web.external_ips == ("203.0.113.50",)
    assert web.load_balancer_source_ranges == ("203.0.113.0/24", "198.51.100.0/24")  # trimmed
    assert web.session_affinity is SessionAffinity.CLIENT_IP
    assert web.traffic_distribution == "PreferClose"
    assert [(i.ip, i.hostname, i.ip_mode) for i in web.load_balancer_ingress] == [
        ("203.0.113.7", None, IPMode.VIP),
        ("203.0.113.8", None, IPMode.PROXY),
        (None, "lb.example.com", IPMode.VIP),
    ]
    first, second, third = web.endpoints
    assert (first.ip, first.node_name, first.pod) == ("10.244.0.5", "node-a", "shop/web-1")
    assert [(p.name, p.port, p.protocol) for p in first.ports] == [
        ("http", 8080, Protocol.TCP),
        ("dns", 53, Protocol.UDP),
    ]
    assert (second.zone_hints, second.node_hints) == ({"zone-a"}, {"node-b"})
    assert third.node_name is None

    db = services["default/db"]
    assert db.headless and db.cluster_ips == ()
    assert db.endpoints == ()
    assert loaded.warnings == ()


def test_skipped_objects_are_listed_with_their_reason() -> None:
    assert load("valid/cluster.yaml").skipped == (
        "valid/cluster.yaml:75: Service default/legacy: ExternalName services get no proxy rules, skipped",
        "valid/cluster.yaml:107: EndpointSlice shop/web-fqdn: addressType FQDN is not used by kube-proxy, skipped",
        "valid/cluster.yaml:118: ConfigMap shop/web: kind not modelled, skipped",
        "valid/cluster.yaml:126: Endpoints shop/web: "
        "EndpointSlices of the Service are given (a snapshot): those are read, skipped",
        "valid/cluster.yaml:132: Namespace shop: kind not modelled, skipped",
    )


def test_source_lines_point_at_each_object() -> None:
    lines = load("valid/cluster.yaml").source_lines
    assert lines["Node node-a"] == ("valid/cluster.yaml", 3)
    assert lines["Service shop/web"] == ("valid/cluster.yaml", 41)
    assert lines["Service default/db"] == ("valid/cluster.yaml", 66)
    assert lines["EndpointSlice shop/web-abc12"] == ("valid/cluster.yaml", 83)
    assert lines["ConfigMap shop/web"] == ("valid/cluster.yaml", 118)
    with pytest.raises(TypeError):
        lines["Service x/y"] = ("a", 1)  # type: ignore[index]


def test_kubectl_list_json() -> None:
    loaded = load("valid/list.json")
    (node,) = loaded.nodes
    (api,) = loaded.services
    assert (node.name, node.addresses, node.zone) == ("ip-10-0-1-5", ("10.0.1.5",), "us-east-1a")
    assert api.key == "prod/api"
    assert api.internal_traffic_policy is TrafficPolicy.LOCAL
    assert api.ports[0].target_port == "https"
    (endpoint,) = api.endpoints
    assert (endpoint.ip, endpoint.node_name, endpoint.pod) == ("10.0.1.77", "ip-10-0-1-5", "prod/api-7d9f-x2")
    assert endpoint.ports[0].port == 8443
    assert loaded.skipped == ("valid/list.json:86: ControllerRevision prod/api-7d9f: kind not modelled, skipped",)
    assert dict(loaded.source_lines) == {
        "Node ip-10-0-1-5": ("valid/list.json", 4),
        "Service prod/api": ("valid/list.json", 22),
        "EndpointSlice prod/api-k8s2p": ("valid/list.json", 48),
        "ControllerRevision prod/api-7d9f": ("valid/list.json", 86),
    }


def test_kubectl_typed_list_yaml_whose_items_omit_kind() -> None:
    loaded = load("valid/servicelist.yaml")
    assert [s.key for s in loaded.services] == ["default/kubernetes", "kube-system/kube-dns"]
    assert loaded.source_lines["Service default/kubernetes"] == ("valid/servicelist.yaml", 6)
    assert [p.protocol for p in loaded.services[1].ports] == [Protocol.UDP, Protocol.TCP]


def test_json_stream_of_objects_and_ipv6() -> None:
    loaded = load("valid/stream.json")
    (svc,) = loaded.services
    assert svc.cluster_ips == ("fd00::10",)
    assert [e.ip for e in svc.endpoints] == ["fd00:1::5"]
    assert loaded.source_lines["EndpointSlice stream/one-a"] == ("valid/stream.json", 5)


def test_a_directory_loads_its_manifest_files() -> None:
    loaded = load("valid")
    assert sorted(s.key for s in loaded.services) == [
        "default/db",
        "default/kubernetes",
        "kube-system/kube-dns",
        "prod/api",
        "shop/web",
        "stream/one",
        "test/cond",
    ]
    assert len(loaded.nodes) == 4


CONDITIONS = [
    # (id, endpoint IP, (ready, serving, terminating)); rules from endpointslicecache.go newEndpointSliceInfo
    ("no conditions: ready, serving, not terminating", "10.1.0.1", (True, True, False)),
    ("empty conditions: same as none", "10.1.0.2", (True, True, False)),
    ("explicit nulls: same as none", "10.1.0.3", (True, True, False)),
    ("terminating and still serving", "10.1.0.4", (False, True, True)),
    ("terminating and not serving", "10.1.0.5", (False, False, True)),
    ("ready false alone: serving still defaults to true", "10.1.0.6", (False, True, False)),
    ("serving false alone: ready still defaults to true", "10.1.0.7", (True, False, False)),
    ("terminating false: ready", "10.1.0.8", (True, True, False)),
]


@pytest.mark.parametrize(("ip", "expected"), [c[1:] for c in CONDITIONS], ids=[c[0] for c in CONDITIONS])
def test_endpoint_conditions_are_defaulted_as_kube_proxy_does(ip: str, expected: tuple[bool, bool, bool]) -> None:
    (svc,) = load("valid/conditions.yaml").services
    endpoint = next(e for e in svc.endpoints if e.ip == ip)
    assert (endpoint.ready, endpoint.serving, endpoint.terminating) == expected


def test_to_cluster() -> None:
    loaded = load("valid/cluster.yaml")
    proxy = ProxyConfig(cluster_cidrs=("10.244.0.0/16",))
    cluster = to_cluster(loaded, proxy=proxy, load_balancer=LoadBalancerProfile.METALLB_L2)
    assert isinstance(cluster, Cluster)
    assert cluster.proxy == proxy and cluster.load_balancer is LoadBalancerProfile.METALLB_L2
    assert cluster.service("shop/web") is not None and cluster.node("node-c") is not None
    assert to_cluster(loaded).proxy == ProxyConfig()


# -- warnings -----------------------------------------------------------------------------------


def test_warnings_for_a_partial_snapshot() -> None:
    loaded = load("warnings/partial.yaml")
    assert [str(w) for w in loaded.warnings] == [
        "warnings/partial.yaml:14: Service default/web: "
        "metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]: kube-proxy ignores "
        "this annotation (it reads only spec.loadBalancerSourceRanges); kverify does not apply it, "
        "though a cloud load balancer may",
        "warnings/partial.yaml:31: EndpointSlice default/web-1: endpoints[1].nodeName: "
        'node "node-z" not found in the manifests; the endpoint is never local to a known node',
        "warnings/partial.yaml:32: EndpointSlice default/web-1: endpoints[2].addresses: "
        "kube-proxy uses only the first address (pkg/proxy/endpointslicecache.go); the others are ignored",
        "warnings/partial.yaml:38: EndpointSlice default/gone-1: metadata.labels[kubernetes.io/service-name]: "
        'Service "default/gone" not found in the manifests; these endpoints are not used',
        "warnings/partial.yaml:46: EndpointSlice default/orphan: metadata.labels: "
        "no kubernetes.io/service-name label: kube-proxy ignores this EndpointSlice",
        "warnings/partial.yaml:51: EndpointSlice default/web-noports: ports: "
        "no usable ports: kube-proxy builds no endpoints from this EndpointSlice",
    ]
    (web,) = loaded.services
    assert web.load_balancer_source_ranges == ()  # the annotation is not applied
    # the unknown node's endpoint is kept (never local); only the first address of the last is used
    assert [(e.ip, e.node_name) for e in web.endpoints] == [
        ("10.244.0.5", "node-a"),
        ("10.244.9.5", "node-z"),
        ("10.244.9.6", None),
    ]


def test_pod_target_refs_are_checked_when_pods_are_loaded() -> None:
    loaded = load("warnings/pods.yaml")
    assert [str(w) for w in loaded.warnings] == [
        'warnings/pods.yaml:23: EndpointSlice prod/api-x: endpoints[1].targetRef: Pod "prod/api-2" not found '
        "in the manifests",
    ]
    assert [e.pod for e in loaded.services[0].endpoints] == ["prod/api-1", "prod/api-2"]
    assert "Pod prod/api-1" in loaded.source_lines and loaded.skipped == ()


def test_endpoints_with_node_names_but_no_nodes_at_all_give_one_warning(tmp_path: Path) -> None:
    loaded = load("valid/list.json")  # has a Node: no warning
    assert loaded.warnings == ()
    text = (DATA / "valid/list.json").read_text()
    data = json.loads(text)
    data["items"] = [i for i in data["items"] if i["kind"] != "Node"]
    out = tmp_path / "no-nodes.json"
    out.write_text(json.dumps(data))
    warnings = load_manifests([out]).warnings
    assert [str(w) for w in warnings] == ["no Node objects in the manifests; no endpoint is local to a known node"]


# -- errors: every problem reported at once, in apimachinery's shape ------------------------------

ERRORS = [
    (
        "broken YAML: the parser's line and reason",
        ["errors/broken.yaml"],
        [
            "errors/broken.yaml:8: invalid YAML: did not find expected '-' indicator (column 6), "
            "while parsing a block collection that starts at line 7, column 5"
        ],
    ),
    (
        "broken JSON: the decoder's line and reason",
        ["errors/broken.json"],
        ["errors/broken.json:6: invalid JSON: Expecting property name enclosed in double quotes (column 5)"],
    ),
    (
        "a document that is not a mapping",
        ["errors/not-a-mapping.yaml"],
        [
            "errors/not-a-mapping.yaml:6: document is not a mapping (a Kubernetes object) but a list",
            "errors/not-a-mapping.yaml:9: document is not a mapping (a Kubernetes object) but a string",
        ],
    ),
    (
        "missing apiVersion, kind, metadata.name, metadata, ports or addressType (allocated values are filled in)",
        ["errors/missing-fields.yaml"],
        [
            "errors/missing-fields.yaml:1: Service default/no-api-version: apiVersion: Required value",
            "errors/missing-fields.yaml:6: kind: Required value",
            "errors/missing-fields.yaml:12: Service: metadata.name: Required value: name or generateName is required",
            "errors/missing-fields.yaml:16: Service: metadata: Required value",
            "errors/missing-fields.yaml:24: Service default/no-ports: spec.ports: Required value",
            "errors/missing-fields.yaml:34: EndpointSlice default/no-address-type: addressType: Required value",
        ],
    ),
    (
        "wrong types: a string where a list, mapping, integer or boolean is expected",
        ["errors/wrong-types.yaml"],
        [
            'errors/wrong-types.yaml:7: Service default/web: spec.ports: Invalid value: "80": must be a list',
            'errors/wrong-types.yaml:8: Service default/web: spec.externalIPs: Invalid value: "203.0.113.1": '
            "must be a list",
            'errors/wrong-types.yaml:16: Node node-a: status.addresses[0]: Invalid value: "InternalIP": '
            "must be a mapping",
            'errors/wrong-types.yaml:17: Node node-a: status.addresses[1].address: Invalid value: ["10.0.0.1"]: '
            "must be a string",
            'errors/wrong-types.yaml:26: EndpointSlice default/web-1: ports[0].port: Invalid value: "8080": '
            "must be an integer",
            "errors/wrong-types.yaml:28: EndpointSlice default/web-1: endpoints[0].addresses: "
            'Invalid value: "10.0.0.9": must be a list',
            "errors/wrong-types.yaml:30: EndpointSlice default/web-1: endpoints[1].conditions.ready: "
            'Invalid value: "yes": must be a boolean',
        ],
    ),
    (
        "invalid values, in the API server's words",
        ["errors/bad-values.yaml"],
        [
            'errors/bad-values.yaml:8: Service shop/web: spec.clusterIP: Invalid value: "10.96.0.300": '
            "must be a valid IP address",
            "errors/bad-values.yaml:11: Service shop/web: spec.ports[0].port: Invalid value: 70000: "
            "must be between 1 and 65535, inclusive",
            'errors/bad-values.yaml:12: Service shop/web: spec.ports[0].protocol: Unsupported value: "TCPP": '
            'supported values: "SCTP", "TCP", "UDP"',
            'errors/bad-values.yaml:14: Service shop/web: spec.ports[1].name: Duplicate value: "http"',
            'errors/bad-values.yaml:16: Service shop/web: spec.externalTrafficPolicy: Unsupported value: "Locl": '
            'supported values: "Cluster", "Local"',
            'errors/bad-values.yaml:17: Service shop/web: spec.internalTrafficPolicy: Unsupported value: "local": '
            'supported values: "Cluster", "Local"',
            'errors/bad-values.yaml:18: Service shop/web: spec.externalIPs[1]: Invalid value: "abc": '
            "must be a valid IP address",
            "errors/bad-values.yaml:19: Service shop/web: spec.loadBalancerSourceRanges[0]: "
            'Invalid value: "10.0.0.0/33": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
            'errors/bad-values.yaml:20: Service shop/web: spec.sessionAffinity: Unsupported value: "Sticky": '
            'supported values: "ClientIP", "None"',
            "errors/bad-values.yaml:24: Service shop/web: status.loadBalancer.ingress[0].ipMode: "
            'Unsupported value: "Passthrough": supported values: "Proxy", "VIP"',
            'errors/bad-values.yaml:31: Service default/internal: spec.type: Unsupported value: "Internal": '
            'supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
            "errors/bad-values.yaml:34: Service default/internal: spec.ports[0].name: Required value",
            "errors/bad-values.yaml:35: Service default/internal: spec.ports[0].nodePort: "
            "Forbidden: may not be used when `type` is 'ClusterIP'",
            "errors/bad-values.yaml:36: Service default/internal: spec.ports[1].name: Required value",
            "errors/bad-values.yaml:46: EndpointSlice shop/web-abc: ports[0].port: Invalid value: 0: "
            "must be between 1 and 65535, inclusive",
            "errors/bad-values.yaml:47: EndpointSlice shop/web-abc: ports[1].port: Invalid value: 99999: "
            "must be between 1 and 65535, inclusive",
            "errors/bad-values.yaml:49: EndpointSlice shop/web-abc: endpoints[0].addresses[0]: "
            'Invalid value: "10.0.0.256": must be a valid IPv4 address',
            "errors/bad-values.yaml:50: EndpointSlice shop/web-abc: endpoints[1].addresses[0]: "
            'Invalid value: "2001:db8::1": must be a valid IPv4 address',
            "errors/bad-values.yaml:51: EndpointSlice shop/web-abc: endpoints[2].addresses: "
            "Required value: must contain at least 1 address",
            'errors/bad-values.yaml:58: EndpointSlice shop/web-v6: addressType: Unsupported value: "IPv5": '
            'supported values: "FQDN", "IPv4", "IPv6"',
            "errors/bad-values.yaml:60: EndpointSlice shop/web-old: apiVersion: "
            'Unsupported value: "discovery.k8s.io/v1beta1": supported values: "discovery.k8s.io/v1"',
            'errors/bad-values.yaml:72: Node node-a: spec.podCIDRs[0]: Invalid value: "10.244.0.0/40": '
            "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)",
            "errors/bad-values.yaml:75: Node node-a: status.addresses[0].address: "
            'Invalid value: "192.168.0.300": must be a valid IP address',
        ],
    ),
    (
        "a second object with the same kind and name, in another file",
        ["errors/duplicate-a.yaml", "errors/duplicate-b.yaml"],
        [
            'errors/duplicate-b.yaml:8: Service default/web: metadata.name: Duplicate value: "web": '
            "already defined at errors/duplicate-a.yaml:1",
            'errors/duplicate-b.yaml:14: Node node-a: metadata.name: Duplicate value: "node-a": '
            "already defined at errors/duplicate-a.yaml:7",
        ],
    ),
    (
        "errors inside a kubectl List JSON point at the field's own line",
        ["errors/bad-list.json"],
        [
            "errors/bad-list.json:21: Service prod/bad: spec.ports[0].name: Required value",
            "errors/bad-list.json:22: Service prod/bad: spec.ports[1].port: Invalid value: 0: "
            "must be between 1 and 65535, inclusive",
            'errors/bad-list.json:24: Service prod/bad: spec.externalTrafficPolicy: Unsupported value: "Locl": '
            'supported values: "Cluster", "Local"',
            'errors/bad-list.json:27: List: items[2]: Invalid value: "not an object": '
            "must be a mapping (a Kubernetes object)",
        ],
    ),
    (
        "an unknown file, reported along with the problems of the others",
        ["errors/no-such-file.yaml", "errors/broken.json"],
        [
            "errors/no-such-file.yaml: no such file or directory",
            "errors/broken.json:6: invalid JSON: Expecting property name enclosed in double quotes (column 5)",
        ],
    ),
]


@pytest.mark.parametrize(("files", "expected"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_bad_input_is_reported_in_full(files: list[str], expected: list[str]) -> None:
    assert problems_of(*files) == expected


def test_a_problem_carries_its_parts() -> None:
    with pytest.raises(InputError) as info:
        load("errors/bad-list.json")
    assert info.value.problems[2] == Problem(
        'Unsupported value: "Locl": supported values: "Cluster", "Local"',
        file="errors/bad-list.json",
        line=24,
        obj="Service prod/bad",
        field="spec.externalTrafficPolicy",
    )
    assert str(info.value).splitlines() == problems_of("errors/bad-list.json")


# -- line numbers of JSON, found lazily, agree with the YAML composer's ----------------------------


def _paths(value: object, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            out += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            out += _paths(child, (*prefix, i))
    return out


@pytest.mark.parametrize("name", ["valid/list.json", "errors/bad-list.json", "valid/stream.json"])
def test_json_locator_agrees_with_yaml_composer(name: str) -> None:
    text = (DATA / name).read_text()
    decoder = json.JSONDecoder()
    nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader)) if name != "valid/stream.json" else None
    pos = 0
    docs = []
    while pos < len(text.rstrip()):
        pos = len(text) - len(text[pos:].lstrip())
        value, end = decoder.raw_decode(text, pos)
        docs.append((value, pos))
        pos = end
    for index, (value, offset) in enumerate(docs):
        locate = JsonLocator(text, offset, text.count("\n", 0, offset) + 1)
        paths = _paths(value)
        assert paths
        if nodes is not None:
            assert [locate(p) for p in paths] == [line_in_node(nodes[index], p) for p in paths]
        # a path that does not exist stops at its deepest existing ancestor
        assert locate(("no-such-key",)) == locate(())


def test_an_empty_file_is_a_warning_not_silence(tmp_path) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    loaded = load_manifests([empty])
    assert [str(w) for w in loaded.warnings] == [f"{empty}: no Kubernetes objects in this file"]


def test_an_invalid_namespace_is_reported_on_every_object_that_names_it(tmp_path: Path) -> None:
    """ValidateObjectMeta: metadata.namespace must be a DNS-1123 label (ValidateNamespaceName); the
    check is made once per namespace, the error given once per object."""
    service = (
        "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: {namespace}}}\n"
        "spec: {{ports: [{{port: 80}}]}}\n"
    )
    path = tmp_path / "ns.yaml"
    path.write_text(
        "---\n".join(
            [
                service.format(name="web", namespace="Shop_1"),
                service.format(name="api", namespace="Shop_1"),
                service.format(name="db", namespace="shop"),
                service.format(name="cache", namespace="s" * 64),
            ]
        )
    )
    with pytest.raises(InputError) as caught:
        load_manifests([path])
    label = (
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must "
        "start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
        "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
    )
    assert [str(p) for p in caught.value.problems] == [
        f'{path}:3: Service Shop_1/web: metadata.namespace: Invalid value: "Shop_1": {label}',
        f'{path}:8: Service Shop_1/api: metadata.namespace: Invalid value: "Shop_1": {label}',
        f'{path}:18: Service {"s" * 64}/cache: metadata.namespace: Invalid value: "{"s" * 64}": '
        "must be no more than 63 characters",
    ]


def test_a_services_endpoints_are_those_of_all_its_slices_in_order(tmp_path: Path) -> None:
    """kube-proxy merges every EndpointSlice labelled with the Service's name (endpointslicecache.go)."""
    slice_ = (
        "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
        "metadata: {{name: {name}, namespace: shop, labels: {{kubernetes.io/service-name: {service}}}}}\n"
        "addressType: IPv4\nports: [{{name: http, port: 8080}}]\nendpoints: [{endpoints}]\n"
    )
    path = tmp_path / "slices.yaml"
    path.write_text(
        "---\n".join(
            [
                "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\n"
                "spec: {clusterIP: 10.96.0.10, ports: [{name: http, port: 80, targetPort: 8080}]}\n",
                "apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: shop}\n"
                "spec: {clusterIP: 10.96.0.11, ports: [{name: http, port: 80, targetPort: 8080}]}\n",
                slice_.format(name="web-a", service="web", endpoints="{addresses: [10.244.0.1]}"),
                slice_.format(name="api-a", service="api", endpoints="{addresses: [10.244.0.9]}"),
                slice_.format(
                    name="web-b", service="web", endpoints="{addresses: [10.244.0.2]}, {addresses: [10.244.0.3]}"
                ),
                slice_.format(name="web-c", service="web", endpoints=""),
            ]
        )
    )
    services = {s.key: s for s in load_manifests([path]).services}
    assert [e.ip for e in services["shop/web"].endpoints] == ["10.244.0.1", "10.244.0.2", "10.244.0.3"]
    assert [e.ip for e in services["shop/api"].endpoints] == ["10.244.0.9"]
