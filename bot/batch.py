"""Cohort screening: `python -m bot recommend CASES.jsonl` (or `--batch`), one output line per input line.

Input: JSON lines, one case object per line (docs/contract.md's case fields), each with an optional `id`: a study
or row id (at most 64 characters) passed back on its output row, never a patient identifier, never written to the
audit trail. Output, in the input's order, one line for every input line (blank ones included, so output line N
answers input line N): the recommendation as compact JSON with `line` (and `id`) first, or, for a line that is
blank, not JSON or not a valid case, an error row in the one error format (bot/problems.py: `type`, `title`,
`status`, `detail`, `errors` [{field, rule}], with `line`, `id` and the older `error` and `problems`), also written
to standard error as `line N: ...`. Exit status 0 when every line was a valid case, 2 when any was not (the valid
ones are still answered), 1 when the knowledge base cannot load.

`--workers N` (default: every core the process may use) answers chunks of lines in N processes; the output keeps
the input's order. On a terminal, a tqdm progress bar on standard error shows the share of the file, cases per
second and the invalid lines; the problems are written above the bar (tqdm.write), never onto it. Piped or
redirected, nothing but the problems. The engine is deterministic, so a case seen before by the same process (the
same fields, in any order; the `id` aside) is answered from a bounded memo: cohorts often hold the same clinical
profile many times.

Each case goes through the recommendation service (bot/advice.py): the deployment's region rule, one parse, the
engine; with `--audit` each recommendation given is written to the audit trail (channel `batch`, one conversation per
run; never the `id`), answered in one process (the rows' failures are counted there), a case answered from the memo
too.

Imports: the standard library, bot.advice, bot.console, bot.problems, tqdm (a dependency of Rasa, named in
pyproject), and orjson when installed (much faster than json; same output).
"""
from __future__ import annotations

import json
import os
import sys
import uuid
from collections import OrderedDict
from itertools import islice
from typing import IO, Any, Callable, Dict, Iterator, List, Optional, Tuple

from tqdm import tqdm

from bot import problems as problem_format
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
CHUNK = 256  # lines answered together (by one worker) and written at once
PROGRESS_EVERY_S = 0.25
MAX_ID_CHARS = 64
BATCH_ERROR = "invalid case"  # the older format's `error` of every error row, kept for one edition (2026-12)


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


Answer = Tuple[bytes, Optional[List[str]]]  # (output line, the problems when it is an error row)


def _error_row(n: int, code: str, messages: List[str], case_id: Optional[str], status: int, title: str,
               rules: Optional[List[Dict[str, str]]] = None) -> Answer:
    row: Dict[str, Any] = {"line": n}
    if case_id is not None:
        row["id"] = case_id
    row.update(problem_format.problem(status, code, "; ".join(messages), rules or problem_format.field_rules(messages),
                                      title=title, problems=messages))
    row["error"] = BATCH_ERROR
    return _dumps(row), messages


def _unreadable(n: int, message: str) -> Answer:
    return _error_row(n, "line_unreadable", [message], None, 400, "Unreadable line", [{"field": "line",
                                                                                        "rule": message}])


def _read(raw: bytes) -> Tuple[Any, Optional[str]]:
    """(the JSON value of a line, or None with the reason it cannot be read)."""
    if not raw:
        return None, "blank line: expected a case (one JSON object)"
    try:
        data = _loads(raw)
    except _DecodeError as exc:
        return None, f"not valid JSON ({str(exc).splitlines()[0]})"
    except RecursionError:
        return None, "the JSON is nested too deeply (a case is one flat object)"
    if not isinstance(data, dict):
        return None, f"case: expected a JSON object, got {type(data).__name__}"
    return data, None


def take_id(data: Dict[str, object]) -> Tuple[Optional[str], List[str]]:
    """Takes the optional pass-through `id` out of a case object: (the id or None, the problem with it if any)."""
    case_id = data.pop("id", None)
    if case_id is not None and not (isinstance(case_id, str) and 0 < len(case_id) <= MAX_ID_CHARS):
        return None, [f"id: must be text of 1 to {MAX_ID_CHARS} characters (a study or row id, never a patient "
                      "identifier)"]
    return case_id, []


def answer_line(raw: bytes, memo: _Memo, n: int = 1, audit: Optional[Audit] = None) -> Answer:
    """(output line without newline, None) for line `n` holding a valid case, else (its error row, the problems).
    With `audit`, the memo is not used: every recommendation goes through the service, which writes its row."""
    data, unreadable = _read(raw.strip())
    if unreadable:
        return _unreadable(n, unreadable)
    case_id, id_problem = take_id(data)
    prefix = b'{"line":' + str(n).encode() + (b',"id":' + _dumps(case_id) if case_id is not None else b"") + b","
    key = _key(data) if audit is None else None
    hit = None if id_problem else memo.get(key)
    if hit is None:
        try:
            given = advise(data, channel=CHANNEL, conversation=audit and audit.conversation, audit=audit is not None
                           and not id_problem)
        except CaseError as exc:
            messages = id_problem + list(exc.problems)
            return _error_row(n, problem_format.INVALID_CASE, messages, case_id, 422, "Invalid case")
        if id_problem:
            return _error_row(n, problem_format.INVALID_CASE, id_problem, None, 422, "Invalid case")
        if audit is not None:
            audit.note(given)
        hit = _dumps(given.recommendation)
        memo.put(key, hit)
    return prefix + hit[1:], None


