"""How well the conversation reads clinicians: one-shot descriptions, multi-turn conversations and openers.

    python -m tools.evaluate                 # every set: one-shot (old and dev), conversations, openers
    python -m tools.evaluate --errors        # ... and every miss
    python -m tools.evaluate --no-model      # one-shot sets only, read as describe_case (no trained model needed)
    python -m tools.evaluate PATH.yml        # one set (its kind from its top-level key)
    python -m tools.evaluate tests/eval/dev/corpus   # every set of a directory (the evaluation corpus)

Every message goes through the chat path: the trained Rasa model's NLU (intent, the override of
`bot.plugins.components`, the entities of `bot.nlu`), then `bot.intake` exactly as the actions call it
(`read_message`, `next_prompt`, `new_case_slots`): the next question is the first missing field, an answer that
cannot be read is asked again with an example, a correction changes the case and brings the recommendation
again, "new case" clears it. The Rasa policies (rules) are checked by the end-to-end stories of
tests/e2e/test_conversations.yml; here the rules' decisions are mirrored in `Conversation.turn`.

Scores (per set):
- one-shot: fields exact = case fields right / the union of the fields expected and the fields read (a field read
  that was not expected counts as wrong); cases whole = every field right and the assistant's next move right
  (the field it asks for, or the recommendation in the same turn).
- conversations: turns right (what the assistant asks, re-asks, recommends, clears, and which fields a correction
  changes) and conversations whole (every turn right and the final case exact), plus the final cases' fields.
- corpus (a `cases:` set whose cases have a `style`, e.g. tests/eval/dev/corpus/*.yml): by style and in total,
  fields right (expected fields read with their value), cases whole (every field right, nothing read that was
  not said, and the next move right: the field it asks for, `asks`, or the recommendation), and MISREADS apart:
  a field read with a value other than the expected one, or read where nothing was said (a value present but
  wrong); a question asked where a field was expected is a miss, not a misread. A case with `messages:` (several
  messages for one case) goes through the conversation message by message; its last move is scored.
- openers: the assistant's first move (starts the intake with its first question, answers or redirects, calls out
  of scope, clears for a new case).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import yaml

from bot import intake
from bot.nlu.extract import extract
from bot.plugins.patches import install

install("medspacy")  # the extractor needs medspacy's fixes (bot/plugins/patches.py)

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "tests" / "eval"
DEFAULT = EVAL / "oneshot_cases.yml"
CORPUS = EVAL / "dev" / "corpus"
DEV = {"oneshot": EVAL / "dev" / "oneshot_dev.yml", "conversations": EVAL / "dev" / "conversations_dev.yml",
       "openers": EVAL / "dev" / "openers_dev.yml"}
LISTS = ("refractory", "exposed", "unavailable", "high_risk_cytogenetics")
TARGETS = {"fields": 0.95, "cases": 0.85}

Parse = Callable[[str], Tuple[Optional[str], List[Dict[str, Any]]]]


def describe_case_parser(text: str) -> Tuple[Optional[str], List[Dict[str, Any]]]:
    """Without a model: every message is a case description (the extractor alone)."""
    return "describe_case", extract(text)


class ModelParser:
    """The trained Rasa model's NLU (intent after the override, entities), loaded once."""

    def __init__(self, model_path: Optional[Path] = None) -> None:
        import logging

        from rasa.core.agent import Agent
        from rasa.utils.log_utils import configure_structlog

        from tools.model import ensure_model

        configure_structlog(logging.WARNING)  # Rasa logs every parse at debug level otherwise
        for name in ("rasa", "tensorflow", "absl"):
            logging.getLogger(name).setLevel(logging.WARNING)

        self.agent = Agent.load(str(model_path or ensure_model(quiet=True)))
        self.path = model_path
        self.loop = asyncio.new_event_loop()
        self.cache: Dict[str, Tuple[Optional[str], List[Dict[str, Any]]]] = {}

    def __call__(self, text: str) -> Tuple[Optional[str], List[Dict[str, Any]]]:
        if text not in self.cache:
            out = self.loop.run_until_complete(self.agent.parse_message(text))
            self.cache[text] = ((out.get("intent") or {}).get("name"), out.get("entities") or [])
        return self.cache[text]


