"""Counting within one message (clinical-spec sections 2 and 9): the prior lines told as a history (a regimen written
out as its drugs, a code spelled out in brackets, an ordinal line naming its regimen, an ordinal relapse that dates
a regimen, options ahead that were not given, a count said with doubt) and the transplants done. Sentences written
for these tests from the spec; none is evaluation text."""
import pytest

from bot.nlu.extract import extract
from tools import evaluate as E


def case(text):
    return E.case_fields(text)


def lines_of(text):
    return [(e["value"], e.get("role")) for e in extract(text) if e["entity"] == "prior_lines"]


# ---- one regimen in a told history, with a relapse now: one line ---------------------------------------------------
@pytest.mark.parametrize("text", [
    "81F, diagnosed 2020, Rd since then; paraprotein now rising, 9 -> 24 g/L",
    "s/p IsaKd x 3 yrs -> PD on IsaKd with a new rib lesion and Ca 2.9 mmol/L",
    "2019 KRd -> 2025 kappa light chains climbing on KRd",
    "Tx: Dara-Rd (ongoing) - biochemical progression",
])
def test_one_regimen_told_as_the_history_is_one_line(text):
    assert case(text).get("prior_lines") == 1


@pytest.mark.parametrize("text", ["PD on DRd, fit, not TE", "refractory to DRd, fit", "len and dara refractory"])
def test_a_regimen_named_alone_leaves_the_count_to_be_asked(text):
    assert case(text).get("prior_lines") is None


# ---- a regimen written out as its drugs ----------------------------------------------------------------------------
def test_drugs_listed_with_the_steroid_are_one_regimen():
    text = ("first given carfilzomib, cyclophosphamide and dexamethasone; relapsed in 2022 and was then started on "
            "pomalidomide with dexamethasone, progressing now")
    assert case(text).get("prior_lines") == 2


def test_a_list_of_drugs_without_the_steroid_is_no_regimen():
    assert lines_of("refractory to lenalidomide, bortezomib and daratumumab, now relapsing") == []


def test_a_code_spelled_out_in_brackets_is_one_regimen():
    text = "BTD (bortezomib, thalidomide, dexamethasone) in 2017, relapse 2020 -> DKd, PD on DKd now"
    assert case(text).get("prior_lines") == 2


def test_a_drug_added_at_progression_starts_a_line_and_without_progression_does_not():
    assert case("Kd 2019-2021 to progression, then DKd, PD on DKd 2024 with new lytic lesions").get("prior_lines") == 2
    assert case("Pd since 2021, daratumumab added in 2023 for a slow response (DPd); now rising paraprotein"
                ).get("prior_lines") == 1


# ---- options ahead were not given ---------------------------------------------------------------------------------
@pytest.mark.parametrize("text, n", [
    ("VRd + ASCT + len maint, PD on len 2024. Q: KPd or Isa-Kd?", 1),
    ("Rd 2018-2020, then DVd until PD in 2024; cilta-cel discussed at the MDT", 2),
    ("VRd/ASCT, then DKd, progressed on DKd. Plan: talquetamab next month", 2),
])
def test_regimens_named_as_options_are_no_lines(text, n):
    assert case(text).get("prior_lines") == n


# ---- ordinal lines and relapses -----------------------------------------------------------------------------------
@pytest.mark.parametrize("text, n", [
    ("VMP 2016. 2nd line pomalidomide-dex, 3rd line elranatamab since 2024, now progressing", 3),
    ("first line DRd (PD on DRd 2022), on Kd as second line, rising paraprotein", 2),
    ("would value your advice on a second line", 1),
    ("grateful for your opinion on third-line options", 2),
    ("Setting: 3L\nPrevious: VRd/ASCT, then KRd", 2),
])
def test_an_ordinal_line_is_a_line_given_only_when_it_names_its_regimen(text, n):
    assert case(text).get("prior_lines") == n


@pytest.mark.parametrize("text, n", [
    ("VTd-ASCT 2018, then IsaKd at first relapse; progressing now on IsaKd", 2),
    ("VMP 2015, bortezomib-dex for first relapse in 2019, then DPd, PD on DPd", 3),
    ("CTd -> ASCT 2012; 1st relapse 2019 -> KRd, PD on KRd 2024", 2),
])
def test_an_ordinal_relapse_that_dates_a_regimen_is_no_count(text, n):
    assert case(text).get("prior_lines") == n


def test_an_ordinal_relapse_of_now_stays_the_count():
    assert case("she is now at second relapse, refractory to lenalidomide").get("prior_lines") == 2


# ---- counts: part of the lines, a numbered list, doubt, corrections -------------------------------------------------
@pytest.mark.parametrize("text, n", [
    ("6 prior lines; the last two lines were talquetamab and elranatamab", 6),
    ("Lines: 1. VMP 2. Rd 3. DVd, now PD on DVd", 3),
    ("2 prior lines - scratch that, 3", 3),
    ("creatinine clearance thirty two prior lines one k r d", 1),
    ("2 prior lines, unclear whether she had an ASCT", 2),
])
def test_stated_counts(text, n):
    assert case(text).get("prior_lines") == n


