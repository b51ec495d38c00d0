"""Hypothesis profiles: `default` for development, `ci` (selected by HYPOTHESIS_PROFILE=ci in .ci/run)
with more examples, no deadline (solver calls vary in time) and derandomized runs."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("default", deadline=None, max_examples=100)
settings.register_profile(
    "ci",
    deadline=None,
    max_examples=600,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