# ---- the case as read --------------------------------------------------------------------------------------------
def case_of(slots: Dict[str, Any]) -> Dict[str, Any]:
    """The case fields the intake holds (contract names; an explicit "refractory: none" kept as [])."""
    out = {k: slots[k] for k in intake.INTAKE_FIELDS if slots.get(k) not in (None, [])}
    if slots.get("refractory") == []:
        out["refractory"] = []
    return out


def _norm(name: str, value: Any) -> Any:
    if name in LISTS:
        return sorted(value) if value is not None else None
    return value


def compare(expected: Dict[str, Any], got: Dict[str, Any], lists_default_empty: bool = False
            ) -> Tuple[int, int, Dict[str, Any]]:
    """(fields right, fields counted, the wrong ones) over the union of expected and read fields; an empty list
    read where nothing was expected is no field (except refractory, where [] states "none"). With
    `lists_default_empty` (the convention of tests/eval/oneshot_cases.yml) a list not read counts as empty."""
    names = set(expected) | {k for k, v in got.items() if v != [] or k == "refractory"}
    wrong = {}
    for name in sorted(names):
        have = got.get(name, [] if lists_default_empty and name in LISTS else None)
        if _norm(name, expected.get(name)) != _norm(name, have):
            wrong[name] = {"expected": expected.get(name), "got": got.get(name)}
    return len(names) - len(wrong), len(names), wrong


def case_fields(text: str) -> Dict[str, Any]:
    """The case one message describes, read as a case description (no model)."""
    return case_of(intake.read_message({}, extract(text), "describe_case", text).updates)


# ---- one conversation, as the assistant runs it ------------------------------------------------------------------
@dataclass
class Move:
    asks: Optional[str] = None  # the field asked next (requested_slot)
    prompt: Optional[str] = None  # its variant: intro, example, triple_class, double
    recommendation: bool = False
    new_case: bool = False
    reply: Optional[str] = None  # a fixed reply: out_of_scope, default, greet, help, lookup, unchanged, conflict
    changed: Dict[str, Any] = field(default_factory=dict)  # case fields this turn set or changed
    intent: Optional[str] = None


class Conversation:
    """The slots of one conversation and the assistant's move after each message (domain rules + actions)."""

    LOOKUPS = ("ask_regimen", "ask_trial", "ask_why_not", "ask_cautions", "summary")

    def __init__(self, parse: Parse) -> None:
        self.parse = parse
        self.slots: Dict[str, Any] = {}
        self.requested: Optional[str] = None  # the open question (the form is active)

    def _ask_or_recommend(self, move: Move, unreadable: bool = False) -> Move:
        prompt, reasked = intake.next_prompt(self.slots, unreadable)
        self.slots["intake_prompt"], self.slots["reasked"] = prompt, reasked
        if self.slots.get("case_conflict"):
            move.reply, self.requested = "conflict", "conflict_answer"
            return move
        still = intake.missing(self.slots)
        if still:
            move.asks, move.prompt, self.requested = still[0], prompt, still[0]
        else:
            self.requested = None
            case = intake.case_dict(self.slots)
            if move.intent in ("affirm", "deny") and self.slots.get("recommended_case") == case:
                move.reply = "unchanged"
            else:
                move.recommendation = True
                self.slots["recommended_case"] = case
        return move

    def turn(self, text: str) -> Move:
        intent, entities = self.parse(text)
        move = Move(intent=intent)
        before = case_of(self.slots)
        requested = self.requested if self.requested in intake.REQUIRED else None
        if intent == "new_case":
            move.new_case = True
            self.slots = intake.new_case_slots(entities, text)
            self._ask_or_recommend(move)
        elif intake.reads_case(intent, requested):
            reading = intake.read_message(self.slots, entities, intent, text, requested)
            self.slots.update(reading.updates)
            if reading.digression:
                move.reply = "out_of_scope"
            self._ask_or_recommend(move, reading.unreadable)
        elif self.requested is not None:  # an aside inside the intake: answered, then the question again
            move.reply = {"out_of_scope": "out_of_scope", "nlu_fallback": "default"}.get(intent or "", "lookup")
            self._ask_or_recommend(move)
        else:
            move.reply = {"out_of_scope": "out_of_scope", "nlu_fallback": "default", "greet": "greet",
                          "help": "help", "thank": "thank", "goodbye": "goodbye"}.get(intent or "", "lookup")
        after = case_of(self.slots)
        move.changed = {k: after.get(k) for k in set(before) | set(after) if before.get(k) != after.get(k)}
        return move


