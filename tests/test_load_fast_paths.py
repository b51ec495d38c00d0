"""The loader's fast paths give the same answers as the slow ones they replace."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kverify.load.kinds import _IPV4


@pytest.mark.parametrize(
    "text",
    [
        "1.2.3.4",
        "0.0.0.0",
        "255.255.255.255",
        "10.244.1.5",
        "256.1.1.1",
        "01.2.3.4",
        "1.2.3.04",
        "1.2.3",
        "1.2.3.4.5",
        "1.2.3.4\n",
        " 1.2.3.4",
        "a.b.c.d",
        "1.2.3.-1",
        "::1",
        "\u0661.2.3.4",  # ARABIC-INDIC DIGIT ONE: a digit to \\d, not to ipaddress
        "1.2.3.\u0664",
        "",
    ],
)
def test_the_ipv4_pattern_accepts_exactly_what_ipaddress_accepts(text: str) -> None:
    try:
        ipaddress.IPv4Address(text)
        valid = True
    except ValueError:
        valid = False
    assert bool(_IPV4.match(text)) == valid


# --- YAML: plain values built from the composed nodes (kverify.load.yaml_build) -------------------

_YAML_CASES = [
    "a: 1\nb: [x, 'y', \"z\", 2.5, -3, 0x1f, 0o17, .inf, -.inf, .nan, ~, null, true, False, yes, off]\n",
    "when: 2024-01-02T03:04:05Z\nday: 2024-01-02\ndata: !!binary aGVsbG8=\nop: =\n'=': =\n",
    "true: a\n1: b\n~: c\n2.5: d\n",
    "dup: 1\nother: 2\ndup: 3\n",  # the last value wins, in the first key's place
    "base: &b {x: 1, y: [1, 2]}\nuse: *b\nlist: &l [a, b]\nagain: *l\n",
    "a: &a [*a, 1]\n",  # a list holding itself
    "base: &b {x: 1}\nmerged:\n  <<: *b\n  y: 2\n",  # merge key: PyYAML's constructor
    "s: !!set {a, b}\no: !!omap [{a: 1}, {b: 2}]\np: !!pairs [{a: 1}]\n",
    "explicit: !!str 12\nnum: !!int '7'\nf: !!float '1'\n",
    "[1, {a: [], b: {}}, [[]], '']\n",
    "key with spaces: |\n  literal\n  text\nfolded: >\n  folded\n  text\n",
    "? [a, b]\n: unhashable\n",  # PyYAML refuses an unhashable key
    "x: !Ref other\n",  # an unknown tag: PyYAML's error
    "x: !!binary not-base64!\n",
    "[" * 300 + "]" * 300 + "\n",
]


def _both_ways(text: str) -> tuple[object, object]:
    """(build's result or error, PyYAML's constructor's result or error) for each document."""
    from kverify.load.sources import _Loader
    from kverify.load.yaml_build import build

    def outcome(fast: bool) -> object:
        loader = _Loader(text)
        try:
            values = []
            while loader.check_node():
                node = loader.get_node()
                values.append(build(loader, node) if fast else loader.construct_document(node))
            return values
        except Exception as exc:  # the error is part of the answer compared
            return type(exc).__name__ if fast else (type(exc).__name__, str(exc))
        finally:
            loader.dispose()

    return outcome(True), outcome(False)


@pytest.mark.parametrize("text", _YAML_CASES)
def test_yaml_build_gives_what_pyyamls_constructor_gives_or_declines(text: str) -> None:
    fast, reference = _both_ways(text)
    if isinstance(fast, str):
        return  # any error (NotPlain, a bad scalar): the loader falls back to PyYAML's constructor (below)
    assert isinstance(fast, list) and isinstance(reference, list), (fast, reference)
    assert repr(fast) == repr(reference)  # same values, key order and types (repr: nan != nan)


def test_yaml_build_declines_merge_keys_tags_and_unhashable_keys() -> None:
    for text in (_YAML_CASES[6], _YAML_CASES[7], _YAML_CASES[11], _YAML_CASES[12]):
        assert _both_ways(text)[0] == "NotPlain", text


def test_yaml_build_keeps_aliases_shared_as_pyyaml_does() -> None:
    """An alias is the same object as its anchor: an alias bomb stays as small as its text."""
    fast, _ = _both_ways("base: &b {x: 1}\nuse: *b\nself: &s [*s]\n")
    assert isinstance(fast, list)
    (doc,) = fast
    assert doc["use"] is doc["base"]
    assert doc["self"][0] is doc["self"]


@pytest.mark.parametrize("text", _YAML_CASES)
def test_the_loader_reads_every_yaml_case_as_pyyaml_does(tmp_path, text: str) -> None:  # type: ignore[no-untyped-def]
    """Through read_file (fast path, else PyYAML's constructor): the same data or the same error."""
    import yaml

    from kverify.errors import Problem
    from kverify.load.sources import _Loader, read_file

    path = tmp_path / "case.yaml"
    path.write_text(text)
    problems: list[Problem] = []
    docs = read_file(str(path), problems)
    try:
        expected = list(yaml.load_all(text, Loader=_Loader))  # PyYAML's constructor throughout
    except yaml.YAMLError:
        assert problems and not docs
        return
    assert not problems
    assert repr([d.data for d in docs]) == repr(expected)


@pytest.mark.parametrize(
    "scalar",
    [
        "",
        "a",
        "=",
        "~",
        "null",
        "Null",
        "true",
        "yes",
        "No",
        "on",
        "1",
        "-1",
        "+1",
        "0x1F",
        "0o7",
        "1_000",
        "1:20",
        ".5",
        "1e3",
        ".inf",
        "-.Inf",
        ".NaN",
        "2024-01-02",
        "2024-01-02 03:04:05",
        "<<",
        "!x",
        "&a",
        "*a",
        "-",
        "._",
    ],
)
def test_the_fast_resolver_gives_pyyamls_tags(scalar: str) -> None:
    import yaml

    from kverify.load.sources import _Loader

    loader = _Loader("")
    for implicit in ((True, False), (False, True), (False, False)):
        assert loader.resolve(yaml.ScalarNode, scalar, implicit) == yaml.resolver.Resolver.resolve(
            loader, yaml.ScalarNode, scalar, implicit
        )
    for kind in (yaml.SequenceNode, yaml.MappingNode):
        assert loader.resolve(kind, None, True) == yaml.resolver.Resolver.resolve(loader, kind, None, True)
    loader.dispose()


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=8),
    st.sampled_from(["yes", "off", "~", "=", "1e3", "0x10", "1:20", "2024-01-02", "<<", "*a", "&a", "!x"]),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.one_of(st.text(max_size=6), st.integers(), st.booleans()), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(value=_VALUES, flow=st.sampled_from([None, True, False]), quoted=st.sampled_from([None, '"', "'"]))
