"""Per-install secret files (the API and action tokens, the audit trail's salt): created once, mode 0600.

Imports: the standard library only (bot.plugins.tokens and bot.audit both call it).
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path


def create_once(path: Path) -> bool:
    """Writes a new random secret (64 hex digits and a newline) to `path` with mode 0600 unless the file exists by
    then. Atomic: written beside it and hard-linked into place, so a reader sees a complete file or none, and of
    two processes exactly one creates it. True when this process created it. Raises OSError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(secrets.token_hex(32) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)
