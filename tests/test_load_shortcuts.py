"""The loader's shortcuts for objects that need nothing more give what the full way gives."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kverify.errors import Problem
from kverify.load import allocate as allocate_module
from kverify.load.fields import Ctx
from kverify.load.services import service_from
from tests.test_plain_service import _ANNOTATIONS, _SPECS, _STATUS, _service


def _drafts(specs: list[Any], annotations: Any, status: Any) -> tuple[list[Any], list[Problem], list[Problem]]:
    problems: list[Problem] = []
    warnings: list[Problem] = []
    drafts = []
    for i, spec in enumerate(specs):
        service = _service(spec, annotations, status, True)
        service["metadata"]["name"] = f"web-{i}"
        ctx = Ctx("svc.yaml", lambda path, i=i: i + 1, f"Service shop/web-{i}", problems, warnings)
        kwargs = service_from(ctx, service)
        if isinstance(kwargs, dict):
            drafts.append((ctx, f"shop/web-{i}", kwargs, kwargs.pop("pending")))
    return drafts, problems, warnings


def _allocated(drafts: list[Any], cidrs: tuple[str, ...]) -> tuple[list[dict[str, Any]], list[Problem], list[Problem]]:
    drafts = copy.deepcopy(drafts)  # the problem lists are shared by every ctx: copied once, together
    problems, warnings = drafts[0][0].problems, drafts[0][0].warnings
    before, warned = len(problems), len(warnings)
    allocate_module.allocate(drafts, cidrs)
    return [kwargs for _, _, kwargs, _ in drafts], problems[before:], warnings[warned:]


@settings(max_examples=400, deadline=None)
@given(
    specs=st.lists(_SPECS, min_size=1, max_size=3),
    annotations=_ANNOTATIONS,
    status=_STATUS,
    cidrs=st.sampled_from([(), ("10.96.0.0/12",), ("10.96.0.0/12", "fd00:10:96::/112"), ("fd00:10:96::/112",)]),
)
def test_services_with_nothing_pending_are_allocated_as_the_full_way_allocates_them(
    specs: list[Any], annotations: Any, status: Any, cidrs: tuple[str, ...]
) -> None:
    drafts, _, _ = _drafts(specs, annotations, status)
    if not drafts:
        return
    shortcut = _allocated(drafts, cidrs)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(allocate_module, "_nothing_pending", lambda *args: False)
        full = _allocated(drafts, cidrs)
    assert shortcut == full
