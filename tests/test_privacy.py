"""bot/privacy.py: identifiers are redacted, clinical facts survive (corpus in tests/privacy/corpus.yml)."""
from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.privacy import (
    PLACEHOLDERS,
    RedactingFilter,
    Redaction,
    contains_identifier,
    install_log_redaction,
    redact,
    redact_obj,
)

CORPUS = yaml.safe_load((Path(__file__).parent / "privacy" / "corpus.yml").read_text(encoding="utf-8"))
MESSAGES = CORPUS["messages"]
CLEAN = CORPUS["clean"]
NLU_DIR = Path(__file__).resolve().parent.parent / "data" / "nlu"


def _digit_runs(text: str):
    """Runs of digits in text, separators (space, -, ., /) between digits removed: '943 476 5919' -> '9434765919'."""
    return [re.sub(r"\D", "", m) for m in re.findall(r"\d(?:[ \-./]?\d)*", text)]


def leaks(identifier: str, output: str) -> list:
    """Ways `identifier` survives in `output`: the string itself, or 4+ of its digits in a row."""
    found = []
    if identifier.lower() in output.lower():
        found.append(identifier)
    digits = re.sub(r"\D", "", identifier)
    if len(digits) >= 4:
        for run in _digit_runs(output):
            for i in range(len(run) - 3):
                if run[i:i + 4] in digits:
                    found.append(f"digits {run[i:i + 4]} of {identifier!r}")
    return found


# ---- the corpus itself ----------------------------------------------------------------------------
def test_corpus_size_and_shape():
    assert len(MESSAGES) >= 60 and len(CLEAN) >= 25
    for m in MESSAGES:
        assert m["identifiers"], m["text"]
        for s in m["identifiers"] + m["clinical"]:
            assert s in m["text"], f"{s!r} is not in {m['text']!r}"


@pytest.mark.parametrize("msg", MESSAGES, ids=[m["text"][:40] for m in MESSAGES])
def test_identifiers_removed_clinical_kept(msg):
    r = redact(msg["text"])
    for ident in msg["identifiers"]:
        assert not leaks(ident, r.text), f"{ident!r} leaks in {r.text!r}"
    for fact in msg["clinical"]:
        assert fact in r.text, f"clinical {fact!r} damaged: {r.text!r}"
    assert r.changed and contains_identifier(msg["text"])
    # found: kinds and spans of the original text, in order, not overlapping, no strings kept
    last = 0
    for kind, start, end in r.found:
        assert kind in PLACEHOLDERS and last <= start < end <= len(msg["text"])
        last = end
    assert all(isinstance(x, (str, int)) for f in r.found for x in f)


@pytest.mark.parametrize("text", CLEAN, ids=[t[:40] for t in CLEAN])
def test_clean_messages_unchanged(text):
    r = redact(text)
    assert r.text == text, r.found
    assert not r.changed and r.found == () and not contains_identifier(text)


