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
               "haemoglobin seven point eight from myeloma full stop r m c i of five full stop "
               "not a transplant candidate")
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
    ("mant", "maint"), ("pror", "prior"), ("unft", "unfit"),
])
def test_short_keywords_with_a_doubled_or_swapped_letter(typed, meant):
    assert short_suggest(typed).lower() == meant


@pytest.mark.parametrize("word", ["fat", "fail", "fist", "fits", "prio", "trial", "sigh", "mint", "main", "rail",
                                  "unit"])
def test_short_words_near_a_keyword_stay_as_written(word):
    assert short_suggest(word) is None


def test_long_clinical_words_with_a_typo_and_their_real_look_alikes():
    text, _ = Speller().correct("creatinnine up, sensory neuropaty, cast nephropathy, creatine kinase normal")
    assert text == "creatinine up, sensory neuropathy, cast nephropathy, creatine kinase normal"


def test_a_letter_translated_from_another_language_is_no_transplant():
    text, _ = Speller().correct("Referral (translated from Polish): 64M, second relapse")
    assert "transplant" not in text
    assert case("Referral letter (translated): 64M, 2 prior lines, refractory to lenalidomide, fit").get(
        "prior_auto_hct") is None


@pytest.mark.parametrize("text, field, value", [
    ("68M, 2 priro lines, lenalidomide refractory, fitt, not TE", "fitness", "fit"),
    ("68M, 2 priro lines, lenalidomide refractory, fitt, not TE", "prior_lines", 2),
    ("81F, frial, on DRd since 2022, rising paraprotein", "fitness", "frail"),
    ("VRd, ASCT, len mant, PD on mant 2024", "lenalidomide_maintenance_only", True),
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


# ---- laboratory results as a table or a dated series ---------------------------------------------------------------
RISING_TABLES = [
    # a row of values under a header of months
    "70M on KRd, 2 prior lines. Fit. Not TE.\n"
    "                 Mar     May     Aug\n"
    "IgG g/L          14      19      31\n"
    "Hb g/L           121     119     120",
    # today against an earlier result, values in the columns of their header
    "58F on Isa-Pd. Labs:\n"
    "Analyte      Now     6 mo ago\n"
    "Paraprotein  17 H    7\n"
    "Ca           2.3     2.3",
    # one row per date under a header that names the protein
    "Light chain myeloma, 61M.\n"
    "Date      lambda FLC mg/L   kappa mg/L\n"
    "03/2025   40                9\n"
    "09/2025   260 H             10",
    # a series on one line with its dates
    "M-protein g/L: 02/2025 3 | 06/2025 6 | 10/2025 12",
    # one value with the earlier one in brackets
    "Paraprotein    22 g/L   H   [9 g/L in 04/2025]",
]


@pytest.mark.parametrize("text", RISING_TABLES)
def test_a_paraprotein_rise_told_by_the_layout_is_a_biochemical_sign(text):
    ents = extract(text)
    assert [e["value"] for e in ents if e["entity"] == "relapse"] == ["biochemical"]


@pytest.mark.parametrize("text", [
    # falling: a response
    "Date      M-spike g/dL\n01/2025   2.2\n05/2025   0.9\n09/2025   0.2",
    # day/month or month/day cannot be told apart and the two give another order: no guess
    "SPEP       03/04/25   04/02/25   06/01/25\nM-spike    0.4        0.9        1.6",
    # months that wrap a year
    "                 Nov     Jan     Mar\nParaprotein g/L  20      11      6",
    # a flat value
    "IgA g/L: 01/2025 12 | 05/2025 12.5",
])
def test_no_rise_or_an_order_in_doubt_gives_nothing(text):
    assert not [e for e in extract(text) if e["entity"] == "relapse"]


def test_new_bone_lesions_still_outrank_a_rise_in_a_table():
    text = "New lytic lesions on MRI.\n                 Feb     Jun\nParaprotein g/L  8       20"
    assert case(text)["relapse"] == "clinical"


# ---- words of other usages and layouts -----------------------------------------------------------------------------
@pytest.mark.parametrize("text, field, value", [
    ("New extramedullary lesion in the pleura, 3 prior lines", "extramedullary", True),  # not a bone lesion
    ("Relapse now: vertebral collapse at L2", "relapse", "clinical"),  # UK usage of a fracture
    ("Disease status: stable\nPrior lines: 2", "relapse", "none"),  # a status as a field
    ("Paraprotein 9 -> 21 g/L in 6 weeks, rising fast, no CRAB", "m_protein_rising", True),
    ("Calcio   3.0   mmol/L   2.1-2.6   H", "relapse", "clinical"),  # a laboratory label in Italian
    ("Emoglobina 8.1 g/dL", "relapse", "clinical"),
])
def test_usage_and_layout_synonyms(text, field, value):
    assert case(text).get(field) == value


@pytest.mark.parametrize("text, field", [
    ("Disease status: stable until 2024, now progressing", "relapse_none"),
    ("Paraprotein 9 -> 12 g/L, rising slowly", "m_protein_rising"),
    ("Calcio 2.4 mmol/L", "relapse"),
])
def test_usage_and_layout_look_alikes_stay_unset(text, field):
    got = case(text)
    if field == "relapse_none":
        assert got.get("relapse") != "none"
    else:
        assert got.get(field) is None


@pytest.mark.parametrize("text, field, value", [
    ("60M referred from iowa, not TE", "region", "US"),  # a short state name typed in lower case
    ("66F, seen in st louis, fit", "region", "US"),  # "St." without its dot
    ("Hb fell from 121 to 79 g/L over two months", "relapse", "clinical"),  # the value is the one it fell to
    ("haemoglobin drop to 8.2 from myeloma", "relapse", "clinical"),
    ("M-protein now 31 g/L and climbing quickly", "m_protein_rising", True),
    ("1 prior line, remission 40 mnths after ASCT", "months_remission_after_hct", 40),
    ("CTDa in 2016, then DRd", "exposed", ["cyclophosphamide", "daratumumab", "lenalidomide", "thalidomide"]),
])
def test_uk_usage_and_hurried_typing(text, field, value):
    assert case(text).get(field) == value


def test_a_fall_to_a_value_above_the_crab_level_is_no_sign():
    assert case("Hb fell from 140 to 118 g/L, 2 prior lines").get("relapse") is None


@pytest.mark.parametrize("text, field, value", [
    ("She is frail. Transplant no. From Graz.", "transplant_eligible", False),
    ("Frail. No transplant possible.", "transplant_eligible", False),
    ("Transplant: not possible", "transplant_eligible", False),
    ("Autologous transplantation is not indication for him.", "transplant_eligible", False),
    ("She is 77 years, not transplantable.", "transplant_eligible", False),
    ("He is fit and candidate to second autologous transplant.", "transplant_eligible", True),
    ("DRd since 2022, she is currently in complete remission.", "relapse", "none"),
    ("One line, DVd. Never was refractory.", "refractory", []),
    ("She was not refractory to no drug.", "refractory", []),
])
def test_non_native_word_order_and_prepositions_of_the_case_facts(text, field, value):
    assert case(text).get(field) == value


@pytest.mark.parametrize("text, field", [
    ("Frail. No transplant possible.", "prior_auto_hct"),  # a transplant ahead, no count of those done
    ("VRd + ASCT no maintenance, relapsed 2024", "transplant_eligible"),
    ("bortezomib, never refractory to it", "refractory"),  # one drug, not 'refractory to nothing'
])
def test_non_native_readings_leave_the_look_alikes(text, field):
    assert case(text).get(field) is None


# ---- "Field: value" layouts ----------------------------------------------------------------------------------------
def test_a_field_value_does_not_read_into_the_next_line():
    got = case("Fitness: fit\nFor second ASCT: no\nPrior lines: 1")
    assert got["fitness"] == "fit" and got["transplant_eligible"] is False


def test_remission_after_the_transplant_as_a_field():
    got = case("Prior ASCT: 1 (2019)\nRemission after ASCT: 30 months\nFitness: fit")
    assert got["months_remission_after_hct"] == 30 and got["prior_auto_hct"] == 1


@pytest.mark.parametrize("text, field, value", [
    ("Progressing, LDH 640. Fit.", "ldh_elevated", True),  # a number that ends a sentence
    ("New anaemia, Hb 82. Frail.", "relapse", "clinical"),
    ("Creatinine 2.8. Not TE.", "renal_impairment", True),
])
def test_a_value_at_the_end_of_a_sentence(text, field, value):
    assert case(text).get(field) == value


def test_a_decimal_is_never_read_in_part():
    assert case("LDH 250.5 U/L").get("ldh_elevated") is None


def test_a_table_against_the_previous_result_and_a_rise_called_rapid():
    got = case("71F on Kd.\n        Now     Prev\nIgG     36 H    15\nHb      12.1    12.4")
    assert got["relapse"] == "biochemical"
    got = case("Paraprotein g/L: 01/2025 4 | 03/2025 11 | 05/2025 25   rising fast")
    assert got["relapse"] == "biochemical" and got["m_protein_rising"] is True
    assert case("Paraprotein g/L: 01/2025 4 | 07/2025 6").get("m_protein_rising") is None


def test_period_is_punctuation_only_in_text_without_written_punctuation():
    typed = "PD during the lenalidomide maintenance period, then DKd."
    assert applied(typed, spoken_fixes(typed)) == typed
    said = "she is fit period not a transplant candidate"
    assert applied(said, spoken_fixes(said)) == "she is fit. not a transplant candidate"


@pytest.mark.parametrize("text", [
    "we review response and progress at each visit",
    "there is progress on the referral",
])
def test_progress_as_a_noun_after_and_or_is(text):
    assert applied(text, usage_fixes(text)) == text
