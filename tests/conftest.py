import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Tests never write into the project's var/: the audit trail of test recommendations goes to a temp dir.
import os as _os  # noqa: E402
import tempfile as _tempfile  # noqa: E402

_os.environ.setdefault("RRMM_AUDIT_DB", str(Path(_tempfile.mkdtemp(prefix="rrmm-test-audit-")) / "audit.db"))
_os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.plugins.patches import install  # noqa: E402

install("medspacy")  # the NLU extractor needs medspacy's fixes, as in the Rasa server

from bot.clinical.engine import recommend  # noqa: E402
from bot.clinical.models import Recommendation, parse_case  # noqa: E402


def make(**fields):
    """A recommendation for a case; prior_lines and relapse default to a first clinical relapse."""
    fields.setdefault("prior_lines", 1)
    fields.setdefault("relapse", "clinical")
    rec = recommend(parse_case(fields))
    Recommendation.parse_obj(rec)  # every output satisfies the contract model
    return rec


def codes(rec):
    return [o["regimen"] for o in rec["options"]]


def excluded(rec, code):
    return next(e for e in rec["excluded"] if e["regimen"] == code)


def caution(rec, cid):
    return next((c for c in rec["cautions"] if c["id"] == cid), None)


@pytest.fixture
def rec_of():
    return make


# ---- Rasa: the trained model and live servers on loopback (session-scoped, started once) -----------
from tools.servers import BIN, RASA_ENV, Servers, free_port, wait_http  # noqa: E402,F401  (re-exported for test modules)


@pytest.fixture(scope="session")
def rasa_model():
    from tools.model import ensure_model
    return ensure_model()


@pytest.fixture(scope="session")
def servers(rasa_model, tmp_path_factory):
    """One Rasa server as the scripts start it: the custom actions inside it (no action server)."""
    s = Servers(tmp_path_factory.mktemp("servers"), rasa_model)
    try:
        s.start_rasa()
        yield s
    finally:
        for name in list(s.procs):
            s.stop(name)


@pytest.fixture(scope="session")
def action_server(tmp_path_factory):
    """An action server alone (`python -m actions`, as scripts/actions starts it), for the tests that call it."""
    s = Servers(tmp_path_factory.mktemp("action-server"), None)
    try:
        s.start_actions()
        yield s
    finally:
        for name in list(s.procs):
            s.stop(name)
