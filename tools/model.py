"""The trained Rasa model, cached by a hash of everything training reads.

    python -m tools.model          # path of an up-to-date model; trains first when missing or stale

The model is models/rrmm-<hash>.tar.gz where <hash> covers domain.yml, config.yml, data/ and the code
and knowledge that the NLU pipeline loads (bot/nlu, bot/clinical/knowledge). An unchanged second run skips
training; older models are removed after a successful training.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INPUTS = ("domain.yml", "config.yml", "data", "bot/nlu", "bot/clinical/knowledge", "bot/clinical/kb.py",
          "bot/plugins/components.py", "bot/privacy")
MODELS = ROOT / "models"


def training_hash() -> str:
    digest = hashlib.sha256()
    for item in INPUTS:
        path = ROOT / item
        files = (
            sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
            if path.is_dir()
            else [path]
        )
        for f in files:
            digest.update(str(f.relative_to(ROOT)).encode() + b"\0" + f.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def model_path() -> Path:
    return MODELS / f"rrmm-{training_hash()}.tar.gz"


def ensure_model(quiet: bool = False) -> Path:
    path = model_path()
    if path.exists():
        if not quiet:
            print(f"==> model up to date: {path.relative_to(ROOT)}", file=sys.stderr)
        return path
    MODELS.mkdir(exist_ok=True)
    print(f"==> training the Rasa model (training data changed or no model yet): {path.name}", file=sys.stderr)
    started = time.monotonic()
    rasa = Path(sys.executable).with_name("rasa")
    cmd = [str(rasa), "train", "--fixed-model-name", path.name[: -len(".tar.gz")], "--out", str(MODELS)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(cmd, cwd=ROOT, env=env)
    if result.returncode != 0 or not path.exists():
        raise SystemExit(f"error: rasa train failed (exit {result.returncode})")
    for old in MODELS.glob("rrmm-*.tar.gz"):
        if old != path:
            old.unlink()
    print(f"==> trained in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return path


if __name__ == "__main__":
    print(ensure_model())
