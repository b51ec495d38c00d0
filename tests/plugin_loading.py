"""How a child pytest run loads kverify's plugin: through its ``pytest11`` entry point when kverify is
installed (as CI installs it), else by module name (a bare checkout on ``PYTHONPATH``)."""

from __future__ import annotations

from importlib.metadata import entry_points

PLUGIN = "kverify.testing.plugin"


def plugin_args() -> list[str]:
    """``[]`` when the entry point loads the plugin, else ``["-p", PLUGIN]`` (giving both would
    register the module twice, which pytest refuses)."""
    installed = any(ep.value == PLUGIN for ep in entry_points(group="pytest11"))
    return [] if installed else ["-p", PLUGIN]
