"""Helpers for the security tests: raw HTTP requests (any method, body and headers, errors as statuses)."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any, Dict, Optional, Tuple

from tools.servers import API_TOKEN, rest_headers

__all__ = ["http", "rest", "api", "API_TOKEN", "rest_headers", "audit_count"]


def http(method: str, url: str, body: Optional[bytes] = None, headers: Optional[Dict[str, str]] = None,
         timeout: float = 60) -> Tuple[int, str, Dict[str, str]]:
    """(status, body text, headers) of one request; HTTP errors are returned, not raised."""
    req = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace"), dict(r.headers.items())
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace"), dict(e.headers.items())


def rest(base: str, payload: Any, headers: Optional[Dict[str, str]] = None, raw: Optional[bytes] = None,
         query: str = "") -> Tuple[int, Any]:
    """POST to the REST channel with the API token (unless `headers` says otherwise); (status, parsed body)."""
    body = raw if raw is not None else json.dumps(payload).encode()
    status, text, _ = http("POST", f"{base}/webhooks/rest/webhook{query}", body,
                           rest_headers() if headers is None else headers)
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def api(base: str, method: str, path: str, payload: Any = None, token: Optional[str] = API_TOKEN):
    """A request to Rasa's HTTP API with `token` as Rasa takes it (`?token=`; None: no token at all)."""
    url = f"{base}{path}" + (f"{'&' if '?' in path else '?'}token={token}" if token is not None else "")
    body = None if payload is None else json.dumps(payload).encode()
    status, text, _ = http(method, url, body, {"Content-Type": "application/json"})
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def audit_count() -> int:
    """Rows in the audit trail of the test servers ($RRMM_AUDIT_DB), read-only; 0 before the first one."""
    import os
    import sqlite3
    from pathlib import Path

    path = Path(os.environ["RRMM_AUDIT_DB"])
    if not path.exists():
        return 0
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return con.execute("SELECT count(*) FROM recommendations").fetchone()[0]
    except sqlite3.OperationalError:  # no table yet: no row either
        return 0
    finally:
        con.close()
