"""Command line (contract.md): recommend (one case, or JSON lines of cases: bot/batch.py), regimen, trial; audit (the
audit trail, bot/audit).

A recommendation comes from the recommendation service (bot/advice.py) like at every other door: the case's region
when it names one, else the deployment's RRMM_REGION, else US. It is written to the audit trail only with `--audit`
(channel `cli`, or `batch`): a clinician trying the engine from a terminal is not giving a recommendation.

Exit status 0 on success, 2 on invalid input (a message naming the field, never a traceback).
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional

from bot.advice import SettingError, advise, deployment_region
from bot.clinical.kb import KnowledgeError, UnknownName, kb
from bot.clinical.models import CaseError
from bot.clinical.render import render_regimen, render_text, render_trial, wrap_for_terminal
from bot.clinical.short import render_short

from . import ENGINE_VERSION
from .console import EXIT_INPUT, fail


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 too; keep its usage line
        self.print_usage(sys.stderr)
        self.exit(EXIT_INPUT, f"error: {message}\n")


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
    except RecursionError:
        raise CaseError(["case file: the JSON is nested too deeply (a case is one flat object)"]) from None
    if not isinstance(data, dict):
        raise CaseError([f"case: expected a JSON object, got {type(data).__name__}"])
    return data


def main(argv: Optional[List[str]] = None) -> int:
    parser = _Parser(prog="python -m bot", description="RRMM guideline engine")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("recommend", help="recommendation for a case (JSON file, or - for standard input); "
                       "a .jsonl file (or --batch) holds one case per line and gets one recommendation per line")
    p.add_argument("case", help="path to the case JSON (or JSON lines), or - to read standard input")
    p.add_argument("--format", choices=("json", "text"), default="json")
    p.add_argument("--batch", action="store_true",
                   help="JSON lines in and out (automatic for .jsonl and .ndjson files); progress on a terminal")
    p.add_argument("--workers", type=int, metavar="N",
                   help="batch mode: answer with N processes (default: every core); the output keeps the input's order")
    p.add_argument("--details", action="store_true",
                   help="text format: the full answer (every option, caution, ruled-out regimen and the transplant "
                        "advice) instead of the short answer")
    p.add_argument("--all", action="store_true",
                   help="text format: the full answer with every excluded regimen and its reasons")
    p.add_argument("--audit", action="store_true",
                   help="write each recommendation to the audit trail (channel cli, or batch; $RRMM_AUDIT_DB)")
    p = sub.add_parser("regimen", help="what the knowledge base holds for a regimen code or alias")
    p.add_argument("code")
    p = sub.add_parser("trial", help="what the knowledge base holds for a trial id")
    p.add_argument("id")
    sub.add_parser("version", help="engine and knowledge versions")
    p = sub.add_parser("audit", help="the audit trail of recommendations given: list or export by date range")
    audit_sub = p.add_subparsers(dest="audit_command", required=True)
    for name, text in (("list", "print the rows as a table"), ("export", "write the rows as CSV or JSON")):
        a = audit_sub.add_parser(name, help=text)
        a.add_argument("--from", dest="since", metavar="DATE",
                       help="first day (YYYY-MM-DD) or UTC time (YYYY-MM-DDTHH:MM[:SS]) included")
        a.add_argument("--to", dest="until", metavar="DATE",
                       help="last day included (YYYY-MM-DD), or a UTC time excluded")
        a.add_argument("--db", help="the audit database (default: $RRMM_AUDIT_DB, else var/audit.db)")
        if name == "list":
            a.add_argument("--limit", type=int, help="at most this many rows (oldest first)")
        else:
            a.add_argument("--format", choices=("csv", "json"), default="csv")
            a.add_argument("--output", "-o", metavar="FILE", help="write here instead of standard output")
    a = audit_sub.add_parser("recall", help="replay every audited recommendation through the current knowledge and "
                             "list those that would now differ (options, tiers, exclusions), in words")
    a.add_argument("--since", metavar="EDITION",
                   help="only recommendations given under this knowledge edition (YYYY-MM) or a later one")
    a.add_argument("--knowledge", metavar="DIR",
                   help="a directory of knowledge files to compare with instead of the installed edition "
                        "(check a candidate edition before installing it)")
    a.add_argument("--format", choices=("text", "json"), default="text")
    a.add_argument("--db", help="the audit database (default: $RRMM_AUDIT_DB, else var/audit.db)")
    args = parser.parse_args(argv)
    if args.command == "audit":
        return _recall(args) if args.audit_command == "recall" else _audit(args)

    if args.command == "recommend":
        try:
            deployment_region()  # the deployment's region rule: a wrong RRMM_REGION stops here, named
        except SettingError as exc:
            return fail(str(exc))
    if args.command == "recommend" and (args.batch or args.case.lower().endswith((".jsonl", ".ndjson"))):
        if args.format != "json" or args.all or args.details:
            return fail("batch mode writes JSON lines: --format text, --details and --all are for one case")
        if args.workers is not None and args.workers < 1:
            return fail("--workers must be 1 or more")
        from bot import batch

        return batch.main(args.case, args.workers, audit=args.audit)
    try:
        if args.command == "recommend":
            from bot.batch import take_id  # the pass-through study id, as batch reads it (never audited)

            data = _read_case(args.case)
            case_id, id_problem = take_id(data)
            if id_problem:
                raise CaseError(id_problem)
            given = advise(data, channel="cli", audit=args.audit)
            rec = given.recommendation
            if args.format == "json":
                print(json.dumps(rec if case_id is None else {"id": case_id, **rec}, indent=2, ensure_ascii=False))
            else:
                text = render_text(rec, show_excluded=args.all) if args.details or args.all else render_short(rec)
                print(wrap_for_terminal(text) if sys.stdout.isatty() else text)
            if args.audit and not given.recorded:  # the answer stands; the operator is told, with exit status 1
                print(f"error: the recommendation was not recorded in the audit trail: {given.audit_error}",
                      file=sys.stderr)
                return 1
        elif args.command == "regimen":
            print(render_regimen(args.code))
        elif args.command == "trial":
            print(render_trial(args.id))
        elif args.command == "version":
            print(json.dumps({"engine_version": ENGINE_VERSION, "knowledge_version": kb().version}))
    except CaseError as exc:
        return fail("invalid case:\n  " + "\n  ".join(exc.problems))
    except UnknownName as exc:
        return fail(str(exc))
    except KnowledgeError as exc:
        print(f"error: knowledge base: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    return 0


def _audit(args: argparse.Namespace) -> int:
    from bot import audit

    try:
        since = audit.parse_when(args.since) if args.since else None
        until = audit.parse_when(args.until, end_of_day=True) if args.until else None
    except ValueError as exc:
        return fail(str(exc))
    if since and until and since >= until:
        return fail(f"--from {args.since} is not before --to {args.until}")
    limit = getattr(args, "limit", None)
    if limit is not None and limit < 1:
        return fail("--limit must be 1 or more")
    try:
        items = audit.rows(since, until, path=args.db, limit=limit)
    except audit.AuditError as exc:
        return fail(str(exc))
    try:
        if args.audit_command == "list":
            print(_audit_table(items))
            return 0
        text = audit.to_json(items) + "\n" if args.format == "json" else audit.to_csv(items)
        if args.output:
            try:
                audit.write_export(args.output, text)  # mode 0600: the service account's alone
            except OSError as exc:
                return fail(f"cannot write {args.output}: {exc.strerror}")
            print(f"{len(items)} row{'s' if len(items) != 1 else ''} written to {args.output}", file=sys.stderr)
        else:
            sys.stdout.write(text)
    except BrokenPipeError:
        return 0
    return 0


def _recall(args: argparse.Namespace) -> int:
    from bot import audit
    from bot.audit.recall import knowledge_from, recall, render_recall, valid_edition

    try:
        since = valid_edition(args.since) if args.since else None
        knowledge = knowledge_from(args.knowledge)
    except ValueError as exc:
        return fail(str(exc))
    except KnowledgeError as exc:
        return fail(f"knowledge: {exc}")
    try:
        region = deployment_region()  # the deployment's region rule (bot.advice), for rows recorded without one
    except SettingError as exc:
        return fail(str(exc))
    if region not in knowledge.regions:
        return fail(f"RRMM_REGION must be one of {', '.join(knowledge.regions)} (the regions of that knowledge)")
    try:
        report = recall(audit.rows(path=args.db), knowledge, since=since, default_region=region)
    except audit.AuditError as exc:
        return fail(str(exc))
    try:
        print(json.dumps(report.as_dict(), indent=2, ensure_ascii=False) if args.format == "json"
              else render_recall(report))
    except BrokenPipeError:
        return 0
    return 0


def _audit_table(items) -> str:
    head = ("id", "time (UTC)", "conversation", "channel", "setting", "offered", "excluded", "cautions")
    lines = [head]
    for r in items:
        offered = ", ".join(r["offered"][:4]) + (f" +{len(r['offered']) - 4}" if len(r["offered"]) > 4 else "")
        lines.append((str(r["id"]), r["ts"][:19].replace("T", " "), r["conversation"][:12], r["channel"] or "-",
                      r["setting"] or "-", offered or "-", str(len(r["excluded"])), str(len(r["cautions"]))))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in lines]
    out.append(f"{len(items)} recommendation{'s' if len(items) != 1 else ''}")
    return "\n".join(out)
