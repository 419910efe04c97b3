"""Reading a case whatever the style of the message: dictated text (numbers in words, letters spelt out, spoken
punctuation), typing errors in short and long clinical words, and non-native usage of prepositions and verb
forms. Sentences written for these tests from clinical-spec section 9; none is evaluation text."""
import pytest

from bot.nlu.extract import extract
from bot.nlu.spelling import Speller, short_suggest
from bot.nlu.spoken import spoken_fixes
from bot.nlu.usage import usage_fixes
from tools import evaluate as E


def case(text):
    return E.case_fields(text)


def applied(text, fixes):
    out, last = [], 0
    for a, b, new in fixes:
        if a >= last:
            out += [text[last:a], new]
            last = b
    return "".join(out + [text[last:]])


# ---- dictated text -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("said, typed", [
    ("hemoglobin seven point nine", "hemoglobin 7.9"),
    ("diagnosed in twenty eighteen", "diagnosed in 2018"),
    ("relapsed in twenty twenty three", "relapsed in 2023"),
    ("in nineteen ninety nine", "in 1999"),
    ("kappa light chains two thousand three hundred", "kappa light chains 2300"),
    ("an l d h of four hundred and twenty", "an LDH of 420"),
    ("e c o g one", "ECOG 1"),
    ("r mci six", "R-MCI 6"),
    ("paraprotein up from three to eleven", "paraprotein up from 3 to 11"),
    ("with t fourteen sixteen", "with t(14;16)"),
    ("deletion seventeen p and gain of one q", "deletion 17p and gain of 1q"),
    ("she is fit full stop not eligible", "she is fit. not eligible"),
])
def test_dictated_words_are_read_as_typed(said, typed):
    assert applied(said, spoken_fixes(said)) == typed


@pytest.mark.parametrize("said", [
    "two prior lines and one transplant",  # small counts stay words: the count rules read them
    "over a period of three years",  # the noun 'period' is no full stop
    "t cell engager after four cycles",  # no translocation of myeloma
])
def test_dictated_words_that_stay_words(said):
    assert applied(said, spoken_fixes(said)) == said


def test_a_dictated_case_reads_its_numbers_cytogenetics_and_scores():
    got = case("seventy four year old man with t four fourteen on lenalidomide since twenty twenty two now with "
               "haemoglobin seven point eight from myeloma full stop r m c i of five full stop not a transplant candidate")
    assert got["age"] == 74 and got["high_risk_cytogenetics"] == ["t(4;14)"] and got["rmci"] == 5
    assert got["relapse"] == "clinical" and got["transplant_eligible"] is False


def test_dictated_offsets_point_at_the_words_as_said():
    text = "sixty year old man with an l d h of six hundred"
    ents = extract(text)
    ldh = [e for e in ents if e["entity"] == "aggressive_feature"]
    assert ldh and ldh[0]["value"] == "ldh_elevated" and "l d h" in text[ldh[0]["start"]:ldh[0]["end"]]


# ---- typing errors --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("typed, meant", [
    ("fitt", "fit"), ("Frial", "frail"), ("fraill", "frail"), ("piror", "prior"), ("hgih", "high"),
])
def test_short_keywords_with_a_doubled_or_swapped_letter(typed, meant):
    assert short_suggest(typed).lower() == meant


@pytest.mark.parametrize("word", ["fat", "fail", "fist", "fits", "prio", "trial", "sigh", "mint"])
def test_short_words_near_a_keyword_stay_as_written(word):
    assert short_suggest(word) is None


def test_long_clinical_words_with_a_typo_and_their_real_look_alikes():
    text, _ = Speller().correct("creatinnine up, sensory neuropaty, cast nephropathy, creatine kinase normal")
    assert text == "creatinine up, sensory neuropathy, cast nephropathy, creatine kinase normal"


@pytest.mark.parametrize("text, field, value", [
    ("68M, 2 priro lines, lenalidomide refractory, fitt, not TE", "fitness", "fit"),
    ("68M, 2 priro lines, lenalidomide refractory, fitt, not TE", "prior_lines", 2),
    ("81F, frial, on DRd since 2022, rising paraprotein", "fitness", "frail"),
    ("refractory to evrything she had: lenalidomide, bortezomib, daratumumab", "refractory",
     ["bortezomib", "daratumumab", "lenalidomide"]),
])
def test_a_case_with_typing_errors(text, field, value):
    assert case(text).get(field) == value


# ---- non-native usage ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, refractory", [
    ("Patient of 70 years, she is refractory with pomalidomide and carfilzomib.", ["carfilzomib", "pomalidomide"]),
    ("The myeloma was refractory on KRd and on DPd.",
     ["carfilzomib", "daratumumab", "lenalidomide", "pomalidomide"]),
    ("He receive Kd and he progress under Kd in this year.", ["carfilzomib"]),
    ("Second line IsaPd, she progressed again during IsaPd.", ["isatuximab", "pomalidomide"]),
    ("First line DRd, progression in course of DRd.", ["daratumumab", "lenalidomide"]),
])
def test_non_native_prepositions_and_verb_forms(text, refractory):
    assert case(text).get("refractory") == refractory


@pytest.mark.parametrize("text", [
    "Bortezomib given, refractory for 2 years to nothing else",  # a duration after 'refractory for'
    "On DRd she made good progress on it, no relapse",  # the noun 'progress' is no progression
])
def test_non_native_rewrites_leave_the_noun_and_durations(text):
    assert applied(text, usage_fixes(text)) == text
