"""Command line (contract.md): recommend, regimen, trial.

Exit status 0 on success, 2 on invalid input (a message naming the field, never a traceback).
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional

from . import ENGINE_VERSION
from .engine import recommend
from .kb import KnowledgeError, UnknownName, kb
from .models import CaseError, parse_case
from .render import render_regimen, render_text, render_trial

EXIT_INPUT = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 too; keep its usage line
        self.print_usage(sys.stderr)
        self.exit(EXIT_INPUT, f"error: {message}\n")


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_INPUT


def _read_case(path: str):
    try:
        if path == "-":
            raw = sys.stdin.read()
        else:
            with open(path, encoding="utf-8") as fh:
                raw = fh.read()
    except OSError as exc:
        raise CaseError([f"case file: cannot read {path}: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise CaseError([f"case file: {path} is not UTF-8 text"]) from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CaseError([f"case file: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"]) from None
    return parse_case(data)


def main(argv: Optional[List[str]] = None) -> int:
    parser = _Parser(prog="python -m bot", description="RRMM guideline engine")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("recommend", help="recommendation for a case (JSON file, or - for standard input)")
    p.add_argument("case", help="path to the case JSON, or - to read standard input")
    p.add_argument("--format", choices=("json", "text"), default="json")
    p.add_argument("--all", action="store_true", help="text format: list every excluded regimen with its reasons")
    p = sub.add_parser("regimen", help="what the knowledge base holds for a regimen code or alias")
    p.add_argument("code")
    p = sub.add_parser("trial", help="what the knowledge base holds for a trial id")
    p.add_argument("id")
    sub.add_parser("version", help="engine and knowledge versions")
    args = parser.parse_args(argv)

    try:
        if args.command == "recommend":
            rec = recommend(_read_case(args.case))
            if args.format == "json":
                print(json.dumps(rec, indent=2, ensure_ascii=False))
            else:
                print(render_text(rec, show_excluded=args.all))
        elif args.command == "regimen":
            print(render_regimen(args.code))
        elif args.command == "trial":
            print(render_trial(args.id))
        elif args.command == "version":
            print(json.dumps({"engine_version": ENGINE_VERSION, "knowledge_version": kb().version}))
    except CaseError as exc:
        return _fail("invalid case:\n  " + "\n  ".join(exc.problems))
    except UnknownName as exc:
        return _fail(str(exc))
    except KnowledgeError as exc:
        print(f"error: knowledge base: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    return 0