def test_yaml_build_matches_pyyaml_on_any_dumped_value(value: object, flow: bool | None, quoted: str | None) -> None:
    import yaml

    text = yaml.safe_dump(value, default_flow_style=flow, default_style=quoted, allow_unicode=True)
    fast, reference = _both_ways(text)
    assert repr(fast) == repr(reference)


# --- EndpointSlices: the plain-slice loop builds what the careful loop builds ---------------------

_ODD = st.one_of(st.none(), st.booleans(), st.integers(-1, 1), st.text(max_size=3), st.just([]), st.just({}))
#: Entries as the API server writes them (addresses, boolean conditions, nodeName, a Pod targetRef)...
_PLAIN_ENTRIES = st.fixed_dictionaries(
    {"addresses": st.sampled_from([["10.0.0.1"], ["192.168.1.255"], ["0.0.0.0"]])},
    optional={
        "conditions": st.fixed_dictionaries(
            {}, optional={k: st.sampled_from([True, False, None]) for k in ("ready", "serving", "terminating")}
        ),
        "nodeName": st.sampled_from(["node-a", None]),
        "targetRef": st.fixed_dictionaries(
            {"name": st.just("web-1")},
            optional={"kind": st.sampled_from(["Pod", "Node", None]), "namespace": st.sampled_from(["other", ""])},
        ),
        "hints": st.none(),
        "zone": st.just("zone-a"),
    },
)
#: ... and each with one field replaced by something odd, valid or not.
_ODD_ENTRIES = st.tuples(
    _PLAIN_ENTRIES,
    st.sampled_from(["addresses", "conditions", "nodeName", "targetRef", "hints"]),
    st.one_of(
        _ODD,
        st.sampled_from([["01.2.3.4"], ["256.0.0.1"], ["::1"], ["1.2.3.4\n5.6.7.8"], ["1.2.3.4", "1.2.3.5"], [7]]),
        st.fixed_dictionaries({"ready": _ODD}),
        st.fixed_dictionaries({"name": _ODD, "kind": st.just("Pod")}),
        st.just({"forZones": [{"name": "z"}]}),
    ),
).map(lambda entry_key_value: {**entry_key_value[0], entry_key_value[1]: entry_key_value[2]})