# ---- the sets ----------------------------------------------------------------------------------------------------
def _rate(a: int, b: int) -> float:
    return a / b if b else 0.0


def evaluate_oneshot(path: Path = DEFAULT, parse: Parse = describe_case_parser) -> Dict[str, Any]:
    cases = yaml.safe_load(path.read_text())["cases"]
    # the dev sets say what the assistant asks next ("asks") and leave `refractory` out when nothing is said about
    # it; the older set does neither (a list not stated is empty, and the next move is not scored)
    dev = any("asks" in c for c in cases)
    whole = hits = total = expected_hits = expected_total = 0
    errors = []
    for c in cases:
        conv = Conversation(parse)
        move = conv.turn(c["text"])
        got = case_of(conv.slots)
        right, counted, wrong = compare(c["expected"], got, lists_default_empty=not dev)
        hits, total = hits + right, total + counted
        expected_total += len(c["expected"])
        expected_hits += sum(1 for k in c["expected"] if k not in wrong)
        asks = c.get("asks")
        move_ok = (move.asks == asks and not move.recommendation) if asks else (move.recommendation or not dev)
        if not wrong and move_ok:
            whole += 1
        else:
            errors.append({"text": c["text"], "wrong": wrong, "asks": asks, "did": _did(move)})
    return {"cases": len(cases), "exact": whole, "exact_rate": _rate(whole, len(cases)),
            "field_accuracy": _rate(expected_hits, expected_total), "fields_exact": _rate(hits, total),
            "fields": total, "errors": errors}


# flags whose absence means false (contract.md): read false where nothing was said is no misread, and expected false
# with nothing read is right; `transplant_eligible` is not one (a required field: false is an answer)
ABSENT_IS_FALSE = ("cardiac_disease", "neuropathy", "thrombosis_history", "infection_risk", "low_marrow_reserve",
                   "renal_impairment", "bone_disease", "ldh_elevated", "high_proliferation", "m_protein_rising",
                   "extramedullary", "t_11_14", "lenalidomide_maintenance_only")


def _same(name: str, expected: Any, have: Any) -> bool:
    if name in ABSENT_IS_FALSE and not expected and not have:
        return True
    if name in LISTS and name != "refractory" and not expected and not have:
        return True
    return _norm(name, expected) == _norm(name, have)


def misread_fields(expected: Dict[str, Any], got: Dict[str, Any], scored: Optional[set] = None
                   ) -> Dict[str, Any]:
    """The fields read with a value that is wrong: another value than the expected one, or a value where the case
    says nothing (an empty list or a false flag read where nothing was expected is no value; "refractory: none"
    is one). `scored`: the fields the corpus covers (a field no case of it expects is not scored here)."""
    out = {}
    for name, have in got.items():
        if scored is not None and name not in scored and name not in expected:
            continue
        if not _same(name, expected.get(name), have):
            out[name] = {"expected": expected.get(name), "got": have}
    return out


def _blank() -> Dict[str, int]:
    return {"cases": 0, "whole": 0, "fields": 0, "fields_right": 0, "misread_fields": 0, "misread_cases": 0,
            "asked_right": 0, "asked": 0}


def _rates(t: Dict[str, int]) -> Dict[str, Any]:
    return {**t, "field_rate": round(_rate(t["fields_right"], t["fields"]), 4),
            "whole_rate": round(_rate(t["whole"], t["cases"]), 4)}


