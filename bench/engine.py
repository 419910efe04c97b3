"""Engine benchmark: recommendations per second and latency percentiles over random valid cases.

    python -m bench.engine [--cases 10000] [--seed 7]

Runs on one core (sched_setaffinity), after a warm-up; case validation is timed apart from the
engine. Cases draw both regions (US and EU labels). Prints a Markdown table for docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import time
from typing import Dict, List

from bot import ENGINE_VERSION
from bot.clinical.engine import recommend
from bot.clinical.kb import kb
from bot.clinical.models import parse_case

FLAGS = ("ldh_elevated", "high_proliferation", "m_protein_rising", "extramedullary", "cardiac_disease", "neuropathy",
         "thrombosis_history", "infection_risk", "low_marrow_reserve", "renal_impairment", "bone_disease",
         "covid_vaccination_up_to_date", "t_11_14", "transplant_eligible", "lenalidomide_maintenance_only")


def random_case(rng: random.Random) -> Dict[str, object]:
    drugs = sorted(kb().drugs)
    refractory = rng.sample(drugs, rng.randint(0, 7))
    rest = [d for d in drugs if d not in refractory]
    case: Dict[str, object] = {
        "prior_lines": rng.randint(1, 8), "relapse": rng.choice(["none", "biochemical", "clinical", "clinical"]),
        "refractory": refractory, "exposed": rng.sample(rest, rng.randint(0, 4)),
        "unavailable": rng.sample(drugs, rng.choice([0, 0, 0, 1, 2])),
        "high_risk_cytogenetics": rng.sample(["del17p", "t(4;14)", "gain1q"], rng.choice([0, 0, 1, 2])),
    }
    if rng.random() < 0.8:
        case["fitness"] = rng.choice(["fit", "intermediate", "frail"])
    else:
        case["rmci"] = rng.randint(0, 9)
    if rng.random() < 0.7:
        case["age"] = rng.randint(40, 90)
    for flag in FLAGS:
        if rng.random() < 0.3:
            case[flag] = rng.random() < 0.5
    if case.get("transplant_eligible"):
        case["prior_auto_hct"] = rng.randint(0, 2)
        if case["prior_auto_hct"]:
            case["months_remission_after_hct"] = rng.randint(3, 60)
    if rng.random() < 0.2:
        case["days_since_last_lenalidomide"] = rng.randint(0, 200)
    case["region"] = rng.choice(["US", "EU"])  # both label sets (clinical-spec section 8)
    return case


def pct(values: List[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", metavar="PATH", help="also write the figures as JSON here")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    rng = random.Random(args.seed)
    raw = [random_case(rng) for _ in range(args.cases)]

    t0 = time.perf_counter()
    cases = [parse_case(c) for c in raw]
    validate_s = time.perf_counter() - t0

    for c in cases[:500]:  # warm-up
        recommend(c)
    lat = []
    t_all = time.perf_counter()
    for c in cases:
        t = time.perf_counter_ns()
        recommend(c)
        lat.append((time.perf_counter_ns() - t) / 1000)
    total = time.perf_counter() - t_all

    print(f"Engine {ENGINE_VERSION}, knowledge {kb().version}; {args.cases} random valid cases (seed {args.seed}); "
          f"one core; Python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs\n")
    print("| measure | value |\n| --- | --- |")
    print(f"| recommendations per second (engine) | {args.cases / total:,.0f} |")
    print(f"| latency p50 | {pct(lat, 50):.0f} µs |")
    print(f"| latency p99 | {pct(lat, 99):.0f} µs |")
    print(f"| latency max | {max(lat):.0f} µs |")
    print(f"| mean options per case | {statistics.mean(len(recommend(c)['options']) for c in cases[:1000]):.1f} |")
    print(f"| case validation per second (pydantic) | {args.cases / validate_s:,.0f} |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"per_s": args.cases / total, "p50_us": pct(lat, 50), "p99_us": pct(lat, 99),
                       "max_us": max(lat), "validate_per_s": args.cases / validate_s}, fh)


if __name__ == "__main__":
    main()