def _nlu_examples():
    out = []
    for path in sorted(NLU_DIR.glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in doc.get("nlu", []):
            for line in str(block.get("examples", "")).splitlines():
                line = line.strip()
                if line.startswith("- "):
                    # [text](entity) and [text]{"entity": ...} annotations -> text
                    out.append(re.sub(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})", r"\1", line[2:]))
    return out


def test_nlu_training_examples_unchanged():
    """The assistant's own training examples hold no identifiers: none may be altered."""
    examples = _nlu_examples()
    if not examples:
        pytest.skip("no NLU data")
    changed = [(t, redact(t).text) for t in examples if redact(t).text != t]
    assert not changed, changed[:10]


# ---- specific behaviour ------------------------------------------------------------------------------
@pytest.mark.parametrize("text, kind, gone", [
    ("DOB 03/04/1956", "date_of_birth", "03/04/1956"),
    ("D.O.B.: 1956-04-03", "date_of_birth", "1956-04-03"),
    ("born 3 April 1956", "date_of_birth", "3 April 1956"),
    ("date of birth 12 Jan 1950", "date_of_birth", "12 Jan 1950"),
    ("MRN 00482913", "record_number", "00482913"),
    ("NHS number 943 476 5919", "record_number", "943 476 5919"),
    ("SSN 123-45-6789", "record_number", "123-45-6789"),
    ("call 07700 900123", "phone", "07700 900123"),
    ("tel +1 (415) 555-0134", "phone", "+1 (415) 555-0134"),
    ("mail a.b@example.com", "email", "a.b@example.com"),
    ("12 Harley Street, London W1G 9PF", "address", "12 Harley Street"),
    ("referred by Dr Patel", "person_name", "Patel"),
])
def test_kinds(text, kind, gone):
    r = redact(text)
    assert gone not in r.text and PLACEHOLDERS[kind] in r.text, r
    assert kind in r.kinds


def test_placeholders_and_offsets():
    text = "Mr John Whitaker, MRN 00482913, DOB 03/04/1956"
    r = redact(text)
    assert r.text == "Mr [NAME], MRN [MRN], DOB [DOB]"
    assert [(k, text[s:e]) for k, s, e in r.found] == [
        ("person_name", "John Whitaker"), ("record_number", "00482913"), ("date_of_birth", "03/04/1956")]
    assert isinstance(r, Redaction) and r.changed
    with pytest.raises(AttributeError):  # dataclasses.FrozenInstanceError
        r.text = "x"  # frozen


@pytest.mark.parametrize("text", [
    "68M", "72-year-old", "aged 70", "LDH 450", "creatinine 2.1 mg/dL", "eGFR 25", "R-MCI 5", "M-protein 2.3 g/dL",
    "t(11;14)", "del(17p)", "24 months", "DRd", "KRd", "VRd", "Dara-KPd", "CyBorD", "CANDOR", "POLLUX", "BOSTON",
    "HORIZON", "APOLLO", "Revlimid", "Darzalex", "Kyprolis", "Pomalyst", "fit", "frail", "Rd", "Dex", "ASCT",
    "CAR-T", "ECOG 1", "R-ISS III", "IgG kappa", "Lambda", "Bence Jones", "treated 03/04/2021", "ASCT in May 2019",
    "started KRd on 2021-03-04", "2 prior lines", "dex 40 mg days 1, 8, 15, 22", "platelets 150000",
])
def test_clinical_text_untouched(text):
    assert redact(text).text == text


def test_treatment_dates_are_not_dob():
    text = "ASCT 14/02/2019, relapse 03/04/2022; born 3 April 1956"
    r = redact(text)
    assert "14/02/2019" in r.text and "03/04/2022" in r.text and "1956" not in r.text


def test_non_string_input():
    with pytest.raises(TypeError):
        redact(None)  # type: ignore[arg-type]
    assert redact("").text == "" and not contains_identifier("")


# ---- logs and stored events ------------------------------------------------------------------------
def test_redacting_filter_on_real_handler(tmp_path):
    log_file = tmp_path / "bot.log"
    logger = logging.getLogger("test_privacy.filter")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    handler = logging.FileHandler(log_file, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(RedactingFilter())
    logger.addHandler(handler)
    try:
        for m in MESSAGES:
            logger.info("user said: %s", m["text"])
        logger.warning("Patient %s MRN %d", "Okafor", 48291377)
        logger.info("event %s", {"text": "Pt John Whitaker DOB 03/04/1956", "n": 3})
        logger.info("Mr Kowalski called from 07700 900461")
        try:
            raise ValueError("bad case for Mrs Okafor, MRN 55120983")
        except ValueError:
            logger.exception("failed for %s", "jane.roberts@nhs.net")
    finally:
        logger.removeHandler(handler)
        handler.close()
    content = log_file.read_text(encoding="utf-8")
    assert content.count("user said:") == len(MESSAGES)
    for m in MESSAGES:
        for ident in m["identifiers"]:
            assert not leaks(ident, content), ident
    for ident in ("Okafor", "48291377", "John Whitaker", "03/04/1956", "Kowalski", "07700 900461", "55120983",
                  "jane.roberts@nhs.net"):
        assert not leaks(ident, content), ident
    assert "[NAME]" in content and "[MRN]" in content and "ValueError" in content and "68M" in content


def test_install_log_redaction(tmp_path):
    logger = logging.getLogger("test_privacy.install")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = logging.FileHandler(tmp_path / "x.log", encoding="utf-8")
    logger.addHandler(handler)
    try:
        first = install_log_redaction(logger)
        assert install_log_redaction(logger) is first and handler.filters.count(first) == 1
        child = logging.getLogger("test_privacy.install.child")  # propagates to the filtered handler
        child.info("Dr Patel asked about Mrs Okafor, DOB 03/04/1956, tel 07700 900461")
    finally:
        logger.removeHandler(handler)
        handler.close()
    content = (tmp_path / "x.log").read_text(encoding="utf-8")
    assert content.strip() == "Dr [NAME] asked about Mrs [NAME], DOB [DOB], tel [PHONE]"


def test_redacting_filter_keeps_non_identifier_records():
    rec = logging.LogRecord("x", logging.INFO, __file__, 1, "%d options for %s", (3, "KRd"), None)
    assert RedactingFilter().filter(rec) is True
    assert rec.getMessage() == "3 options for KRd"


def test_redact_obj_nested():
    event = {
        "event": "user",
        "timestamp": 1700000000.5,
        "text": "Pt John Whitaker MRN 00482913, 68M, 2 prior lines",
        "parse_data": {
            "intent": {"name": "describe_case", "confidence": 0.98},
            "entities": [{"entity": "age", "value": 68}, {"entity": "drug", "value": "lenalidomide"}],
            "text": "Pt John Whitaker MRN 00482913, 68M, 2 prior lines",
        },
        "metadata": {"notes": ["call 07700 900461", ("DOB 03/04/1956", 1)], "empty": None, "ok": True},
    }
    original = json.dumps(event)
    out = redact_obj(event)
    dumped = json.dumps(out)
    for ident in ("John Whitaker", "00482913", "07700 900461", "03/04/1956"):
        assert not leaks(ident, dumped), ident
    assert out["parse_data"]["intent"] == event["parse_data"]["intent"]
    assert out["parse_data"]["entities"] == event["parse_data"]["entities"]
    assert out["timestamp"] == event["timestamp"] and out["metadata"]["empty"] is None
    assert out["text"] == "Pt [NAME] MRN [MRN], 68M, 2 prior lines"
    assert isinstance(out["metadata"]["notes"][1], tuple)
    assert json.dumps(event) == original  # not mutated


# ---- properties -------------------------------------------------------------------------------------
_FRAGMENTS = [m["text"] for m in MESSAGES] + CLEAN + [
    "Mr", "Dr.", "Name:", "DOB", "MRN", "born", "tel", "pt", "patient", "for", "re:", ",", ".", "(", ")", "\n",
    "[NAME]", "[MRN]", "[DOB]", "[PHONE]", "[EMAIL]", "[ADDRESS]", "John", "Smith", "O'Brien", "Okafor's",
    "03/04/1956", "12 Jan 1950", "00482913", "07700 900123", "+44 20 7946 0958", "a@b.co", "12 Elm Street",
    "LS6 2QR", "NY 10001", "68M", "KRd", "CANDOR", "Revlimid", "t(11;14)", "2 prior lines", "Bence Jones",
]
_text = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(_FRAGMENTS), max_size=8).map(" ".join),
    st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(alphabet="aAzZ09 ,.:-'/()@#+\n", max_size=12)),
             max_size=10).map("".join),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_text)
