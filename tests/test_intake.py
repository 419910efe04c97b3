"""Intake: entities to case slots, bare answers, conflicts, required fields (bot/intake)."""
import pytest

from bot import intake


def ent(entity, value, role=None):
    e = {"entity": entity, "value": value}
    if role:
        e["role"] = role
    return e


def test_entities_fill_case_slots_with_canonical_values():
    updates, conflict = intake.apply_entities(
        {},
        [
            ent("age", 68),
            ent("prior_lines", 2),
            ent("drug", "len", "refractory"),
            ent("drug", "Darzalex", "refractory"),
            ent("drug", "bortezomib", "exposed"),
            ent("drug", "carfilzomib", "naive"),
            ent("fitness", "fit"),
            ent("transplant_eligible", False),
            ent("relapse", "clinical"),
            ent("cytogenetics", "t(11;14)"),
            ent("cytogenetics", "del17p"),
            ent("comorbidity", "neuropathy", "absent"),
            ent("aggressive_feature", "ldh_elevated"),
            ent("drug", "selinexor", "unavailable"),
        ],
        "describe_case",
    )
    assert conflict is None
    assert updates["refractory"] == ["daratumumab", "lenalidomide"]
    assert updates["exposed"] == ["bortezomib"] and updates["never_received"] == ["carfilzomib"]
    assert updates["t_11_14"] is True and updates["high_risk_cytogenetics"] == ["del17p"]
    assert updates["neuropathy"] is False and updates["ldh_elevated"] is True
    assert updates["unavailable"] == ["selinexor"]
    assert intake.missing({**updates}) == []


def test_prior_regimen_expands_to_its_drugs_without_dexamethasone():
    updates, _ = intake.apply_entities({}, [ent("regimen", "DRd", "refractory")], "describe_case")
    assert updates["refractory"] == ["daratumumab", "lenalidomide"]


def test_same_message_two_statuses_is_a_conflict_not_a_guess():
    updates, conflict = intake.apply_entities(
        {}, [ent("drug", "daratumumab", "refractory"), ent("drug", "dara", "naive")], "describe_case"
    )
    assert conflict == {"drug": "daratumumab", "choices": ["naive", "refractory"]}
    assert "refractory" not in updates and "never_received" not in updates
    assert "daratumumab" in intake.conflict_question(conflict)


def test_history_regimen_plus_refractory_in_one_message_is_a_refinement():
    updates, conflict = intake.apply_entities(
        {},
        [
            ent("drug", "bortezomib", "exposed"),
            ent("drug", "lenalidomide", "exposed"),
            ent("drug", "lenalidomide", "refractory"),
        ],
        "describe_case",
    )
    assert conflict is None and updates["refractory"] == ["lenalidomide"] and updates["exposed"] == ["bortezomib"]


def test_status_change_without_correction_is_asked_with_correction_applied():
    slots = {"refractory": ["daratumumab"]}
    _, conflict = intake.apply_entities(slots, [ent("drug", "daratumumab", "naive")], "inform")
    assert conflict and conflict["drug"] == "daratumumab"
    updates, conflict = intake.apply_entities(slots, [ent("drug", "daratumumab", "naive")], "correct")
    assert conflict is None and updates["refractory"] == [] and updates["never_received"] == ["daratumumab"]


def test_refractory_after_exposed_is_a_refinement():
    updates, conflict = intake.apply_entities(
        {"exposed": ["pomalidomide"]}, [ent("drug", "pom", "refractory")], "inform"
    )
    updates.pop("last_regimen", None)  # bookkeeping for "progressed on it" in a later message
    assert conflict is None and updates == {"exposed": [], "refractory": ["pomalidomide"]}


