"""Rasa-side storage: the tracker store and lock store named by endpoints.yml, chosen by environment variables.

    tracker_store:
      type: bot.plugins.stores.RedactingSQLTrackerStore
      db: var/tracker.db                 # the embedded default (SQLite)
    lock_store:
      type: bot.plugins.stores.EnvLockStore

`RedactingSQLTrackerStore` is Rasa's SQL tracker store with two changes:
  * identifiers are redacted from every event before it is written (bot.privacy): the user's text, the
    NLU parse data, entities, slot values, metadata. The running turn keeps the raw text in memory, so
    the NLU and the actions still see the clinical facts; only the stored copy is redacted.
  * the database comes from the environment (RRMM_TRACKER_STORE=sqlite|postgresql, see `tracker_settings`),
    waits a bounded time for it at start, and turns storage errors into `StorageError` (logged, and
    surfaced to the user by bot.plugins.patches) instead of Rasa's endless retry loop.

`EnvLockStore` is Rasa's in-memory lock store, or with RRMM_LOCK_STORE=redis a Redis lock store whose
ticket operations are atomic (WATCH/MULTI), so that several Rasa servers sharing one Redis never process
two messages of one conversation at the same time.

Creating the tracker store also installs bot.plugins.patches in the Rasa server (log redaction, a clear
message when the action server is down or slow, storage errors surfaced). Variables: docs/deploy.md.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Mapping, Optional, Text

from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, LockStore, RedisLockStore
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore, create_engine_kwargs
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from bot.privacy import redact_obj
from bot.secretfile import private_file

from .errors import ConfigError, StorageError
from .timing import timed

logger = logging.getLogger(__name__)

__all__ = ["RedactingSQLTrackerStore", "EnvLockStore", "AtomicRedisLockStore", "StorageError", "ConfigError",
           "tracker_settings", "lock_settings", "redact_event"]

DEFAULT_SQLITE_DB = "var/tracker.db"
TRACKER_KINDS = ("sqlite", "postgresql")
LOCK_KINDS = ("memory", "redis")


# =====================================================================================================
# Settings from the environment
# =====================================================================================================
def _int(env: Mapping[str, str], name: str, default: int, low: int = 0, high: int = 65535) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, not {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, not {raw!r}") from None
    if not value > 0:
        raise ConfigError(f"{name} must be more than 0 seconds, not {raw!r}")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, choices, aliases: Dict[str, str]) -> str:
    raw = (env.get(name) or default).strip().lower()
    value = aliases.get(raw, raw)
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, not {raw!r}")
    return value


def tracker_settings(env: Mapping[str, str] = os.environ, default_db: str = DEFAULT_SQLITE_DB) -> Dict[str, Any]:
    """The tracker store's database from the environment (the password is returned, never logged).

    RRMM_TRACKER_STORE   sqlite (default) or postgresql
    sqlite:     RRMM_SQLITE_DB (default: `db` in endpoints.yml, var/tracker.db)
    postgresql: RRMM_DB_HOST (localhost), RRMM_DB_PORT (5432), RRMM_DB_NAME (rrmm), RRMM_DB_USER (rrmm),
                RRMM_DB_PASSWORD (none), RRMM_DB_SSLMODE (libpq sslmode, e.g. require; default: libpq's)
    both:       RRMM_DB_CONNECT_TIMEOUT: seconds to wait for the database at start (default 60)
    """
    kind = _choice(env, "RRMM_TRACKER_STORE", "sqlite", TRACKER_KINDS,
                   {"sql": "sqlite", "postgres": "postgresql", "pg": "postgresql", "embedded": "sqlite"})
    out: Dict[str, Any] = {"kind": kind, "connect_timeout": _float(env, "RRMM_DB_CONNECT_TIMEOUT", 60.0)}
    if kind == "sqlite":
        out["db"] = env.get("RRMM_SQLITE_DB") or default_db
        return out
    out.update(host=env.get("RRMM_DB_HOST") or "localhost", port=_int(env, "RRMM_DB_PORT", 5432, 1),
               db=env.get("RRMM_DB_NAME") or "rrmm", username=env.get("RRMM_DB_USER") or "rrmm",
               password=env.get("RRMM_DB_PASSWORD") or None, sslmode=env.get("RRMM_DB_SSLMODE") or None)
    return out


def lock_settings(env: Mapping[str, str] = os.environ) -> Dict[str, Any]:
    """The lock store from the environment.

    RRMM_LOCK_STORE   memory (default: one Rasa server) or redis (several Rasa servers)
    redis:  RRMM_REDIS_HOST (localhost), RRMM_REDIS_PORT (6379), RRMM_REDIS_DB (1), RRMM_REDIS_PASSWORD
            (none), RRMM_REDIS_KEY_PREFIX (rrmm; letters and digits), RRMM_REDIS_SSL (true/false, default false)
    """
    kind = _choice(env, "RRMM_LOCK_STORE", "memory", LOCK_KINDS, {"in_memory": "memory", "inmemory": "memory"})
    if kind == "memory":
        return {"kind": kind}
    prefix = env.get("RRMM_REDIS_KEY_PREFIX") or "rrmm"
    if not prefix.isalnum():
        raise ConfigError(f"RRMM_REDIS_KEY_PREFIX must be letters and digits only, not {prefix!r}")
    ssl = (env.get("RRMM_REDIS_SSL") or "false").strip().lower()
    if ssl not in ("true", "false", "1", "0", "yes", "no"):
        raise ConfigError(f"RRMM_REDIS_SSL must be true or false, not {ssl!r}")
    return {"kind": kind, "host": env.get("RRMM_REDIS_HOST") or "localhost",
            "port": _int(env, "RRMM_REDIS_PORT", 6379, 1), "db": _int(env, "RRMM_REDIS_DB", 1, 0, 1000),
            "password": env.get("RRMM_REDIS_PASSWORD") or None, "key_prefix": prefix,
            "use_ssl": ssl in ("true", "1", "yes")}


# =====================================================================================================
# Redaction of stored events
# =====================================================================================================
# Keys whose values are names chosen by the bot or Rasa (intent, action, slot and policy names, ids,
# timestamps): kept as they are. Every other string in an event is redacted.
_KEEP = frozenset({"event", "timestamp", "name", "policy", "confidence", "input_channel", "message_id",
                   "intent_name", "action_name", "action_text", "entity", "role", "group", "extractor",
                   "key", "type_name", "hide_rule_turn", "action_name_or_text"})
_KEEP_PARSE = frozenset({"intent", "intent_ranking", "response_selector", "message_id"})
# Message metadata kept in storage (docs/security.md): the only keys, each with the one shape it may have.
# Rasa's own (model_id, assistant_id) and where Slack answers (out_channel, thread_id, users, channel_type).
# Everything else a client sends (REST `metadata`, the web chat's, Teams attachments) is dropped before storage:
# a key such as "mrn" or "dob", a number, a nested object could carry an identifier that redaction of strings
# alone would not see. Strings kept are redacted too.
METADATA_KEYS: Dict[str, str] = {"model_id": "str", "assistant_id": "str", "out_channel": "str",
                                 "thread_id": "str", "channel_type": "str", "users": "list[str]"}


_SESSION_METADATA_SLOT = "session_started_metadata"  # Rasa copies the first message's metadata into this slot


def _short_id(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= 128


def stored_metadata(metadata: Any) -> Dict[str, Any]:
    """The allow-listed part of a message's metadata (METADATA_KEYS), strings redacted; {} for anything else."""
    if not isinstance(metadata, dict):
        return {}
    out: Dict[str, Any] = {}
    for key, shape in METADATA_KEYS.items():
        value = metadata.get(key)
        if shape == "str" and _short_id(value):
            out[key] = redact_obj(value)
        elif shape == "list[str]" and isinstance(value, list) and all(_short_id(v) for v in value):
            out[key] = [redact_obj(v) for v in value[:20]]
    return out


def redact_event(data: Dict[str, Any]) -> Dict[str, Any]:
    """A copy of one serialised Rasa event with identifiers redacted from all user-derived strings, and its
    metadata reduced to the allow-list (`stored_metadata`).

    The text of the bot's own messages ("bot" events) is kept verbatim: it is written from the knowledge base
    and never repeats what the user typed (actions/actions.py), and redacting it would alter the record of
    what was shown (journal and author names in trial citations look like person names).
    """
    if data.get("event") == "bot":
        out = dict(data)
        if "metadata" in out:
            out["metadata"] = stored_metadata(out["metadata"])
        return out
    out = {}
    for key, value in data.items():
        if key == "metadata" or (key == "value" and data.get("name") == _SESSION_METADATA_SLOT):
            out[key] = stored_metadata(value)
        elif key in _KEEP or not isinstance(value, (str, dict, list, tuple)):
            out[key] = value
        elif key == "parse_data" and isinstance(value, dict):
            out[key] = {k: (v if k in _KEEP_PARSE else stored_metadata(v) if k == "metadata" else redact_obj(v))
                        for k, v in value.items()}
        else:
            out[key] = redact_obj(value)
    return out


# =====================================================================================================
# Tracker store
# =====================================================================================================
_STORAGE_ERRORS: tuple = ()


def _storage_errors() -> tuple:
    global _STORAGE_ERRORS
    if not _STORAGE_ERRORS:
        import sqlalchemy.exc
        _STORAGE_ERRORS = (sqlalchemy.exc.SQLAlchemyError, OSError)
    return _STORAGE_ERRORS


def _describe(exc: BaseException) -> str:
    """The error's class and first line, without SQL parameters (they could hold stored text)."""
    orig = getattr(exc, "orig", None)
    first = str(orig if orig is not None else exc).strip().splitlines()
    return f"{type(exc).__name__}: {first[0] if first else ''}"[:300]


class RedactingSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store (SQLite or PostgreSQL by environment) storing redacted events only."""

    def __init__(self, domain=None, host: Optional[Text] = None, db: Text = DEFAULT_SQLITE_DB,
                 event_broker=None, install_hooks: bool = True, env: Optional[Mapping[str, str]] = None,
                 **kwargs: Any) -> None:
        try:
            self._setup(domain, db, event_broker, install_hooks, os.environ if env is None else env, kwargs)
        except (AttributeError, ImportError) as exc:
            # Rasa silently falls back to an in-memory store on these two: never lose conversations quietly.
            raise StorageError(f"tracker store could not start: {_describe(exc)}") from exc

    def _setup(self, domain, db, event_broker, install_hooks, env, kwargs) -> None:
        import sqlalchemy as sa
        import sqlalchemy.exc

        if install_hooks:
            from .patches import install
            install()
        settings = tracker_settings(env, default_db=db)
        self.settings_kind = settings["kind"]
        if settings["kind"] == "sqlite":
            path = Path(settings["db"])
            private_file(path)  # conversations: the service account alone reads them (0600 in a 0700 directory)
            url = sa.engine.url.URL.create("sqlite", database=str(path))
            engine_kwargs: Dict[str, Any] = {"connect_args": {"timeout": _float(env, "RRMM_SQLITE_BUSY_TIMEOUT", 5.0)}}
            where = f"SQLite at {path}"
        else:
            query = {"sslmode": settings["sslmode"]} if settings["sslmode"] else {}
            url = sa.engine.url.URL.create("postgresql", username=settings["username"], password=settings["password"],
                                           host=settings["host"], port=settings["port"], database=settings["db"],
                                           query=query)
            engine_kwargs = {**create_engine_kwargs(url), "pool_pre_ping": True}
            engine_kwargs.setdefault("connect_args", {})["connect_timeout"] = 10
            where = f"PostgreSQL database {settings['db']} at {settings['host']}:{settings['port']}"
        self.engine = sa.create_engine(url, **engine_kwargs)
        if settings["kind"] == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)

        deadline = time.monotonic() + settings["connect_timeout"]
        while True:
            try:
                self.Base.metadata.create_all(self.engine)
                with self.engine.connect() as conn:
                    conn.execute(sa.text("SELECT count(*) FROM events WHERE 1 = 0"))
                break
            except (sqlalchemy.exc.ProgrammingError, sqlalchemy.exc.IntegrityError) as exc:
                # Several Rasa servers starting together race to create the table: one wins, the others
                # find it on the next round.
                if time.monotonic() >= deadline:
                    raise StorageError(f"tracker store: cannot create the events table in the {where}: "
                                       f"{_describe(exc)}") from exc
                logger.info("tracker store: another server is creating the events table; checking again")
                time.sleep(0.5)
            except sqlalchemy.exc.OperationalError as exc:
                if time.monotonic() >= deadline:
                    raise StorageError(f"tracker store: cannot reach the {where} within "
                                       f"{settings['connect_timeout']:g} s: {_describe(exc)}") from exc
                logger.warning("tracker store: waiting for the %s (%s)", where, _describe(exc))
                time.sleep(min(2.0, max(0.1, deadline - time.monotonic())))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        TrackerStore.__init__(self, domain, event_broker, **kwargs)
        logger.info("tracker store: %s; identifiers are redacted before storage", where)

    # ---- errors are raised as StorageError, never swallowed -------------------------------------
    @contextlib.contextmanager
    def _errors(self, what: str, sender_id: Text) -> Iterator[None]:
        try:
            yield
        except StorageError:
            raise
        except _storage_errors() as exc:
            logger.error("tracker store: could not %s conversation %s: %s", what, sender_id, _describe(exc))
            raise StorageError(f"tracker store: could not {what} the conversation") from exc

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        with self._errors("read", sender_id), timed("tracker:retrieve"):
            return await super().retrieve(sender_id)

    async def retrieve_full_tracker(self, conversation_id: Text) -> Optional[DialogueStateTracker]:
        with self._errors("read", conversation_id):
            return await super().retrieve_full_tracker(conversation_id)

    async def keys(self):
        with self._errors("list", "(all)"):
            return await super().keys()

    async def _stream_new_events(self, event_broker, new_events, sender_id: Text) -> None:
        """An event broker, when one is configured, gets the redacted events too."""
        for event in new_events:
            event_broker.publish({"sender_id": sender_id, **redact_event(event.as_dict())})

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Append the tracker's new events, each redacted, in one transaction."""
        with self._errors("save", tracker.sender_id), timed("tracker:save"):
            await self.stream_events(tracker)
            with self.session_scope() as session:
                for event in self._additional_events(session, tracker):
                    data = redact_event(event.as_dict())
                    session.add(self.SQLEvent(
                        sender_id=tracker.sender_id, type_name=event.type_name, timestamp=data.get("timestamp"),
                        intent_name=((data.get("parse_data") or {}).get("intent") or {}).get(INTENT_NAME_KEY),
                        action_name=data.get("name"), data=json.dumps(data)))
                session.commit()
        logger.debug("tracker store: saved conversation %s", tracker.sender_id)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # WAL: readers (exports, the HTTP API) do not block the writer; synchronous stays FULL (durable commits).
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.close()


# =====================================================================================================
# Lock store
# =====================================================================================================
class AtomicRedisLockStore(RedisLockStore):
    """Rasa's Redis lock store with each read-modify-write of a ticket lock done atomically.

    Rasa's own store reads the lock, changes it and writes it back in three steps: two servers issuing
    tickets for one conversation at the same moment can both get the same ticket. Here each change runs in
    a WATCH/MULTI transaction on the lock's key and is retried when another server changed it first.
    """

    def _atomic(self, conversation_id: Text, change: Callable[[Any], Any]) -> Any:
        from rasa.core.lock import TicketLock

        key = self.key_prefix + conversation_id
        result: Dict[str, Any] = {}

        def txn(pipe) -> None:
            raw = pipe.get(key)
            lock = TicketLock.from_dict(json.loads(raw)) if raw else None
            pipe.multi()
            result["value"], new = change(lock)
            if new is None:
                if raw:
                    pipe.delete(key)
            else:
                pipe.set(key, new.dumps())

        self.red.transaction(txn, key)
        return result["value"]

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        from rasa.core.lock_store import LockError

        def change(lock):
            lock = lock or self.create_lock(conversation_id)
            return lock.issue_ticket(lock_lifetime), lock

        try:
            return self._atomic(conversation_id, change)
        except Exception as exc:  # noqa: BLE001 - Rasa's contract: LockError
            raise LockError(f"Error while acquiring lock. Error:\n{exc}") from exc

    def update_lock(self, conversation_id: Text) -> None:
        def change(lock):
            if lock is None:
                return None, None
            lock.remove_expired_tickets()
            return None, lock
        self._atomic(conversation_id, change)

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        def change(lock):
            if lock is None:
                return None, None
            lock.remove_ticket_for(ticket_number)
            return None, lock
        self._atomic(conversation_id, change)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        def change(lock):
            if lock is None:
                return None, None
            lock.remove_ticket_for(ticket_number)
            return None, (lock if lock.is_someone_waiting() else None)
        self._atomic(conversation_id, change)


class EnvLockStore(LockStore):
    """The lock store chosen by RRMM_LOCK_STORE: memory (one Rasa server) or redis (several)."""

    def __init__(self, endpoint_config=None, env: Optional[Mapping[str, str]] = None) -> None:
        settings = lock_settings(os.environ if env is None else env)
        if settings.pop("kind") == "redis":
            where = f"Redis at {settings['host']}:{settings['port']} db {settings['db']}"
            self.impl: LockStore = AtomicRedisLockStore(**settings)
            try:
                self.impl.red.ping()
            except Exception as exc:  # noqa: BLE001 - any connection problem stops the start
                raise StorageError(f"lock store: cannot reach {where}: {_describe(exc)}") from exc
        else:
            where = "in memory (one Rasa server only)"
            self.impl = InMemoryLockStore()
        super().__init__()
        logger.info("lock store: %s", where)

    # The ticket-lock algorithm of LockStore runs on these, so they all go to the chosen store.
    def get_lock(self, conversation_id):
        return self.impl.get_lock(conversation_id)

    def delete_lock(self, conversation_id):
        return self.impl.delete_lock(conversation_id)

    def save_lock(self, lock):
        return self.impl.save_lock(lock)

    def issue_ticket(self, conversation_id, lock_lifetime=LOCK_LIFETIME):
        return self.impl.issue_ticket(conversation_id, lock_lifetime)

    def update_lock(self, conversation_id):
        return self.impl.update_lock(conversation_id)

    def finish_serving(self, conversation_id, ticket_number):
        return self.impl.finish_serving(conversation_id, ticket_number)

    def cleanup(self, conversation_id, ticket_number):
        return self.impl.cleanup(conversation_id, ticket_number)
