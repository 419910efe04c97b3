"""The action server: `python -m actions [rasa_sdk options]` (default: --actions actions).

The same as `rasa run actions --actions actions`, with identifiers redacted from every log line of the
process (bot.plugins.patches, installed before rasa_sdk configures its logging).
"""
from __future__ import annotations

import sys
from typing import List, Optional

from rasa_sdk.__main__ import main_from_args
from rasa_sdk.endpoint import create_argument_parser

from bot.plugins.patches import install


def main(argv: Optional[List[str]] = None) -> None:
    args = create_argument_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.actions is None:
        args.actions = "actions"
    install("logging")
    main_from_args(args)


if __name__ == "__main__":
    main()