@pytest.mark.parametrize(
    "text,choices,role",
    [
        ("it's refractory", ["naive", "refractory"], "refractory"),
        ("never given", ["naive", "refractory"], "naive"),
        ("she received it but is not refractory", ["exposed", "refractory"], "exposed"),
    ],
)
def test_conflict_answers_settle_it(text, choices, role):
    slots = {"refractory": ["daratumumab"]}
    settled = intake.resolve_conflict(slots, {"drug": "daratumumab", "choices": choices}, text, [])
    target = {"refractory": "refractory", "naive": "never_received", "exposed": "exposed"}[role]
    assert "daratumumab" in {**slots, **settled}[target]


def test_unclear_conflict_answer_settles_nothing():
    assert intake.resolve_conflict({}, {"drug": "daratumumab", "choices": ["naive", "refractory"]}, "hmm", []) is None


@pytest.mark.parametrize(
    "slot,text,intent,value",
    [
        ("refractory", "none", "inform", []),
        ("refractory", "no", "deny", []),
        ("refractory", "nothing", "inform", []),
        ("transplant_eligible", "yes", "affirm", True),
        ("transplant_eligible", "no", "deny", False),
        ("prior_lines", "two", "inform", 2),
        ("prior_lines", "3", "inform", 3),
        ("prior_auto_hct", "none", "deny", 0),
        ("prior_auto_hct", "one", "inform", 1),
        ("fitness", "she's frail", "inform", "frail"),
        ("fitness", "fit", "inform", "fit"),
        ("fitness", "intermediate", "inform", "intermediate"),
        ("relapse", "biochemical only", "inform", "biochemical"),
        ("relapse", "clinical", "inform", "clinical"),
        ("refractory", "lenalidomide", "inform", None),
        ("prior_lines", "not sure", "inform", None),
        ("transplant_eligible", "not sure", "inform", None),
        ("refractory", "no idea", "deny", None),
    ],
)
def test_bare_answers_to_the_open_question(slot, text, intent, value):
    assert intake.interpret_answer(slot, text, intent) == value


def test_required_fields_in_order_and_transplant_history_only_when_eligible():
    assert intake.missing({}) == ["relapse", "prior_lines", "refractory", "fitness", "transplant_eligible"]
    assert intake.missing({"transplant_eligible": True})[-1] == "prior_auto_hct"
    assert "fitness" not in intake.missing({"rmci": 5})
    assert "refractory" not in intake.missing({"refractory": []})  # an explicit "none" counts


def test_bad_values_are_refused_naming_the_field():
    kept, problems = intake.check_values({"age": 12, "prior_lines": 2}, {})
    assert kept == {"prior_lines": 2} and problems and problems[0].startswith("age")


def test_summary_shows_normalised_values_only():
    text = intake.summary(
        {"age": 70, "refractory": ["lenalidomide"], "fitness": "fit", "never_received": ["carfilzomib"]}
    )
    assert "refractory to: lenalidomide" in text and "never received: carfilzomib" in text
    assert "Still needed: relapse, prior lines, transplant eligible" in text


@pytest.mark.parametrize(
    "text,none",
    [
        ("no refractory drugs", True),
        ("nothing refractory", True),
        ("not refractory to anything", True),
        ("refractory to none", True),
        ("bortezomib exposed but not refractory", False),
        ("len refractory", False),
    ],
)
def test_explicit_no_refractory_in_free_text_counts(text, none):
    updates, _ = intake.apply_entities({}, [], "describe_case", text)
    assert (updates.get("refractory") == []) is none


# ---- a conversation's messages read for the case (bot.intake.turn; clinical-spec section 9) ----------------------
from bot.nlu.extract import extract  # noqa: E402


def read(text, slots=None, intent="inform", requested=None):
    return intake.read_message(dict(slots or {}), extract(text), intent, text, requested)


