"""Renderings of results for people (text, Markdown) and machines (JSON, SARIF)."""
