"""The ``kverify`` console script and ``python -m kverify``: begin reading a big input, then run the command.

Importing the command line (:mod:`kverify.cli`, its parsers and the model they import) takes a few
hundredths of a second; the read of a 200 MB snapshot it would begin after that begins here first,
from the words of the command line, in a thread (:mod:`kverify.load.prefetch`, which imports nothing
else of kverify's). The command then takes the bytes where its loader reads the file.
"""

from __future__ import annotations

import sys
from typing import NoReturn

from kverify.load.prefetch import prefetch_command_input


def main() -> NoReturn:
    """Run the command named by ``sys.argv`` (see :func:`kverify.cli.console_main`)."""
    prefetch_command_input(sys.argv[1:])
    from kverify.cli import console_main

    console_main()
