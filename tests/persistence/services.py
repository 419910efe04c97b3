"""Private PostgreSQL and Redis instances on loopback for the scale-out tests.

`ensure_installed()` installs the Debian packages `postgresql` and `redis-server` when their programs are
missing (apt-get update once, then apt-get install; as root, or with password-less sudo), and fails with
the command to run otherwise. `Postgres` and `Redis` each run one server on a free loopback port with its
data in a temporary directory, with a password, and stop it (and remove the directory) in `stop()`.
Every wait is bounded. Nothing here touches a system-wide instance: only the processes started here are
stopped, by their own data directory or process id.
"""
from __future__ import annotations

import glob
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import List, Optional

from tools.servers import free_port

APT_TIMEOUT = 900


class ServiceError(RuntimeError):
    pass


def _pg_bindir() -> Optional[Path]:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _redis_server() -> Optional[str]:
    return shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.access("/usr/bin/redis-server", os.X_OK) else None)


def _run(cmd: List[str], timeout: float, **kw) -> subprocess.CompletedProcess:
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        raise ServiceError(f"{cmd[0]} did not finish within {timeout:g} s: {' '.join(cmd)}") from None
    if res.returncode != 0:
        raise ServiceError(f"{' '.join(cmd)} failed ({res.returncode}):\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")
    return res


def ensure_installed() -> List[str]:
    """Installs what is missing of postgresql / redis-server; returns the packages installed."""
    missing = []
    if _pg_bindir() is None:
        missing.append("postgresql")
    if _redis_server() is None:
        missing.append("redis-server")
    if not missing:
        return []
    if os.geteuid() == 0:
        prefix: List[str] = []
    elif shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
        prefix = ["sudo", "-n"]
    else:
        raise ServiceError(f"the scale-out tests need {' and '.join(missing)}; install them with "
                           f"`sudo apt-get install {' '.join(missing)}` (or run the tests as root)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _run(prefix + ["apt-get", "update"], APT_TIMEOUT, env=env)
    _run(prefix + ["apt-get", "install", "-y", "--no-install-recommends", *missing], APT_TIMEOUT, env=env)
    if _pg_bindir() is None or _redis_server() is None:
        raise ServiceError(f"installed {missing} but cannot find initdb / redis-server")
    return missing


class Postgres:
    """One PostgreSQL server: superuser `rrmm` with a random password, database `rrmm_test`."""

    user = "rrmm"
    database = "rrmm_test"

    def __init__(self) -> None:
        self.bindir = _pg_bindir()
        if self.bindir is None:
            raise ServiceError("PostgreSQL is not installed")
        self.base = Path(tempfile.mkdtemp(prefix="rrmm-pg-"))
        self.data = self.base / "data"
        self.log = self.base / "postgres.log"
        self.port = free_port()
        self.password = secrets.token_hex(16)
        self.as_root = os.geteuid() == 0
        self.started = False

    def _as_owner(self, cmd: List[str]) -> List[str]:
        # PostgreSQL refuses to run as root: as root, run it as the `postgres` user of the Debian package.
        return (["runuser", "-u", "postgres", "--"] + cmd) if self.as_root else cmd

    def start(self) -> "Postgres":
        pwfile = self.base / "pw"
        pwfile.write_text(self.password + "\n")
        os.chmod(pwfile, 0o600)
        if self.as_root:
            shutil.chown(self.base, "postgres", "postgres")
            shutil.chown(pwfile, "postgres", "postgres")
        _run(self._as_owner([str(self.bindir / "initdb"), "-D", str(self.data), "-U", self.user, "-E", "UTF8",
                             "--auth=scram-sha-256", f"--pwfile={pwfile}", "--no-instructions"]), 120)
        pwfile.unlink()
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.base} -c max_connections=200"
        _run(self._as_owner([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
                             "-t", "60", "-o", opts, "start"]), 90)
        self.started = True
        self.psql(f"CREATE DATABASE {self.database}", db="postgres")
        return self

    def psql(self, sql: str, db: Optional[str] = None) -> str:
        env = {**os.environ, "PGPASSWORD": self.password}
        res = _run([str(self.bindir / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", self.user,
                    "-d", db or self.database, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql], 60, env=env)
        return res.stdout

    def env(self) -> dict:
        return {"RRMM_TRACKER_STORE": "postgresql", "RRMM_DB_HOST": "127.0.0.1", "RRMM_DB_PORT": str(self.port),
                "RRMM_DB_NAME": self.database, "RRMM_DB_USER": self.user, "RRMM_DB_PASSWORD": self.password}

    def stop(self) -> None:
        if self.started:
            try:
                _run(self._as_owner([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w",
                                     "-t", "60", "stop"]), 90)
            finally:
                self.started = False
        shutil.rmtree(self.base, ignore_errors=True)


class Redis:
    """One Redis server with a random password, no persistence."""

    def __init__(self) -> None:
        self.binary = _redis_server()
        if self.binary is None:
            raise ServiceError("Redis is not installed")
        self.base = Path(tempfile.mkdtemp(prefix="rrmm-redis-"))
        self.port = free_port()
        self.password = secrets.token_hex(16)
        self.proc: Optional[subprocess.Popen] = None

    def start(self) -> "Redis":
        conf = self.base / "redis.conf"
        conf.write_text(f"port {self.port}\nbind 127.0.0.1\nprotected-mode yes\nsave \"\"\nappendonly no\n"
                        f"dir {self.base}\nlogfile {self.base / 'redis.log'}\nrequirepass {self.password}\n"
                        f"daemonize no\n")
        os.chmod(conf, 0o600)
        self.proc = subprocess.Popen([self.binary, str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = self.client()
        deadline = time.monotonic() + 30
        while True:
            try:
                client.ping()
                return self
            except Exception:  # noqa: BLE001 - not up yet
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    log = self.base / "redis.log"
                    raise ServiceError("redis-server did not start:\n"
                                       + (log.read_text()[-2000:] if log.exists() else "")) from None
                time.sleep(0.1)

    def client(self, db: int = 1):
        import redis
        return redis.StrictRedis(host="127.0.0.1", port=self.port, password=self.password, db=db, socket_timeout=5)

    def env(self) -> dict:
        return {"RRMM_LOCK_STORE": "redis", "RRMM_REDIS_HOST": "127.0.0.1", "RRMM_REDIS_PORT": str(self.port),
                "RRMM_REDIS_PASSWORD": self.password}

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        shutil.rmtree(self.base, ignore_errors=True)
