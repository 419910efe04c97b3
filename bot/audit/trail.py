"""Audit trail: one append-only row per recommendation given, in SQLite (sqlite-utils).

Each row holds the UTC time, the conversation id hashed with HMAC-SHA256 under a per-install salt, the
channel, the engine and knowledge versions, the de-identified case (the normalised case fields only;
ages over 89 are stored as 90, as in HIPAA Safe Harbor), the regimen codes offered (ranked) and excluded,
and the caution ids. Nothing the user typed is stored.

    RRMM_AUDIT_DB            the database (default var/audit.db)
    RRMM_AUDIT_SALT          the salt (16+ characters); when unset, a random salt kept in
    RRMM_AUDIT_SALT_FILE     (default: audit.salt next to the database), created once with mode 0600
    RRMM_AUDIT_BUSY_TIMEOUT  seconds a writer waits for another one (default 5)
    RRMM_AUDIT_NODE          name of this writer in the `node` column (default: the host name)

Append-only: this module has no update or delete, and triggers in the database refuse UPDATE and DELETE.
Concurrency: WAL journal, synchronous=FULL, busy timeout, and each row written in its own
BEGIN IMMEDIATE transaction, so any number of processes can write at once and none loses a row.

`record()` raises `AuditError`; it is called by the recommendation service only (bot/advice.py: every door that
gives a recommendation goes through it), with the case the engine used. `NOT_RECORDED_TEXT` is what the chat says
when the write failed.
`rows()` reads a date range, for `python -m bot audit` (bot/cli.py).
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import hmac
import io
import json
import logging
import os
import socket
import sqlite3
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Union

from sqlite_utils import Database

from bot import ENGINE_VERSION
from bot.privacy import redact_obj
from bot.secretfile import create_once, private_file

logger = logging.getLogger(__name__)

__all__ = ["AuditError", "record", "rows", "to_csv", "to_json", "write_export", "conversation_hash",
           "deidentify_case", "db_path", "TABLE", "NOT_RECORDED_TEXT", "parse_when"]

TABLE = "recommendations"
DEFAULT_DB = "var/audit.db"
MIN_SALT = 16
JSON_COLUMNS = ("clinical_case", "offered", "excluded", "cautions", "tiers")
COLUMNS = {"uid": str, "ts": str, "conversation": str, "channel": str, "node": str, "engine_version": str,
           "knowledge_version": str, "setting": str, "clinical_case": str, "offered": str, "excluded": str,
           "cautions": str, "knowledge_edition": str, "tiers": str}
ADDED_COLUMNS = ("knowledge_edition", "tiers")  # 2026-12 (edition recall): added to older databases when opened
NOT_NULL = {"uid", "ts", "conversation", "engine_version", "knowledge_version", "clinical_case", "offered",
            "excluded", "cautions"}
NOT_RECORDED_TEXT = ("Note: this recommendation could not be recorded in the audit log (the error has been "
                     "logged for the administrators).")


class AuditError(RuntimeError):
    """The audit log could not be written or read (the message says why; no patient data in it)."""


# =====================================================================================================
# Configuration
# =====================================================================================================
def db_path(env: Mapping[str, str] = os.environ) -> Path:
    return Path(env.get("RRMM_AUDIT_DB") or DEFAULT_DB)


def _busy_timeout(env: Mapping[str, str]) -> float:
    raw = env.get("RRMM_AUDIT_BUSY_TIMEOUT")
    try:
        value = float(raw) if raw else 5.0
    except ValueError:
        raise AuditError(f"RRMM_AUDIT_BUSY_TIMEOUT must be a number of seconds, not {raw!r}") from None
    if value <= 0:
        raise AuditError("RRMM_AUDIT_BUSY_TIMEOUT must be more than 0 seconds")
    return value


def _salt(path: Path, env: Mapping[str, str]) -> bytes:
    value = env.get("RRMM_AUDIT_SALT")
    if value:
        if len(value) < MIN_SALT:
            raise AuditError(f"RRMM_AUDIT_SALT must be at least {MIN_SALT} characters")
        return value.encode("utf-8")
    salt_file = Path(env.get("RRMM_AUDIT_SALT_FILE") or path.with_name("audit.salt"))
    return _salt_from_file(salt_file)


def _salt_from_file(salt_file: Path) -> bytes:
    """The install's salt, created once (mode 0600) by whichever process gets there first."""
    for _ in range(50):
        try:
            value = salt_file.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            value = None
        except (OSError, UnicodeDecodeError) as exc:
            raise AuditError(f"cannot read the audit salt file {salt_file}: {exc}") from None
        if value:
            if len(value) < MIN_SALT:
                raise AuditError(f"the audit salt file {salt_file} holds fewer than {MIN_SALT} characters")
            return value.encode("ascii")
        try:
            if create_once(salt_file):
                logger.info("audit: created the per-install salt file %s (mode 0600)", salt_file)
            else:  # another process created it first: the loop reads theirs
                logger.debug("audit: salt file %s was created by another process", salt_file)
        except OSError as exc:
            raise AuditError(f"cannot create the audit salt file {salt_file}: {exc.strerror}") from None
    raise AuditError(f"the audit salt file {salt_file} stays empty")  # pragma: no cover


