"""The entities the extractor returns and the roles each can carry (docs/nlu-schema.md; domain.yml lists the same).

Layer: nothing (plain data), so that every module of the package can read it.
"""
from __future__ import annotations

__all__ = ["ENTITY_NAMES", "ENTITY_ROLES"]

ENTITY_NAMES = (
    "drug", "regimen", "trial", "age", "sex", "prior_lines", "relapse", "fitness", "rmci", "transplant_eligible",
    "prior_auto_hct", "months_remission_after_hct", "cytogenetics", "aggressive_feature", "comorbidity",
    "lenalidomide_maintenance_only", "days_since_last_lenalidomide", "riss_stage", "covid_vaccination_up_to_date",
    "region", "refractory_class",
)

# roles each entity can carry (for domain.yml)
ENTITY_ROLES = {
    "drug": ("refractory", "exposed", "naive", "unavailable"),
    "regimen": ("refractory", "exposed", "naive", "unavailable"),
    "cytogenetics": ("absent",), "aggressive_feature": ("absent",), "comorbidity": ("absent",),
    "prior_lines": ("counted",),  # counted from a list of prior regimens, not stated
    "relapse": ("sign",),  # read from CRAB wording or a rising paraprotein, not stated
}