@settings(max_examples=300, deadline=None)
@given(entries=st.lists(st.one_of(_PLAIN_ENTRIES, _PLAIN_ENTRIES, _ODD_ENTRIES, _ODD), max_size=4))
def test_plain_endpoints_are_those_the_careful_loop_builds(entries: list[object]) -> None:
    """Whenever the plain loop accepts a slice, the careful loop accepts it too, with no problem and
    equal Endpoints; whenever it declines one, the careful loop decides (and reports)."""
    from kverify.errors import Problem
    from kverify.load.fields import Ctx
    from kverify.load.kinds import _endpoints_unvalidated
    from kverify.load.slice_columns import plain_columns as _plain_endpoints
    from kverify.model.cluster import EndpointPort

    ports = (EndpointPort(name="http", port=8080),)
    problems: list[Problem] = []
    warnings: list[Problem] = []
    ctx = Ctx("f.yaml", lambda path: 1, "EndpointSlice shop/web", problems, warnings)
    careful = _endpoints_unvalidated(ctx, {"endpoints": entries}, "shop", ports, v6=False)
    plain = _plain_endpoints(entries, "shop", ports)
    if plain is not None:
        assert not problems and not warnings
        assert plain == tuple(careful)
        assert [attrs.asdict(e, recurse=False) for e in plain] == [attrs.asdict(e, recurse=False) for e in careful]


def test_plain_endpoints_decline_an_address_that_hides_a_second_line() -> None:
    from kverify.load.slice_columns import plain_columns as _plain_endpoints

    assert _plain_endpoints([{"addresses": ["1.2.3.4\n5.6.7.8"]}], "shop", ()) is None
    assert _plain_endpoints([{"addresses": ["1.2.3.4"]}, {"addresses": ["1.2.3.04"]}], "shop", ()) is None
    assert _plain_endpoints([{"addresses": ["1.2.3.4"]}], "shop", ()) is not None