def conversation_hash(conversation_id: str, salt: bytes) -> str:
    return hmac.new(salt, conversation_id.encode("utf-8"), hashlib.sha256).hexdigest()


# =====================================================================================================
# Writing
# =====================================================================================================
@contextlib.contextmanager
def _connect(path: Path, busy: float, readonly: bool = False) -> Iterator[Database]:
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=busy)
    else:
        private_file(path)  # 0600 in a 0700 directory when created here (and made 0600 when it was not)
        conn = sqlite3.connect(str(path), timeout=busy)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy * 1000)}")
        db = Database(conn, execute_plugins=False)
        if not readonly:
            db.enable_wal()
            conn.execute("PRAGMA synchronous = FULL")
        yield db
    finally:
        conn.close()


def _ensure_schema(db: Database) -> None:
    """Table, index and append-only triggers (inside the caller's write transaction: no race)."""
    table = db[TABLE]
    if not table.exists():
        table.create(COLUMNS, pk="id", not_null=NOT_NULL)
        # sqlite-utils made `id` INTEGER PRIMARY KEY (the rowid): rows are numbered in the order written.
        db.execute(f"CREATE INDEX IF NOT EXISTS {TABLE}_ts ON {TABLE}(ts)")
        db.execute(f"CREATE UNIQUE INDEX IF NOT EXISTS {TABLE}_uid ON {TABLE}(uid)")
    else:
        missing = [c for c in ADDED_COLUMNS if c not in table.columns_dict]
        for column in missing:  # ALTER TABLE ADD COLUMN: older rows keep NULL there (recall says so)
            db.execute(f"ALTER TABLE [{TABLE}] ADD COLUMN [{column}] TEXT")
    for op in ("UPDATE", "DELETE"):
        db.execute(f"CREATE TRIGGER IF NOT EXISTS {TABLE}_no_{op.lower()} BEFORE {op} ON {TABLE} "
                   f"BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: {op} refused'); END")


def _utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def deidentify_case(case: Any, region: Optional[str] = None) -> Dict[str, Any]:
    """The normalised case fields that are set (drug names as canonical ids), ages over 89 as 90, and the region
    whose labels the engine used (always written, so that a replay reads the case exactly as it was used)."""
    from bot.clinical.models import Case, parse_case

    if not isinstance(case, Case):
        case = parse_case(dict(case))
    data = json.loads(case.json(exclude_defaults=True))
    data["region"] = region or case.region
    if isinstance(data.get("age"), int) and data["age"] > 89:
        data["age"] = 90
    return redact_obj(data)  # defence in depth: the fields are enumerations, numbers and drug ids


def _row(conversation_id: str, channel: Optional[str], case: Any, rec: Dict[str, Any], salt: bytes,
         env: Mapping[str, str]) -> Dict[str, Any]:
    dump = lambda v: json.dumps(v, ensure_ascii=False, sort_keys=True)  # noqa: E731
    settings = (rec.get("assessment") or {}).get("settings") or []
    return {
        "uid": uuid.uuid4().hex,
        "ts": _utc_now(),
        "conversation": conversation_hash(str(conversation_id), salt),
        "channel": channel or None,
        "node": env.get("RRMM_AUDIT_NODE") or socket.gethostname(),
        "engine_version": str(rec.get("engine_version") or ENGINE_VERSION),
        "knowledge_version": str(rec.get("knowledge_version") or ""),
        "setting": ",".join(settings) or None,
        "clinical_case": dump(deidentify_case(case, (rec.get("assessment") or {}).get("region"))),
        "offered": dump([o["regimen"] for o in rec.get("options", [])]),
        "tiers": dump({o["regimen"]: o.get("tier") for o in rec.get("options", [])}),
        "knowledge_edition": str(rec.get("knowledge_edition") or "") or None,
        "excluded": dump([e["regimen"] for e in rec.get("excluded", [])]),
        "cautions": dump([c["id"] for c in rec.get("cautions", [])]),
    }


