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