# ---- workers: each process answers whole chunks with its own memo --------------------------------------------------
_WORKER_MEMO: Optional[_Memo] = None


def _start_worker(memo_size: int) -> None:
    global _WORKER_MEMO
    _WORKER_MEMO = _Memo(memo_size)


def _answer_chunk(chunk: List[Tuple[int, bytes]], audit: Optional[Audit] = None
                  ) -> List[Tuple[int, bytes, Optional[List[str]]]]:
    memo = _WORKER_MEMO if _WORKER_MEMO is not None else _Memo(0)
    return [(n, *answer_line(raw, memo, n, audit)) for n, raw in chunk]


def _chunks(stream: IO[bytes]) -> Iterator[List[Tuple[int, bytes]]]:
    numbered = enumerate(stream, 1)
    while True:
        chunk = list(islice(numbered, CHUNK))
        if not chunk:
            return
        yield chunk


def default_workers() -> int:
    """Every core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _answers(stream: IO[bytes], workers: int, memo_size: int, audit: Optional[Audit] = None
             ) -> Iterator[List[Tuple[int, bytes, Optional[List[str]]]]]:
    """The answers chunk by chunk, in the input's order (in this process when auditing: see the module docstring)."""
    if workers <= 1 or audit is not None:
        _start_worker(memo_size)
        yield from (_answer_chunk(c, audit) for c in _chunks(stream))
        return
    import multiprocessing

    from bot.clinical.kb import kb

    kb()  # loaded once here: forked workers share it
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with multiprocessing.get_context(method).Pool(workers, _start_worker, (memo_size,)) as pool:
        yield from pool.imap(_answer_chunk, _chunks(stream), chunksize=1)


def run(stream: IO[bytes], out: IO[bytes], err: IO[str], *, total_bytes: Optional[int] = None,
        progress: Optional[bool] = None, memo_size: int = MEMO_SIZE, workers: int = 1,
        on_problem: Optional[Callable[[int, List[str]], None]] = None,
        audit: Optional[Audit] = None) -> Tuple[int, int]:
    """Answer every line of `stream`; returns (cases answered, lines answered with an error row).

    Progress (a tqdm bar on `err`, shown on a terminal or with `progress=True`): the share of the file read when its
    size is known (`total_bytes`), else the lines answered; the problems go above the bar."""
    enabled = err.isatty() if progress is None else progress
    by_bytes = bool(total_bytes)
    bar = tqdm(total=total_bytes if by_bytes else None, file=err, disable=not enabled, desc="cases",
               unit="B" if by_bytes else " lines", unit_scale=by_bytes, unit_divisor=1024,
               mininterval=PROGRESS_EVERY_S, dynamic_ncols=True)
    done = invalid = 0
    try:
        for chunk in _answers(stream, workers, memo_size, audit):
            for n, _, problems in chunk:
                if problems is None:
                    done += 1
                    continue
                invalid += 1
                if on_problem:
                    on_problem(n, problems)
                elif enabled:
                    bar.write(f"line {n}: " + "; ".join(problems), file=err)  # above the bar, never onto it
                else:
                    err.write(f"line {n}: " + "; ".join(problems) + "\n")
            out.write(b"\n".join(line for _, line, _ in chunk) + b"\n")
            bar.set_postfix_str(f"{done:,} answered" + (f", {invalid:,} invalid" if invalid else ""), refresh=False)
            bar.update(max(0, _position(stream, total_bytes) - bar.n) if by_bytes else len(chunk))
        out.flush()
    finally:
        bar.close()
    return done, invalid


def _position(stream: IO[bytes], total: int) -> int:
    """How much of the file has been read (the workers read a little ahead of the answers written)."""
    try:
        return min(stream.tell(), total)
    except (OSError, ValueError):
        return 0


def main(path: str, workers: Optional[int] = None, audit: bool = False) -> int:
    """The command line's batch path (bot/cli.py). Exit status as in the module docstring."""
    try:
        stream: IO[bytes] = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        return fail(f"cases file: cannot read {path}: {exc.strerror}")
    total = None
    if path != "-":
        try:
            total = os.fstat(stream.fileno()).st_size or None
        except OSError:
            total = None
    trail = Audit() if audit else None
    try:
        _, invalid = run(stream, sys.stdout.buffer, sys.stderr, total_bytes=total,
                         workers=workers or default_workers(), audit=trail)
    except BrokenPipeError:
        return 0
    finally:
        if path != "-":
            stream.close()
    if trail is not None and trail.failed:
        print(f"error: {trail.failed:,} recommendation{'s' if trail.failed != 1 else ''} not recorded in the audit "
              f"trail ({trail.error})", file=sys.stderr)
    if invalid:
        print(f"error: {invalid:,} invalid line{'s' if invalid != 1 else ''} (answered with an error row)",
              file=sys.stderr)
        return EXIT_INPUT
    return 1 if trail is not None and trail.failed else 0