def record(conversation_id: str, channel: Optional[str], case: Any, rec: Dict[str, Any],
           env: Mapping[str, str] = os.environ) -> int:
    """Appends one row for a recommendation given; returns its id. Raises AuditError."""
    path = db_path(env)
    try:
        busy = _busy_timeout(env)
        row = _row(conversation_id, channel, case, rec, _salt(path, env), env)
        with _connect(path, busy) as db:
            db.conn.execute("BEGIN IMMEDIATE")  # the write lock first (waits up to the busy timeout)
            try:
                _ensure_schema(db)
                row_id = db[TABLE].insert(row).last_pk
                db.conn.execute("COMMIT")
            except BaseException:
                if db.conn.in_transaction:
                    db.conn.rollback()
                raise
        return int(row_id)
    except AuditError:
        raise
    except (sqlite3.Error, OSError) as exc:
        raise AuditError(f"cannot write the audit log {path}: {type(exc).__name__}: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - e.g. a case that no longer validates: still an audit failure
        raise AuditError(f"cannot build the audit row: {type(exc).__name__}: {exc}") from exc


# =====================================================================================================
# Reading and export
# =====================================================================================================
def parse_when(text: str, end_of_day: bool = False) -> str:
    """A date (YYYY-MM-DD) or ISO date-time as the UTC timestamp text stored in `ts`.

    A date alone means its start, or with end_of_day the start of the next day (an exclusive bound).
    A date-time without a zone is taken as UTC. Raises ValueError with a message.
    """
    raw = text.strip()
    try:
        if len(raw) == 10:
            when = datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=timezone.utc)
            if end_of_day:
                when += timedelta(days=1)
        else:
            when = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw)
            when = when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)
    except ValueError:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD) or an ISO date-time (YYYY-MM-DDTHH:MM[:SS][Z])") \
            from None
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def rows(since: Optional[str] = None, until: Optional[str] = None, path: Optional[Union[str, Path]] = None,
         limit: Optional[int] = None, env: Mapping[str, str] = os.environ) -> List[Dict[str, Any]]:
    """Rows with since <= ts < until (bounds from parse_when), oldest first; JSON columns decoded."""
    path = Path(path) if path else db_path(env)
    if not path.is_file():
        raise AuditError(f"no audit log at {path} (set RRMM_AUDIT_DB or pass --db)")
    where, params = [], []
    if since:
        where.append("ts >= ?")
        params.append(since)
    if until:
        where.append("ts < ?")
        params.append(until)
    sql = f"SELECT * FROM [{TABLE}]" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    try:
        with _connect(path, _busy_timeout(env), readonly=True) as db:
            if not db[TABLE].exists():
                return []
            out = [dict(r) for r in db.query(sql, params)]
    except sqlite3.Error as exc:
        raise AuditError(f"cannot read the audit log {path}: {exc}") from exc
    for r in out:
        for col in JSON_COLUMNS:
            r[col] = json.loads(r[col]) if r.get(col) else None
    return out


def write_export(path: Union[str, Path], text: str) -> None:
    """Writes an export to `path` with mode 0600 (an existing file is made 0600 first). Raises OSError."""
    private_file(Path(path), make_dirs=False)  # a directory that is not there is the caller's mistake
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)


def to_json(items: List[Dict[str, Any]]) -> str:
    return json.dumps(items, indent=2, ensure_ascii=False)


def to_csv(items: List[Dict[str, Any]]) -> str:
    """One line per row; the case and the code lists as JSON text in their cells."""
    buf = io.StringIO()
    fields = ["id", *COLUMNS]
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for r in items:
        writer.writerow({k: (json.dumps(r.get(k), ensure_ascii=False, sort_keys=True) if k in JSON_COLUMNS
                             else r.get(k)) for k in fields})
    return buf.getvalue()