def evaluate_corpus(paths, parse: Parse = describe_case_parser) -> Dict[str, Any]:
    """The evaluation corpus (sets whose cases have a style) scored by style: fields right out of the fields
    expected, cases whole, misread fields and cases (docstring of this module)."""
    paths = [paths] if isinstance(paths, Path) else list(paths)
    by_style: Dict[str, Dict[str, int]] = {}
    total = _blank()
    errors = []
    cases = [c for path in paths for c in yaml.safe_load(Path(path).read_text())["cases"]]
    scored = {k for c in cases for k in (c.get("expected") or {})}  # the fields the corpus's authors wrote
    unscored: Dict[str, int] = {}
    for c in cases:
        conv = Conversation(parse)
        messages = c.get("messages") or [c["text"]]
        for text in messages:
            move = conv.turn(text)
        got = case_of(conv.slots)
        expected = c.get("expected") or {}
        right = sum(1 for k, v in expected.items() if _same(k, v, got.get(k)))
        misread = misread_fields(expected, got, scored)
        for k in got:
            if k not in scored and got[k] not in (None, [], False):
                unscored[k] = unscored.get(k, 0) + 1
        asks = c.get("asks")
        move_ok = (move.asks == asks and not move.recommendation) if asks else move.recommendation
        whole = right == len(expected) and not misread and move_ok
        row = by_style.setdefault(str(c.get("style", "-")), _blank())
        for t in (row, total):
            t["cases"] += 1
            t["whole"] += whole
            t["fields"] += len(expected)
            t["fields_right"] += right
            t["misread_fields"] += len(misread)
            t["misread_cases"] += bool(misread)
            t["asked"] += bool(asks)
            t["asked_right"] += bool(asks) and move_ok
        if not whole:
            missed = {k: {"expected": v, "got": got.get(k)} for k, v in expected.items()
                      if k not in misread and not _same(k, v, got.get(k))}
            errors.append({"id": c.get("id"), "style": c.get("style"), "text": " / ".join(messages),
                           "misread": misread, "missed": missed, "asks": asks, "did": _did(move)})
    return {"total": _rates(total), "by_style": {k: _rates(v) for k, v in sorted(by_style.items())},
            "read_outside_the_corpus_fields": unscored,
            "targets": {"fields": TARGETS["fields"], "cases": TARGETS["cases"], "misreads": 0}, "errors": errors}


def corpus_paths(where: Path = CORPUS) -> List[Path]:
    return sorted(Path(where).glob("*.yml")) if Path(where).is_dir() else []


def is_corpus(path: Path) -> bool:
    data = yaml.safe_load(Path(path).read_text())
    cases = data.get("cases") if isinstance(data, dict) else None
    return bool(cases) and all("style" in c for c in cases)


def print_corpus(name: str, r: Dict[str, Any], errors: bool = False) -> None:
    print(f"== {name} (by style: fields right / expected, cases whole, misread fields, misread cases)")
    rows = list(r["by_style"].items()) + [("TOTAL", r["total"])]
    for style, t in rows:
        print(f"{style:>14}  fields {t['fields_right']:4}/{t['fields']:<4} {t['field_rate']:7.1%}   "
              f"whole {t['whole']:3}/{t['cases']:<3} {t['whole_rate']:7.1%}   misreads {t['misread_fields']:3} "
              f"fields in {t['misread_cases']:3} cases   asks right {t['asked_right']}/{t['asked']}")
    if r.get("read_outside_the_corpus_fields"):
        print("   read, in fields no case of this corpus states (not scored):",
              json.dumps(r["read_outside_the_corpus_fields"]))
    if errors:
        for e in r["errors"]:
            print(json.dumps(e, ensure_ascii=False))


def _did(move: Move) -> str:
    if move.recommendation:
        return "recommendation" + (" (new case)" if move.new_case else "")
    if move.asks:
        return f"asks {move.asks}" + (f" [{move.prompt}]" if move.prompt else "") + (
            f" after {move.reply}" if move.reply else "") + (" (new case)" if move.new_case else "")
    return move.reply or "nothing"


def _turn_ok(move: Move, expect: Dict[str, Any]) -> bool:
    if bool(expect.get("new_case")) != move.new_case:
        return False
    if expect.get("recommendation"):
        if not move.recommendation:
            return False
        if "changed" in expect:
            want = {k: _norm(k, v) for k, v in expect["changed"].items()}
            got = {k: _norm(k, v) for k, v in move.changed.items()}
            return want == got
        return True
    if move.recommendation or move.asks != expect.get("asks"):
        return False
    if bool(expect.get("reask")) != (move.prompt == "example"):
        return False
    if "changed" in expect:
        return all(_norm(k, move.changed.get(k)) == _norm(k, v) for k, v in expect["changed"].items())
    return True


def evaluate_conversations(path: Path = DEV["conversations"], parse: Optional[Parse] = None) -> Dict[str, Any]:
    parse = parse or ModelParser()
    convs = yaml.safe_load(path.read_text())["conversations"]
    turns_ok = turns = whole = hits = total = 0
    errors = []
    for c in convs:
        conv = Conversation(parse)
        bad = []
        for i, t in enumerate(c["turns"]):
            move = conv.turn(t["user"])
            turns += 1
            if _turn_ok(move, t["expect"]):
                turns_ok += 1
            else:
                bad.append({"turn": i + 1, "user": t["user"], "intent": move.intent, "expect": t["expect"],
                            "did": _did(move), "changed": move.changed})
        right, counted, wrong = compare(c["final"], case_of(conv.slots))
        hits, total = hits + right, total + counted
        if not bad and not wrong:
            whole += 1
        else:
            errors.append({"id": c["id"], "turns": bad, "final_wrong": wrong})
    return {"conversations": len(convs), "whole": whole, "whole_rate": _rate(whole, len(convs)), "turns": turns,
            "turns_right": turns_ok, "turn_rate": _rate(turns_ok, turns), "final_fields_exact": _rate(hits, total),
            "errors": errors}


