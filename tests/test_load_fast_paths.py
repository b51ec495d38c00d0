"""The loader's fast paths give the same answers as the slow ones they replace."""

from __future__ import annotations

import ipaddress

import pytest

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