@pytest.mark.parametrize("slot,text,intent,value", [
    ("prior_lines", "two", "inform", 2),
    ("prior_lines", "three so far", "inform", 3),
    ("prior_lines", "after 4 lines", "inform", 4),
    ("prior_lines", "second relapse", "inform", 2),
    ("refractory", "len and pom", "inform", ["lenalidomide", "pomalidomide"]),
    ("refractory", "Darzalex, Kyprolis", "inform", ["carfilzomib", "daratumumab"]),
    ("refractory", "none", "inform", []),
    ("refractory", "progressed on len maintenance, nothing else", "inform", ["lenalidomide"]),  # R2, 2026-12
    ("fitness", "she's pretty frail", "inform", "frail"),
    ("fitness", "moderately fit I think", "inform", "intermediate"),
    ("fitness", "fit, walks the dog daily", "inform", "fit"),
    ("transplant_eligible", "not really, she's 80", "deny", False),
    ("transplant_eligible", "yep", "affirm", True),
    ("transplant_eligible", "no way, too frail", "deny", False),
    ("prior_auto_hct", "never transplanted", "inform", 0),
    ("prior_auto_hct", "none", "deny", 0),
    ("relapse", "new bone lesions and his calcium is up", "inform", "clinical"),
    ("relapse", "just the light chains creeping up", "inform", "biochemical"),
    ("relapse", "she's stable, no progression", "inform", "none"),
])
def test_an_answer_in_own_words_fills_the_asked_field(slot, text, intent, value):
    reading = read(text, intent=intent, requested=slot)
    assert reading.updates[slot] == value and not reading.unreadable


def test_a_short_answer_also_gives_the_age():
    assert read("no, 79", intent="deny", requested="transplant_eligible").updates["age"] == 79
    assert read("fit, 55", requested="fitness").updates == {"fitness": "fit", "age": 55}
    assert "age" not in read("3", requested="prior_lines").updates


@pytest.mark.parametrize("text,intent", [("hmm", "nlu_fallback"), ("?", "nlu_fallback"), ("see notes", "out_of_scope"),
                                         ("jj", "inform")])
def test_an_unreadable_answer_is_asked_again_once_with_an_example(text, intent):
    slots = {"relapse": "clinical", "prior_lines": 2, "refractory": []}
    reading = read(text, slots, intent, requested="fitness")
    assert reading.unreadable and not reading.updates
    assert intake.next_prompt(slots, unreadable=True) == ("example", "fitness")
    again = {**slots, "reasked": "fitness"}
    assert intake.next_prompt(again, unreadable=True) == (None, "fitness")  # then as before: the plain question


def test_an_aside_inside_the_intake_is_no_unreadable_answer():
    reading = read("what's the dose of apixaban for AF?", {"relapse": "clinical"}, "out_of_scope",
                   requested="prior_lines")
    assert reading.digression and not reading.unreadable


def test_the_first_question_of_an_empty_case_comes_with_what_will_be_asked():
    assert intake.next_prompt({}) == ("intro", None)
    assert intake.next_prompt({"prior_lines": 2}) == (None, None)


def test_triple_class_without_drugs_asks_which_with_the_usual_answer():
    reading = read("triple-class refractory", {"relapse": "clinical", "prior_lines": 4}, requested="refractory")
    slots = {"relapse": "clinical", "prior_lines": 4, **reading.updates}
    assert slots["refractory_class"] == "triple_class" and "refractory" not in reading.updates
    assert intake.next_prompt(slots)[0] == "triple_class"
    usual = read("the usual ones", slots, requested="refractory").updates
    assert usual["refractory"] == ["bortezomib", "daratumumab", "lenalidomide"] and usual["refractory_class"] is None
    named = read("len, pom and dara", slots, requested="refractory").updates
    assert named["refractory"] == ["daratumumab", "lenalidomide", "pomalidomide"]
    double = read("double-refractory", {}, "describe_case").updates
    assert double["refractory_class"] == "double"
    assert read("yes, those", {**double}, requested="refractory").updates["refractory"] == ["bortezomib",
                                                                                            "lenalidomide"]


COMPLETE_CASE = {"relapse": "clinical", "prior_lines": 2, "refractory": ["bortezomib", "daratumumab", "lenalidomide"],
                 "fitness": "fit", "transplant_eligible": False}


