"""What the command line (bot/cli.py) and its batch path (bot/batch.py) share: the exit status for invalid input and
how an error is printed (one line on standard error, never a traceback).

Layer: the standard library only.
"""
from __future__ import annotations

import sys

EXIT_INPUT = 2  # invalid input or setting (argparse exits 2 too)


def fail(message: str) -> int:
    """Prints `error: <message>` on standard error and returns EXIT_INPUT."""
    # the message may quote the input, which may hold lone surrogates that no encoder writes: escape them
    print(f"error: {message}".encode("utf-8", "backslashreplace").decode("utf-8"), file=sys.stderr)
    return EXIT_INPUT
