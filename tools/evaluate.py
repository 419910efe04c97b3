"""Case-field extraction accuracy on held-out one-shot descriptions (tests/eval/oneshot_cases.yml).

    python -m tools.evaluate [PATH]

Each description goes through the same path as a chat message (entity extraction, then intake) and the
case fields are compared with the expected ones. A case is exact when every expected field matches and
no other case field was filled.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Dict, List

import yaml

from bot import intake
from bot.nlu.extract import extract
from bot.plugins.patches import install

install("medspacy")  # the extractor needs medspacy's fixes (bot/plugins/patches.py)

DEFAULT = Path(__file__).resolve().parent.parent / "tests" / "eval" / "oneshot_cases.yml"
LISTS = ("refractory", "exposed", "unavailable", "high_risk_cytogenetics")


def case_fields(text: str) -> Dict[str, Any]:
    slots, _ = intake.apply_entities({}, extract(text), "describe_case", text)
    out = intake.case_dict(slots)
    if slots.get("refractory") == []:
        out["refractory"] = []
    return out


def _norm(field: str, value: Any) -> Any:
    if field in LISTS:
        return sorted(value or [])
    return value


def evaluate(path: Path = DEFAULT) -> Dict[str, Any]:
    cases = yaml.safe_load(path.read_text())["cases"]
    exact, field_hits, field_total, errors = 0, 0, 0, []
    for c in cases:
        got = case_fields(c["text"])
        expected = c["expected"]
        wrong = {}
        for field, value in expected.items():
            field_total += 1
            if _norm(field, got.get(field, [] if field in LISTS else None)) == _norm(field, value):
                field_hits += 1
            else:
                wrong[field] = {"expected": value, "got": got.get(field)}
        extra = {k: v for k, v in got.items() if k not in expected and v not in ([], None)}
        if not wrong and not extra:
            exact += 1
        else:
            errors.append({"text": c["text"], "wrong": wrong, "extra": extra})
    return {"cases": len(cases), "exact": exact, "exact_rate": exact / len(cases),
            "field_accuracy": field_hits / field_total, "errors": errors}


def main(argv: List[str] = sys.argv[1:]) -> int:
    result = evaluate(Path(argv[0]) if argv else DEFAULT)
    print(json.dumps({k: v for k, v in result.items() if k != "errors"}, indent=2))
    for e in result["errors"]:
        print(json.dumps(e, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
