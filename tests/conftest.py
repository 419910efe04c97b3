import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.engine import recommend  # noqa: E402
from bot.models import Recommendation, parse_case  # noqa: E402


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