@pytest.mark.parametrize("text", ["3 or 4 prior lines, refractory to len", "5 prior lines - not sure, may be 6",
                                  "maybe 3 lines of therapy before"])
def test_a_count_said_with_doubt_is_asked(text):
    assert case(text).get("prior_lines") is None


def test_a_first_plan_told_before_any_regimen_is_a_line_of_its_own():
    text = "s/p auto-SCT 2016 with thalidomide maint; relapsed 2020, then DRd, PD on DRd"
    assert case(text).get("prior_lines") == 2


# ---- transplants done --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, n", [("ASCT: never", 0), ("VCd, autograft in 03/2019, no maintenance", 1),
                                     ("Transplant: none", 0)])
def test_transplants_done_in_field_and_dated_forms(text, n):
    assert case(text).get("prior_auto_hct") == n


@pytest.mark.parametrize("text, n", [
    ("ASCT history: 1 (2016)", 1),
    ("ASCT once in 2013, then KRd", 1),
    ("s/p tandem auto (2017, 2018), relapsed 3 yrs later", 2),
    ("tandem ASCT 2015/2016; relapse 4 years after the second ASCT", 2),  # a mention of one of them is no count of 1
    ("VTD-autograft-thalidomide maintenance, relapsed 2021", 1),
    ("KRd + auto 2021 + len maint", 1),
    ("ninety day review v r d with transplant then len maintenance", 1),
    ("he had an autotransplant in 2018", 1),
    ("Transplant was never done; not an option now", 0),
])
def test_transplants_done_in_other_words(text, n):
    assert case(text).get("prior_auto_hct") == n


@pytest.mark.parametrize("text", [
    "fit; he is eligible for salvage followed by autologous transplant",
    "our plan: re-induction then second autologous transplant",
    "we'd do ASCT after salvage chemotherapy",
    "#4 Transplant: not for further HDT",
    "what is a second-ASCT?",
])
def test_a_transplant_ahead_or_an_item_number_is_no_count(text):
    assert case(text).get("prior_auto_hct") is None


@pytest.mark.parametrize("text, eligible", [
    ("ASCT elig.: no", False), ("ASCT elig.: yes", True),
    ("frail, no transplant", False), ("No transplant possible.", False), ("no transplant obviously", False),
    ("Never transplanted (age).", False), ("VCd x6, no transplant, too old", False),
    ("s/p KRd x8 (no transplant; patient declines ASCT)", False),
    ("Transplant no.", False),
    ("Transplant was never done and is not an option.", False),
    ("she would not go through another transplant", False),
    ("no more autos, heading to CAR-T or allo", False),
    ("not transplantable (cardiac amyloid)", False),
    ("we feel she would be a candidate for a second transplant if re-induction works", True),
    ("transplant eligible yes full stop she has never been refractory full stop", True),
])
def test_transplant_eligibility_in_other_words(text, eligible):
    assert case(text).get("transplant_eligible") is eligible


@pytest.mark.parametrize("text", [
    "received VTd, then autologous SCT in 2021, thalidomide maintenance stopped due to neuropathy",
    "would consider a second transplant if her cardiac function allows",
    "no transplant planned for now",
])
def test_no_eligibility_from_a_transplant_given_or_left_open(text):
    assert case(text).get("transplant_eligible") is None


@pytest.mark.parametrize("text, n, eligible", [
    ("No ASCT. Fit. Not TE.", 0, False),  # a sentence of the history: none done
    ("VCd x6, no ASCT, then Rd", 0, None),
    ("Fit, no HCT (pt declined)", 0, None),  # a refusal in the past: eligibility now is asked
])
def test_no_transplant_in_the_history_is_none_done(text, n, eligible):
    got = case(text)
    assert got.get("prior_auto_hct") == n and got.get("transplant_eligible") is eligible


def test_a_refusal_in_the_past_says_nothing_of_eligibility_now():
    got = case("len maintenance to progression, no ASCT (declined back then), 1 prior line, no other drugs")
    assert got.get("prior_auto_hct") == 0 and got.get("transplant_eligible") is None
    assert case("fit, no HCT (she still declines it)").get("transplant_eligible") is False


def test_a_history_told_over_two_messages_adds_its_lines():
    conv = E.Conversation(E.describe_case_parser)
    conv.turn("64F, KRd induction, ASCT 2020, lenalidomide maintenance, PD on maintenance 2023")
    assert conv.slots.get("prior_lines") == 1
    conv.turn("then IsaPd, now progressing on IsaPd with new lesions")
    assert conv.slots.get("prior_lines") == 2


def test_a_later_message_without_then_never_replaces_a_count():
    conv = E.Conversation(E.describe_case_parser)
    conv.turn("64F, 2 prior lines, fit")
    conv.turn("she had KRd induction and ASCT, now relapsing")
    assert conv.slots.get("prior_lines") == 2
