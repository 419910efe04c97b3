"""Cohort screening: `python -m bot recommend CASES.jsonl` (or `--batch`), one recommendation per line.

Input: JSON lines, one case object per line (contract.md's case fields); blank lines are skipped. Output, in the
input's order: one line per case, the recommendation as compact JSON, or for a line that is not a valid case
`{"line": N, "error": "invalid case", "problems": [...]}` (the same messages as for one case), also written to
standard error as `line N: ...`. Exit status 0 when every case was valid, 2 when any was not (the valid ones are
still answered), 1 when the knowledge base cannot load or, with `--audit`, a row could not be written.

Each case goes through the recommendation service (bot/advice.py): the deployment's region rule, one parse, the
engine; with `--audit` each recommendation given is written to the audit trail (channel `batch`, one conversation per
run), a case answered from the memo too.

On a terminal, progress goes to standard error about four times a second (cases done, percentage of the file,
cases per second, invalid lines); piped or redirected, nothing but the problems. The engine is deterministic, so a
case seen before in the same run (the same fields, in any order) is answered from a bounded memo instead of being
computed again: cohorts often hold the same clinical profile many times.

Imports: the standard library, bot.advice, bot.clinical, bot.console, and orjson when installed (much faster than
json; same output).
"""
from __future__ import annotations

import json
import sys
import time
import uuid
from collections import OrderedDict
from typing import IO, Any, Callable, Dict, Iterator, List, Optional, Tuple

from bot.advice import Advice, CaseError, advise

from .console import EXIT_INPUT, fail

try:  # optional speed-up; json gives the same bytes for these documents, only slower
    import orjson

    def _dumps(obj: Any) -> bytes:
        return orjson.dumps(obj)

    def _loads(raw: bytes) -> Any:
        return orjson.loads(raw)

    _DecodeError: Tuple[type, ...] = (orjson.JSONDecodeError,)
except ImportError:  # pragma: no cover - orjson is a dependency; kept for a trimmed install
    def _dumps(obj: Any) -> bytes:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def _loads(raw: bytes) -> Any:
        return json.loads(raw)

    _DecodeError = (json.JSONDecodeError, UnicodeDecodeError)

CHANNEL = "batch"
MEMO_SIZE = 4096  # distinct recent cases kept (each answer ~17 KB of JSON: about 70 MB at most)
FLUSH_EVERY = 512  # output lines written at once
PROGRESS_EVERY_S = 0.25


def _key(data: Dict[str, Any]) -> Optional[bytes]:
    """A canonical form of the raw case (sorted keys, lists as given), or None when it cannot be formed."""
    try:
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "replace")
    except (TypeError, ValueError, RecursionError):
        return None


class _Memo:
    """A small LRU of case key -> serialised recommendation."""

    def __init__(self, size: int) -> None:
        self.size, self.items = size, OrderedDict()  # type: Tuple[int, OrderedDict[bytes, bytes]]
        self.hits = 0

    def get(self, key: Optional[bytes]) -> Optional[bytes]:
        if key is None:
            return None
        out = self.items.get(key)
        if out is not None:
            self.items.move_to_end(key)
            self.hits += 1
        return out

    def put(self, key: Optional[bytes], value: bytes) -> None:
        if key is None or self.size <= 0:
            return
        self.items[key] = value
        if len(self.items) > self.size:
            self.items.popitem(last=False)


def _problems_of(raw: bytes) -> Tuple[Optional[Dict[str, Any]], List[str]]:
    try:
        data = _loads(raw)
    except _DecodeError as exc:
        return None, [f"not valid JSON ({str(exc).splitlines()[0]})"]
    except RecursionError:
        return None, ["the JSON is nested too deeply (a case is one flat object)"]
    if not isinstance(data, dict):
        return None, [f"case: expected a JSON object, got {type(data).__name__}"]
    return data, []


class Audit:
    """Writing each recommendation of a run to the audit trail (`--audit`): one conversation id for the run, and the
    rows that could not be written (each failure is logged by bot.advice)."""

    def __init__(self) -> None:
        self.conversation = f"batch-{uuid.uuid4().hex}"
        self.failed = 0
        self.error: Optional[str] = None

    def note(self, given: Advice) -> None:
        if not given.recorded:
            self.failed += 1
            self.error = given.audit_error


