"""Look-up by drug ("which regimens contain carfilzomib?", GET /api/v1/regimens?drug=): every regimen that holds the
drug and no other, by any alias, and for a case each one's place in its recommendation, as "why not X?" gives it."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_engine_properties import cases  # the random cases of the engine's property tests

from bot.clinical.engine import recommend
from bot.clinical.kb import UnknownName, kb
from bot.clinical.lookup import drug_regimens_text, regimens_with, standing
from bot.clinical.render import tier_heading, why_not

LEN_DARA = dict(prior_lines=2, refractory=["lenalidomide", "daratumumab"], fitness="fit", transplant_eligible=False)


@pytest.mark.parametrize("drug", sorted(kb().drugs))
def test_every_regimen_that_holds_the_drug_and_no_other(drug):
    drug_id, regimens = regimens_with(drug)
    assert drug_id == drug
    assert [r.code for r in regimens] == [r.code for r in kb().regimens.values() if drug in r.components]


def test_any_alias_of_the_drug_is_understood():
    carfilzomib = [r.code for r in regimens_with("carfilzomib")[1]]
    assert [r.code for r in regimens_with("Kyprolis")[1]] == carfilzomib
    assert {"KRd", "Kd", "KPd"} <= set(carfilzomib)  # the catalog's carfilzomib regimens (clinical-spec section 4)
    assert "DRd" not in carfilzomib


def test_an_unknown_drug_is_an_error_with_the_closest_known_names():
    with pytest.raises(UnknownName) as err:
        regimens_with("carfilzomab")
    assert err.value.kind == "drug" and "carfilzomib" in err.value.suggestions


def test_without_a_case_the_answer_lists_the_regimens_first_and_says_a_case_adds_their_place():
    text = drug_regimens_text("Kyprolis")
    first = text.splitlines()[0]
    n = len(regimens_with("carfilzomib")[1])
    assert first.startswith(f"carfilzomib is in {n} regimens: ") and "KRd (" in first
    assert "For this case" not in text and "Once the case is described" in text
    assert text.endswith(f"Knowledge as of {kb().edition}.")


def test_with_a_case_each_regimen_gets_its_tier_or_why_it_is_not_an_option(rec_of):
    rec = rec_of(**LEN_DARA)
    text = drug_regimens_text("carfilzomib", rec)
    lines = text.splitlines()
    assert lines[1] == "For this case:"
    kpd = standing(rec, "KPd")  # an option for this case: its number and tier, in words
    assert f"- KPd: option {kpd['option']} ({tier_heading(kpd['tier']).lower()})" in lines, text
    krd = next(line for line in lines if line.startswith("- KRd:"))
    assert krd.startswith("- KRd: not an option: ") and "lenalidomide" in krd  # refractory to lenalidomide
    places = [line for line in lines if line.startswith("- ")]
    options = [i for i, line in enumerate(places) if ": option " in line]
    assert options == list(range(len(options))), "options come before the regimens that are not"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases(), st.sampled_from(sorted(kb().drugs)))
def test_each_regimen_s_place_is_the_recommendation_s(case, drug):
    rec = recommend(case)
    options = {o["regimen"]: o for o in rec["options"]}
    for reg in regimens_with(drug)[1]:
        place = standing(rec, reg.code)
        if reg.code in options:
            assert place["tier"] == options[reg.code]["tier"]
            assert f"is option {place['option']} " in why_not(rec, reg.code)
        else:
            assert place["tier"] is None
            excluded = next(e for e in rec["excluded"] if e["regimen"] == reg.code)
            assert place["reasons"] == excluded["reasons"] and place["reasons"], "every regimen has a reason"