@pytest.mark.parametrize("text,intent,changed", [
    ("no, 3 lines", "deny", {"prior_lines": 3}),
    ("no, 3 lines", "correct", {"prior_lines": 3}),
    ("actually frail", "correct", {"fitness": "frail"}),
    ("sorry, biochemical only", "inform", {"relapse": "biochemical"}),
    ("she is not refractory to bortezomib", "inform",
     {"refractory": ["daratumumab", "lenalidomide"], "exposed": ["bortezomib"]}),
    ("we're in the EU", "inform", {"region": "EU"}),
])
def test_a_correction_changes_exactly_that_field(text, intent, changed):
    reading = read(text, COMPLETE_CASE, intent)
    assert reading.case_changes == changed and "case_conflict" not in reading.updates


def test_a_message_that_corrects_itself():
    r = read("68M, 2 prior lines - sorry, 3 - refractory to len, fit", intent="describe_case").updates
    assert r["prior_lines"] == 3
    r = read("refractory to len - no wait, he came off len 4 months before relapsing, so nothing refractory",
             intent="describe_case").updates
    assert r["refractory"] == [] and r["exposed"] == ["lenalidomide"] and r["days_since_last_lenalidomide"] == 120


def test_counted_lines_and_crab_signs_never_replace_a_stated_value():
    slots = {"prior_lines": 4, "relapse": "biochemical"}
    updates = read("had VRd, then DKd; new lytic lesions", slots).updates
    assert "prior_lines" not in updates and "relapse" not in updates
    updates = read("had VRd, then DKd; new lytic lesions", {}).updates
    assert updates["prior_lines"] == 2 and updates["relapse"] == "clinical"


def test_progression_within_60_days_of_the_last_lenalidomide_is_refractoriness():
    assert read("relapsed 6 weeks after his last lenalidomide").updates["refractory"] == ["lenalidomide"]
    r = read("stopped len 5 months ago").updates
    assert r["exposed"] == ["lenalidomide"] and "refractory" not in r


def test_a_plasmacytoma_is_a_clinical_relapse():
    assert read("new plasmacytoma on the chest wall").updates["relapse"] == "clinical"


def test_progressed_on_it_refers_to_the_regimen_named_before():
    slots = {"relapse": "clinical", **read("one, DRd", {"relapse": "clinical"}, requested="prior_lines").updates}
    assert slots["prior_lines"] == 1 and slots["exposed"] == ["daratumumab", "lenalidomide"]
    assert read("PD on it", slots, requested="refractory").updates["refractory"] == ["daratumumab", "lenalidomide"]


def test_a_new_case_message_may_describe_the_next_patient():
    slots = intake.new_case_slots(extract("next patient: 62F, 2 prior lines, len-refr, fit"), "")
    assert slots["prior_lines"] == 2 and slots["refractory"] == ["lenalidomide"] and slots["fitness"] == "fit"


@pytest.mark.parametrize("text,count,months", [
    ("once, with 18 months of remission", 1, 18),
    ("one, remission lasted 2 years", 1, 24),
    ("yes - 3 years in remission", 1, 36),
    ("just the one, relapsed 26 months later", 1, 26),
    ("twice; last remission 14 mo", 2, 14),
    ("one, 2.5 yrs remission", 1, 30),
])
def test_the_transplant_answer_with_its_remission(text, count, months):
    slots = {"relapse": "clinical", "prior_lines": 1, "refractory": [], "fitness": "fit", "transplant_eligible": True}
    updates = read(text, slots, requested="prior_auto_hct").updates
    assert updates["prior_auto_hct"] == count and updates["months_remission_after_hct"] == months


@pytest.mark.parametrize("text", ["never, remission 3 years on VRd", "none", "one"])
def test_no_remission_after_a_transplant_without_one(text):
    slots = {"relapse": "clinical", "prior_lines": 1, "refractory": [], "fitness": "fit", "transplant_eligible": True}
    assert "months_remission_after_hct" not in read(text, slots, requested="prior_auto_hct").updates
