"""The text a clinician reads (bot.clinical.render), 2026 edition: the clinical-trial headline, options grouped by
tier with the approval line of the case's region, the `info` cautions folded into one line, "Knowledge as of",
and why-not answers that name the label and the case's value."""
import re

from conftest import make

from bot.clinical.kb import kb
from bot.clinical.render import (
    ranked_options,
    render_cautions,
    render_drug,
    render_regimen,
    render_text,
    render_trial,
    why_not,
)

TRIPLE_CLASS_4L = dict(prior_lines=4, fitness="fit", refractory=["lenalidomide", "bortezomib", "daratumumab"],
                       exposed=["pomalidomide", "carfilzomib"], transplant_eligible=False)


def numbered(text):
    return re.findall(r"^(\d+)\. ([\w-]+):", text, re.M)


def test_triple_class_text_shows_trial_headline_then_car_t_and_bispecifics_first_salvage_last():
    text = render_text(make(**TRIPLE_CLASS_4L))
    lines = text.splitlines()
    headline = next(i for i, line in enumerate(lines) if line.startswith("Clinical trial: preferred"))
    assert headline < lines.index("Options (ranked):")
    order = [code for _, code in numbered(text)]
    assert order[:6] == ["cilta-cel", "ide-cel", "teclistamab", "elranatamab", "linvoseltamab", "talquetamab"]
    assert "trial" not in order  # a headline, not a ranked item (R4)
    assert order[-1] in ("Benda", "belantamab", "Md", "DCEP", "VDT-PACE")
    assert [int(n) for n, _ in numbered(text)] == list(range(1, len(order) + 1))
    assert lines.index("Preferred:") < lines.index("In certain circumstances:")


def test_each_option_has_its_region_approval_line():
    us = render_text(make(**TRIPLE_CLASS_4L))
    eu = render_text(make(region="EU", **TRIPLE_CLASS_4L))
    assert ("   Approval: US: accelerated approval 2022-10: >= 4 prior lines including a PI, an IMiD and an anti-CD38"
            in us)
    assert "   Approval: EU: conditional approval 2022-08: >= 3 prior lines" in eu
    # each option has its approval line, except those with nothing recorded: said once for them all
    unrecorded = re.search(r"^Approval: US: no regional restriction recorded; check the local label \((.*)\)$", us,
                           re.M)
    said_once = unrecorded.group(1).split(", ") if unrecorded else []
    assert us.count("   Approval: ") + len(said_once) == len(numbered(us))
    assert "Knowledge as of 2026-12; US labels" in us and "Knowledge as of 2026-12; EU labels" in eu
    assert "region EU" in next(line for line in eu.splitlines() if line.startswith("Assessment: "))


def test_info_cautions_fold_into_one_line_high_and_moderate_first():
    rec = make(**TRIPLE_CLASS_4L)
    text = render_text(rec)
    block = text.split("Cautions:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    marks = [re.match(r"- \[(\w+)\]", line).group(1) for line in block if line.startswith("- [")]
    assert marks == sorted(marks, key=("HIGH", "moderate").index) and "info" not in marks
    info = [kb().cautions[c["id"]].title for c in rec["cautions"] if c["severity"] == "info"]  # in plain words
    assert block[-1].startswith("Also (info): ") and all(name in block[-1] for name in info)
    full = render_cautions(rec)
    assert all(f"] {kb().cautions[c['id']].title}:" in full for c in rec["cautions"])  # "cautions" shows them all
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", full), "no caution id is shown to people"


def test_no_text_for_people_names_the_source_text_seed():
    k = kb()
    texts = [render_text(make(**TRIPLE_CLASS_4L), show_excluded=True)]
    texts += [render_regimen(code) for code in (*k.regimens, *k.transplants)]
    texts += [render_trial(tid) for tid in k.trials] + [render_drug(d) for d in k.drugs]
    assert not [t for t in texts if re.search(r"\bseed\b", t, re.I)]


def test_why_not_names_the_label_and_the_case_prior_lines():
    rec = make(prior_lines=3, fitness="fit", refractory=["lenalidomide", "bortezomib", "daratumumab"],
               exposed=["pomalidomide", "carfilzomib"])
    answer = why_not(rec, "teclistamab")
    assert answer.startswith("teclistamab is not an option for this case: US label: >= 4 prior lines")
    assert "(case: 3 prior lines)" in answer
    eu = why_not(make(region="EU", prior_lines=3, fitness="fit", refractory=["lenalidomide", "bortezomib",
                                                                              "daratumumab"]), "teclistamab")
    assert eu.startswith("teclistamab is option ") and "(preferred)" in eu and "EU: conditional approval" in eu


def test_why_not_option_number_is_the_ranked_number_without_the_trial():
    rec = make(**TRIPLE_CLASS_4L)
    ranked = ranked_options(rec)
    assert why_not(rec, ranked[1]["regimen"]).startswith(f"{ranked[1]['regimen']} is option 2 for this case")
    assert why_not(rec, "trial").startswith("Clinical trial: preferred")


def test_drug_look_ups():
    assert render_drug("talquetamab").startswith("talquetamab: talquetamab (GPRC5D x CD3")
    assert "MonumenTAL-1" in render_drug("Talvey") and "Knowledge as of 2026-12" in render_drug("Talvey")
    sel = render_drug("selinexor")
    assert sel.startswith("selinexor (XPO1 inhibitor)") and "SVd, Sd" in sel
    assert "76% vs 49%" in render_trial("CARTITUDE-4") and "checked 2026-11-26" in render_trial("CARTITUDE-4")
