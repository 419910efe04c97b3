"""Per-install secret files (the API and action tokens, the audit trail's salt): created once, mode 0600; and
the private files of the install (`private_file`: the databases, logs, exports) in private directories
(`private_dir`: var/ is 0700), so that only the service account reads what the assistant stores.

Imports: the standard library only (bot.plugins.tokens, bot.plugins.stores and bot.audit call it).
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path


def private_dir(path: Path) -> None:
    """Creates `path` (and its parents) when missing, the directories created with mode 0700; an existing
    directory is left as it is (the scripts make var/ 0700)."""
    missing = []
    path = Path(path)
    while not path.is_dir():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:  # another process made it: theirs
            continue
        os.chmod(directory, 0o700)  # mkdir's mode is filtered by the umask


def private_file(path: Path, make_dirs: bool = True) -> None:
    """Makes `path` a file only its owner reads (0600): created empty when missing (SQLite then writes into it,
    and gives its -wal and -shm files the same mode), made 0600 when it is readable by others; its missing
    directories are created 0700 unless `make_dirs` is false. Raises OSError."""
    path = Path(path)
    if make_dirs:
        private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        return
    except FileExistsError:
        pass
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if p.stat().st_mode & 0o077:
                os.chmod(p, 0o600)
        except FileNotFoundError:
            continue


def create_once(path: Path) -> bool:
    """Writes a new random secret (64 hex digits and a newline) to `path` with mode 0600 unless the file exists by
    then. Atomic: written beside it and hard-linked into place, so a reader sees a complete file or none, and of
    two processes exactly one creates it. True when this process created it. Raises OSError."""
    private_dir(path.parent)
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