def test_idempotent_and_total(text):
    r = redact(text)
    assert isinstance(r.text, str)
    assert redact(r.text).text == r.text
    assert contains_identifier(text) == r.changed
    for kind, start, end in r.found:
        assert kind in PLACEHOLDERS and 0 <= start < end <= len(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_never_raises_on_arbitrary_text(text):
    redact(text)
    contains_identifier(text)
    redact_obj({"a": [text, {"b": text}]})


# ---- speed ------------------------------------------------------------------------------------------
def test_speed_typical_message():
    text = ("Pt John Whitaker MRN 00482913, 68M, 2 prior lines (VRd/ASCT/len maintenance then DPd), refractory to "
            "lenalidomide, daratumumab and pomalidomide, bortezomib exposed, fit, ECOG 1, not transplant eligible, "
            "clinical relapse with new lytic lesions, LDH 450, creatinine 2.1 mg/dL, t(11;14). Would KPd per "
            "CANDOR-style data be reasonable for him, or not?")
    assert len(text.split()) == 50
    redact(text)
    n = 200
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(n):
            redact(text)
        best = min(best, (time.perf_counter() - t0) / n)
    assert best < 0.002, f"{best * 1e3:.3f} ms per message"  # target < 1 ms; slack for busy CI machines


def test_a_zip_code_after_a_street_is_redacted_too():
    """A street matched first used to switch the ZIP search off, leaving the code in the text."""
    for text in ("12 Harley Street, ZIP: 12345-6789", "lives at 4 Elm Road, postcode: 90210, 68M len refractory"):
        r = redact(text)
        assert "12345" not in r.text and "90210" not in r.text and "Harley" not in r.text and "Elm" not in r.text
    assert "68M len refractory" in redact("lives at 4 Elm Road, postcode: 90210, 68M len refractory").text


@pytest.mark.parametrize("text,name", [
    ("Len Smith, 68M, refractory to pom", "Len Smith"), ("Mr Mel Jones, 2 prior lines", "Mel Jones"),
    ("Dr Isa Khan asks about KRd", "Isa Khan"), ("patient Dara Brown is refractory to pom", "Dara Brown"),
    ("pt Len, 70F", "Len"), ("called Len, refractory to pom", "Len"), ("Dr Jones said so", "Jones"),
])
def test_a_drug_name_or_clinical_word_used_as_a_given_name_is_redacted(text, name):
    r = redact(text)
    assert all(part not in r.text for part in name.split()) and "[NAME]" in r.text


@pytest.mark.parametrize("text", ["refractory to Len, Pom and Dara", "Len refractory, Dara exposed",
                                  "Isa Pd after Dara Vd", "urine Bence Jones positive",
                                  "Teams (Bot Framework) channel is on", "Socket Mode connected",
                                  "Slack's API answered 429"])
def test_drug_names_eponyms_and_software_names_are_not_names(text):
    assert redact(text).text == text