def test_an_error_in_a_big_json_slice_still_names_file_line_object_and_field(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The plain loop declines the slice; the careful loop reports the entry where it is."""
    import json

    from kverify.errors import InputError
    from kverify.load import load_manifests

    endpoints = [{"addresses": [f"10.1.{i // 256}.{i % 256}"], "nodeName": "node-a"} for i in range(1000)]
    endpoints[700]["addresses"] = ["10.1.2.300"]
    items = [
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {"name": "web-1", "namespace": "shop", "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": 8080}],
            "endpoints": endpoints,
        }
    ]
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=1))
    with pytest.raises(InputError) as caught:
        load_manifests([path])
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "10.1.2.300" in text)
    (problem,) = caught.value.problems
    assert str(problem) == (
        f"{path}:{line}: EndpointSlice shop/web-1: endpoints[700].addresses[0]: "
        'Invalid value: "10.1.2.300": must be a valid IPv4 address'
    )


@pytest.mark.parametrize(
    "text",
    [
        "10.0.0.0/8",
        "10.0.0.1/32",
        "0.0.0.0/0",
        "10.0.0.0/33",
        "10.0.0.0/08",
        "10.0.0.0/",
        "10.0.0.0",
        "10.0.0.0/255.0.0.0",
        "01.0.0.0/8",
        "10.0.0.0/8\n",
        "fd00::/64",
        "10.0.0.0/-1",
        "10.0.0.0/ 8",
        "10.0.0.0/\u0668",  # ARABIC-INDIC DIGIT EIGHT
        "\u0661\u0660.0.0.0/8",
        "",
    ],
)
def test_is_cidr_and_is_ip_accept_exactly_what_ipaddress_accepts(text: str) -> None:
    from kverify.load.fields import ip_version, is_cidr, is_ip

    def accepted(parse: object) -> bool:
        try:
            parse(text)  # type: ignore[operator]
        except ValueError:
            return False
        return True

    assert is_cidr(text) == accepted(lambda t: ipaddress.ip_network(t, strict=False))
    assert is_ip(text) == accepted(ipaddress.ip_address)
    if is_ip(text):
        assert ip_version(text) == ipaddress.ip_address(text).version


_DOTTED = st.lists(
    st.one_of(st.integers(0, 300).map(str), st.sampled_from(["", "00", "01", "1a", " 1", "\u0661", "0x1", "+1"])),
    min_size=1,
    max_size=5,
).map(".".join)


@settings(max_examples=1000, deadline=None)
@given(address=st.one_of(_DOTTED, st.text(max_size=16)), length=st.sampled_from(["", "/8", "/32", "/33", "/08", "/"]))
def test_is_ipv4_and_is_cidr_decide_ipv4_as_the_regexes_do(address: str, length: str) -> None:
    """is_ipv4 (the C library's inet_pton where it agrees) accepts what IPV4 matches; is_cidr's IPv4 branch
    what the regex of an IPv4 CIDR matches, and ipaddress the rest."""
    import re

    from kverify.load.fields import IPV4, IPV4_PATTERN, is_cidr, is_ipv4

    assert is_ipv4(address) == bool(IPV4.match(address))
    text = address + length
    if re.match(IPV4_PATTERN + r"/(?:3[0-2]|[12]?[0-9])\Z", text):
        assert is_cidr(text)
    else:
        try:
            ipaddress.ip_network(text, strict=False)
            valid = True
        except ValueError:
            valid = False
        assert is_cidr(text) == valid


def test_a_node_read_from_a_manifest_is_the_node_the_model_validates(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """node_from builds Nodes with the model's validators off: rebuilding with them on gives the same."""
    from kverify.load import load_manifests
    from kverify.model.cluster import Node

    path = tmp_path / "node.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n  labels: {topology.kubernetes.io/zone: z1, a: b}\n"
        "spec:\n  podCIDRs: [10.244.1.0/24, 'fd00:1::/64']\n  taints: [{key: k, effect: NoSchedule}]\n"
        "status:\n  addresses:\n  - {type: InternalIP, address: 172.16.0.1}\n"
        "  - {type: InternalIP, address: 'fd00::1'}\n"
        "  - {type: ExternalIP, address: 203.0.113.9}\n  - {type: Hostname, address: n1}\n"
    )
    (node,) = load_manifests([path]).nodes
    assert attrs.validators.get_disabled() is False  # switched back on
    assert Node(**attrs.asdict(node, recurse=False)) == node
    assert node.addresses == ("172.16.0.1", "fd00::1", "203.0.113.9")
    assert node.pod_cidrs == ("10.244.1.0/24", "fd00:1::/64")


def _manifest_corpus() -> list[Path]:
    root = Path(__file__).resolve().parent.parent
    folders = [
        root / "tests" / "data" / "manifests" / "valid",
        root / "tests" / "data" / "manifests" / "warnings",
        root / "tests" / "data" / "public",
        root / "kverify" / "data" / "specs" / "manifests",
    ]
    return sorted(f for folder in folders for f in folder.rglob("*") if f.suffix in (".yaml", ".yml", ".json"))


def test_services_read_from_manifests_are_the_services_the_model_validates() -> None:
    """Services (their ports and ingress entries) are built with the model's validators off: rebuilding
    each with them on gives the same value, for every Service of the manifest corpus."""
    from kverify.errors import InputError
    from kverify.load import load_manifests
    from kverify.model.cluster import LoadBalancerIngress, Service, ServicePort

    assert attrs.validators.get_disabled() is False
    checked = 0
    for path in _manifest_corpus():
        try:
            loaded = load_manifests([path])
        except InputError:
            continue  # a file the corpus keeps for its errors
        assert attrs.validators.get_disabled() is False  # switched back on
        for service in loaded.services:
            fields = attrs.asdict(service, recurse=False)
            fields["ports"] = [ServicePort(**attrs.asdict(p, recurse=False)) for p in service.ports]
            fields["load_balancer_ingress"] = [
                LoadBalancerIngress(**attrs.asdict(i, recurse=False)) for i in service.load_balancer_ingress
            ]
            assert Service(**fields) == service
            checked += 1
    assert checked > 50  # the corpus holds Services of every type, with and without status