def answer_line(raw: bytes, memo: _Memo, audit: Optional[Audit] = None) -> Tuple[bytes, List[str]]:
    """(output line without newline, problems) for one input line. With `audit`, the memo is not used: every
    recommendation goes through the service, which writes its row."""
    data, problems = _problems_of(raw)
    if data is None:
        return b"", problems
    key = _key(data) if audit is None else None
    hit = memo.get(key)
    if hit is not None:
        return hit, []
    try:
        given = advise(data, channel=CHANNEL, conversation=audit and audit.conversation, audit=audit is not None)
    except CaseError as exc:
        return b"", list(exc.problems)
    if audit is not None:
        audit.note(given)
    out = _dumps(given.recommendation)
    memo.put(key, out)
    return out, []


def _lines(stream: IO[bytes]) -> Iterator[Tuple[int, bytes]]:
    for n, raw in enumerate(stream, 1):
        raw = raw.strip()
        if raw:
            yield n, raw


class _Progress:
    def __init__(self, err: IO[str], total_bytes: Optional[int], enabled: bool) -> None:
        self.err, self.total, self.enabled = err, total_bytes, enabled
        self.start = self.last = time.monotonic()

    def show(self, done: int, invalid: int, read_bytes: int, final: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not final and now - self.last < PROGRESS_EVERY_S):
            return
        self.last = now
        rate = done / max(now - self.start, 1e-9)
        share = f" ({min(100, read_bytes * 100 // self.total)}%)" if self.total else ""
        bad = f", {invalid:,} invalid" if invalid else ""
        self.err.write(f"\r{done:,} cases{share}, {rate:,.0f}/s{bad}" + ("\n" if final else ""))
        self.err.flush()


def run(stream: IO[bytes], out: IO[bytes], err: IO[str], *, total_bytes: Optional[int] = None,
        progress: Optional[bool] = None, memo_size: int = MEMO_SIZE,
        on_problem: Optional[Callable[[int, List[str]], None]] = None,
        audit: Optional[Audit] = None) -> Tuple[int, int]:
    """Answer every case of `stream` (each written to the audit trail with `audit`); returns (cases answered,
    invalid lines)."""
    memo = _Memo(memo_size)
    bar = _Progress(err, total_bytes, err.isatty() if progress is None else progress)
    buf: List[bytes] = []
    done = invalid = read_bytes = 0
    for n, raw in _lines(stream):
        read_bytes += len(raw) + 1
        line, problems = answer_line(raw, memo, audit)
        if problems:
            invalid += 1
            line = _dumps({"line": n, "error": "invalid case", "problems": problems})
            if on_problem:
                on_problem(n, problems)
            else:
                err.write(f"line {n}: " + "; ".join(problems) + "\n")
        else:
            done += 1
        buf.append(line)
        if len(buf) >= FLUSH_EVERY:
            out.write(b"\n".join(buf) + b"\n")
            buf.clear()
            bar.show(done, invalid, read_bytes)
    if buf:
        out.write(b"\n".join(buf) + b"\n")
    out.flush()
    bar.show(done, invalid, total_bytes or read_bytes, final=True)
    return done, invalid


def main(path: str, audit: bool = False) -> int:
    """The command line's batch path (bot/cli.py). Exit status as in the module docstring."""
    try:
        stream: IO[bytes] = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        return fail(f"cases file: cannot read {path}: {exc.strerror}")
    total = None
    if path != "-":
        try:
            import os

            total = os.fstat(stream.fileno()).st_size or None
        except OSError:
            total = None
    trail = Audit() if audit else None
    try:
        _, invalid = run(stream, sys.stdout.buffer, sys.stderr, total_bytes=total, audit=trail)
    except BrokenPipeError:
        return 0
    finally:
        if path != "-":
            stream.close()
    if trail is not None and trail.failed:
        print(f"error: {trail.failed:,} recommendation{'s' if trail.failed != 1 else ''} not recorded in the audit "
              f"trail ({trail.error})", file=sys.stderr)
    if invalid:
        print(f"error: {invalid:,} invalid line{'s' if invalid != 1 else ''} (answered with an error object)",
              file=sys.stderr)
        return EXIT_INPUT
    return 1 if trail is not None and trail.failed else 0
