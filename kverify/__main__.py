"""``python -m kverify``."""

from kverify.cli import console_main

console_main()