def opener_move(parse: Parse, text: str) -> Tuple[str, Move]:
    move = Conversation(parse).turn(text)
    if move.new_case:
        kind = "new_case"
    elif move.asks == "relapse" and move.prompt == "intro" and not move.reply:
        kind = "starts_intake"
    elif move.asks or move.recommendation:
        kind = "case"
    elif move.reply in ("out_of_scope", "default"):
        kind = "out_of_scope"
    else:
        kind = "in_scope"
    return kind, move


def evaluate_openers(path: Path = DEV["openers"], parse: Optional[Parse] = None) -> Dict[str, Any]:
    parse = parse or ModelParser()
    openers = yaml.safe_load(path.read_text())["openers"]
    right = 0
    by_kind: Dict[str, List[int]] = {}
    errors = []
    for o in openers:
        kind, move = opener_move(parse, o["text"])
        ok = kind == o["expect"] or (o["expect"] == "in_scope" and kind not in ("out_of_scope",))
        right += ok
        by_kind.setdefault(o["expect"], [0, 0])
        by_kind[o["expect"]][0] += ok
        by_kind[o["expect"]][1] += 1
        if not ok:
            errors.append({"text": o["text"], "expect": o["expect"], "did": kind, "intent": move.intent})
    return {"openers": len(openers), "right": right, "rate": _rate(right, len(openers)),
            "by_kind": {k: f"{a}/{b}" for k, (a, b) in by_kind.items()}, "errors": errors}


def evaluate(path: Path = DEFAULT) -> Dict[str, Any]:
    """The one-shot set at `path` read as case descriptions (bench.report and the fast tests call this)."""
    return evaluate_oneshot(path, describe_case_parser)


def evaluate_all(parse: Optional[Parse] = None) -> Dict[str, Dict[str, Any]]:
    parse = parse or ModelParser()
    return {
        "oneshot_cases": evaluate_oneshot(DEFAULT, parse),
        "oneshot_dev": evaluate_oneshot(DEV["oneshot"], parse),
        "conversations_dev": evaluate_conversations(DEV["conversations"], parse),
        "openers_dev": evaluate_openers(DEV["openers"], parse),
    }


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.evaluate", description=__doc__.split("\n")[0])
    ap.add_argument("path", nargs="?", help="one evaluation set (default: all)")
    ap.add_argument("--errors", action="store_true", help="print every miss")
    ap.add_argument("--no-model", action="store_true", help="one-shot sets only, read as case descriptions")
    ap.add_argument("--model", type=Path, help="this trained model (default: the up-to-date one, trained if needed)")
    args = ap.parse_args(argv)
    parse: Parse = describe_case_parser if args.no_model else ModelParser(args.model)
    if args.path and (Path(args.path).is_dir() or is_corpus(Path(args.path))):
        paths = corpus_paths(Path(args.path)) if Path(args.path).is_dir() else [Path(args.path)]
        print_corpus(Path(args.path).stem, evaluate_corpus(paths, parse), args.errors)
        return 0
    if args.path:
        path = Path(args.path)
        kind = next(iter(yaml.safe_load(path.read_text())))
        fn = {"cases": evaluate_oneshot, "conversations": evaluate_conversations, "openers": evaluate_openers}[kind]
        results = {path.stem: fn(path, parse)}
    elif args.no_model:
        results = {"oneshot_cases": evaluate(DEFAULT), "oneshot_dev": evaluate(DEV["oneshot"])}
    else:
        results = evaluate_all(parse)
    if corpus_paths():
        results["corpus_dev"] = evaluate_corpus(corpus_paths(), parse)
    for name, r in results.items():
        if "by_style" in r:
            print_corpus(name, r, args.errors)
            continue
        print(f"== {name}")
        print(json.dumps({k: v for k, v in r.items() if k != "errors"}, indent=2))
        if args.errors:
            for e in r["errors"]:
                print(json.dumps(e, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
