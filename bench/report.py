"""Benchmarks and evaluation report: regenerates docs/benchmarks.md and its plots.

    .venv/bin/python -m bench.report            # everything (about 6-10 minutes on 2 cores)
    .venv/bin/python -m bench.report --skip-train   # reuse trained models (no training-time figures)

Measures on this machine, with Rasa's stock starter bot (`rasa init`) as the reference in the same run:
per-turn latency over the REST channel, start-up time, resident memory, `rasa train` wall time from
scratch, throughput and error rate under 8/32/64 concurrent conversations, engine recommendations per
second; and the NLU evaluation on the held-out set plus case-field extraction on one-shot descriptions.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Dict, List, Tuple

from tools.servers import BIN, RASA_ENV, ROOT, Servers, free_port, rest_headers, wait_http

DOCS = ROOT / "docs"
IMG = DOCS / "img"
TARGETS = {"turn_p95_ratio": 1.5, "startup_ratio": 1.3, "rasa_rss_mb": 1536, "train_s": 180,
           "intent_f1": 0.95, "entity_f1": 0.95, "case_exact": 0.95}

# Scripted conversations: what clinicians type (one-shot, step by step, look-ups, corrections).
OUR_SCRIPTS = [
    [
        "68M, 2 prior lines, refractory to lenalidomide and daratumumab, fit, not transplant eligible, "
        "clinical relapse",
        "why not KRd?",
        "what did OPTIMISMM show?",
        "actually he is frail",
        "new case",
    ],
    [
        "I have a 71 year old man with relapsed myeloma",
        "clinical",
        "two",
        "refractory to lenalidomide",
        "he's fit",
        "no",
        "cautions with DPd",
        "thanks",
    ],
    [
        "62F, first relapse, clinical, fit, transplant eligible",
        "none",
        "no prior transplant",
        "what is DKd?",
        "summary",
        "bye",
    ],
]
STARTER_SCRIPTS = [
    ["hello", "I am sad", "yes", "bye"],
    ["hi", "great", "are you a bot?", "goodbye"],
    ["hey", "not good", "no", "bye"],
]


def pct(values: List[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (MB), from /proc."""
    total = 0
    pids = [pid]
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(k) for k in kids]
    except OSError:  # the process has no children file (or has exited): count it alone
        kids = []
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:  # a child exited between the listing and the read: it has no memory left to count
            continue
    return total / 1024


def post(port: int, sender: str, text: str, timeout: float = 60) -> Tuple[float, bool]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": text}).encode(),
        headers=rest_headers(),  # the API token: ours needs it, the starter bot ignores it
    )
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            ok = r.status == 200 and isinstance(json.loads(r.read()), list)
    except Exception:  # noqa: BLE001 - any failure of a request counts as an error in the figures
        ok = False
    return time.perf_counter() - t, ok


def run_scripts(port: int, scripts: List[List[str]], rounds: int) -> List[float]:
    lat = []
    for _ in range(rounds):
        for script in scripts:
            who = uuid.uuid4().hex
            for text in script:
                dt, ok = post(port, who, text)
                if ok:
                    lat.append(dt * 1000)
    return lat


def load(port: int, scripts: List[List[str]], concurrency: int, conversations: int) -> Dict[str, float]:
    def one(i: int) -> Tuple[int, int]:
        who, errors = uuid.uuid4().hex, 0
        for text in scripts[i % len(scripts)]:
            _, ok = post(port, who, text, timeout=120)
            errors += not ok
        return len(scripts[i % len(scripts)]), errors

    t = time.perf_counter()
    with cf.ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(one, range(conversations)))
    elapsed = time.perf_counter() - t
    turns = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    return {
        "concurrency": concurrency,
        "conversations": conversations,
        "turns": turns,
        "turns_per_s": turns / elapsed,
        "error_rate": errors / turns,
        "elapsed_s": elapsed,
    }


def train(project: Path, out: Path, env: Dict[str, str]) -> float:
    cache = Path(tempfile.mkdtemp(prefix="rasa-cache-"))
    t = time.perf_counter()
    p = subprocess.run(
        [str(BIN / "rasa"), "train", "--out", str(out)],
        cwd=project,
        env={**env, "RASA_CACHE_DIRECTORY": str(cache)},
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - t
    shutil.rmtree(cache, ignore_errors=True)
    if p.returncode != 0:
        raise SystemExit(f"rasa train failed in {project}:\n{p.stdout[-2000:]}{p.stderr[-2000:]}")
    return elapsed


def start_starter(project: Path, model: Path, workdir: Path) -> Tuple[subprocess.Popen, int, float]:
    port = free_port()
    log = workdir / "starter.log"
    t = time.perf_counter()
    proc = subprocess.Popen(
        [
            str(BIN / "rasa"),
            "run",
            "--model",
            str(model),
            "--port",
            str(port),
            "--interface",
            "127.0.0.1",
            "--enable-api",
        ],
        cwd=project,
        env=RASA_ENV,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    wait_http(f"http://127.0.0.1:{port}/status", proc, 300, log)
    return proc, port, time.perf_counter() - t


def plot(ours: List[float], starter: List[float], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    top = pct(ours + starter, 99.5)
    bins = [i * top / 60 for i in range(61)]
    a.hist(starter, bins=bins, alpha=0.6, label="starter bot (rasa init)")
    a.hist(ours, bins=bins, alpha=0.6, label="RRMM assistant")
    a.set_xlabel("turn latency (ms)"), a.set_ylabel("turns"), a.legend(), a.set_title("Per-turn latency, REST")
    for data, label in ((starter, "starter bot"), (ours, "RRMM assistant")):
        xs = sorted(data)
        b.plot(xs, [i / len(xs) for i in range(1, len(xs) + 1)], label=label)
    b.set_xlabel("turn latency (ms)"), b.set_ylabel("fraction of turns"), b.set_title("Cumulative distribution")
    b.set_xscale("log"), b.legend(), b.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def nlu_eval(model: Path, out: Path) -> Dict[str, Dict[str, float]]:
    p = subprocess.run(
        [str(BIN / "rasa"), "test", "nlu", "--model", str(model), "--nlu", "tests/nlu/heldout.yml", "--out", str(out)],
        cwd=ROOT,
        env=RASA_ENV,
        capture_output=True,
        text=True,
    )
    if p.returncode != 0:
        raise SystemExit(p.stderr[-2000:])
    intent = json.loads((out / "intent_report.json").read_text())
    entity = json.loads((out / "ClinicalEntityExtractor_report.json").read_text())
    shutil.copy(out / "intent_confusion_matrix.png", IMG / "intent_confusion_matrix.png")
    worst = sorted(
        (
            (k, v["f1-score"], v["support"])
            for k, v in intent.items()
            if isinstance(v, dict) and "support" in v and k not in ("macro avg", "weighted avg", "micro avg")
        ),
        key=lambda x: x[1],
    )[:5]
    return {"intent": intent["weighted avg"], "entity": entity["weighted avg"], "worst_intents": worst}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-train", action="store_true", help="reuse trained models; no training-time figures")
    ap.add_argument("--rounds", type=int, default=12, help="rounds of the scripted conversations per bot")
    args = ap.parse_args()
    IMG.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="rrmm-bench-"))
    fig: Dict[str, object] = {}
    print(f"==> working in {work}", file=sys.stderr)

    # -- starter bot project and both models -----------------------------------------------------------
    starter = work / "starter"
    starter.mkdir()
    subprocess.run(
        [str(BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(starter)],
        env=RASA_ENV,
        capture_output=True,
        check=True,
    )
    starter_models = starter / "models"
    if not args.skip_train:
        print("==> rasa train from scratch: RRMM assistant", file=sys.stderr)
        fig["train_ours_s"] = train(ROOT, work / "models-ours", RASA_ENV)
        print("==> rasa train from scratch: starter bot", file=sys.stderr)
        fig["train_starter_s"] = train(starter, starter_models, RASA_ENV)
    from tools.model import ensure_model

    our_model = ensure_model(quiet=True)
    starter_model = sorted(starter_models.glob("*.tar.gz"))[-1]

    # -- start-up, memory, latency, load -----------------------------------------------------------------
    print("==> starting servers", file=sys.stderr)
    srv = Servers(work, our_model)
    t = time.perf_counter()
    srv.start_actions()
    fig["startup_actions_s"] = time.perf_counter() - t
    t = time.perf_counter()
    srv.start_rasa()
    fig["startup_ours_s"] = time.perf_counter() - t
    sproc, sport, fig["startup_starter_s"] = start_starter(starter, starter_model, work)
    try:
        print("==> warm-up and per-turn latency", file=sys.stderr)
        run_scripts(srv.rasa_port, OUR_SCRIPTS, 1)
        run_scripts(sport, STARTER_SCRIPTS, 1)
        ours = run_scripts(srv.rasa_port, OUR_SCRIPTS, args.rounds)
        theirs = run_scripts(sport, STARTER_SCRIPTS, args.rounds * 2)
        fig["lat_ours"] = {p: pct(ours, p) for p in (50, 95, 99)}
        fig["lat_starter"] = {p: pct(theirs, p) for p in (50, 95, 99)}
        fig["lat_n"] = (len(ours), len(theirs))
        plot(ours, theirs, IMG / "turn_latency.png")
        fig["rss_rasa_mb"] = rss_mb(srv.procs["rasa"].pid)
        fig["rss_actions_mb"] = rss_mb(srv.procs["actions"].pid)
        fig["rss_starter_mb"] = rss_mb(sproc.pid)
        print("==> concurrency", file=sys.stderr)
        fig["load"] = [load(srv.rasa_port, OUR_SCRIPTS, c, max(2 * c, 16)) for c in (8, 32, 64)]
        fig["rss_rasa_after_load_mb"] = rss_mb(srv.procs["rasa"].pid)
    finally:
        srv.stop_all()
        sproc.terminate()
        sproc.wait(30)

    # -- engine, NLU, extraction ---------------------------------------------------------------------------
    print("==> engine benchmark", file=sys.stderr)
    eng = subprocess.run([sys.executable, "-m", "bench.engine"], cwd=ROOT, capture_output=True, text=True, check=True)
    fig["engine_md"] = eng.stdout.strip()
    print("==> NLU evaluation", file=sys.stderr)
    fig["nlu"] = nlu_eval(our_model, work / "nlu")
    from tools.evaluate import evaluate

    fig["cases"] = evaluate()
    (ROOT / "results").mkdir(exist_ok=True)
    (ROOT / "results" / "benchmarks.json").write_text(
        json.dumps(
            {k: v for k, v in fig.items() if k != "cases"} | {"cases": {k: v for k, v in fig["cases"].items()}},
            indent=2,
            default=str,
        )
    )
    write_report(fig)
    shutil.rmtree(work, ignore_errors=True)
    print(f"==> wrote {DOCS / 'benchmarks.md'}", file=sys.stderr)


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def write_report(f: Dict[str, object]) -> None:
    lo, ls = f["lat_ours"], f["lat_starter"]
    p95_ratio = lo[95] / ls[95]
    start_ratio = f["startup_ours_s"] / f["startup_starter_s"]
    nlu, cases = f["nlu"], f["cases"]
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    lines = [
        "# Benchmarks and evaluation",
        "",
        "Generated by `.venv/bin/python -m bench.report` (about 6-10 minutes); every figure below comes from one run",
        "of that command on the machine named here, with Rasa's stock starter bot (`rasa init`) measured in the",
        "same run as the reference. Raw numbers: `results/benchmarks.json`.",
        "",
        f"Machine: {os.cpu_count()} CPUs ({cpu}), {mem:.0f} GiB RAM, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, Rasa 3.6.21.",
        "",
        "## Targets",
        "",
        "| target | measured | |",
        "| --- | --- | --- |",
        f"| turn latency p95 at most 1.5 x the starter bot's | "
        f"{lo[95]:.0f} ms vs {ls[95]:.0f} ms = {p95_ratio:.2f} x | "
        f"{verdict(p95_ratio <= TARGETS['turn_p95_ratio'])} |",
        f"| start-up at most 1.3 x the starter bot's | "
        f"{f['startup_ours_s']:.1f} s vs {f['startup_starter_s']:.1f} s = {start_ratio:.2f} x | "
        f"{verdict(start_ratio <= TARGETS['startup_ratio'])} |",
        f"| Rasa server memory at most 1.5 GB | "
        f"{f['rss_rasa_mb']:.0f} MB (after load: {f['rss_rasa_after_load_mb']:.0f} MB) | "
        f"{verdict(f['rss_rasa_after_load_mb'] <= TARGETS['rasa_rss_mb'])} |",
    ]
    if "train_ours_s" in f:
        lines.append(
            f"| `rasa train` at most 3 minutes | "
            f"{f['train_ours_s']:.0f} s (starter bot: {f['train_starter_s']:.0f} s) | "
            f"{verdict(f['train_ours_s'] <= TARGETS['train_s'])} |"
        )
    lines += [
        f"| intent F1 at least 0.95 (held-out) | {nlu['intent']['f1-score']:.3f} | "
        f"{verdict(nlu['intent']['f1-score'] >= TARGETS['intent_f1'])} |",
        f"| entity F1 at least 0.95 (held-out) | {nlu['entity']['f1-score']:.3f} | "
        f"{verdict(nlu['entity']['f1-score'] >= TARGETS['entity_f1'])} |",
        f"| case-field extraction at least 95% exact | "
        f"{cases['exact_rate']:.1%} ({cases['exact']}/{cases['cases']}) | "
        f"{verdict(cases['exact_rate'] >= TARGETS['case_exact'])} |",
        "",
        "## Per-turn latency over the REST channel",
        "",
        "Scripted conversations posted one turn at a time (action server included for the assistant):",
        f"{f['lat_n'][0]} assistant turns (one-shot cases, step-by-step intake, look-ups, corrections), "
        f"{f['lat_n'][1]} starter-bot turns.",
        "",
        "| | p50 | p95 | p99 |",
        "| --- | --- | --- | --- |",
        f"| RRMM assistant | {lo[50]:.0f} ms | {lo[95]:.0f} ms | {lo[99]:.0f} ms |",
        f"| starter bot | {ls[50]:.0f} ms | {ls[95]:.0f} ms | {ls[99]:.0f} ms |",
        f"| ratio | {lo[50] / ls[50]:.2f} | {p95_ratio:.2f} | {lo[99] / ls[99]:.2f} |",
        "",
        "![turn latency](img/turn_latency.png)",
        "",
        "## Start-up and memory",
        "",
        "| | start to ready | resident memory |",
        "| --- | --- | --- |",
        f"| Rasa server, RRMM assistant | {f['startup_ours_s']:.1f} s | "
        f"{f['rss_rasa_mb']:.0f} MB idle after the latency runs, "
        f"{f['rss_rasa_after_load_mb']:.0f} MB after the load runs |",
        f"| action server, RRMM assistant | {f['startup_actions_s']:.1f} s | {f['rss_actions_mb']:.0f} MB |",
        f"| Rasa server, starter bot | {f['startup_starter_s']:.1f} s | {f['rss_starter_mb']:.0f} MB |",
        "",
        "Start to ready: from process start until `GET /status` (Rasa) or `GET /health` (actions) answers.",
        "",
        "## Concurrent conversations",
        "",
        "| concurrent conversations | conversations | turns | turns per second | error rate |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in f["load"]:
        lines.append(
            f"| {r['concurrency']} | {r['conversations']} | {r['turns']} | {r['turns_per_s']:.1f} | "
            f"{r['error_rate']:.1%} |"
        )
    lines += [
        "",
        "## Guideline engine",
        "",
        "Command: `.venv/bin/python -m bench.engine` (10,000 random valid cases, one core). Target: 5,000 per second.",
        "",
        f["engine_md"],
        "",
        "## NLU on the held-out set",
        "",
        "`tests/nlu/heldout.yml` (never used for training), `rasa test nlu`:",
        "",
        "| | precision | recall | F1 |",
        "| --- | --- | --- | --- |",
        f"| intents (weighted) | {nlu['intent']['precision']:.3f} | {nlu['intent']['recall']:.3f} | "
        f"{nlu['intent']['f1-score']:.3f} |",
        f"| entities (weighted, ClinicalEntityExtractor) | {nlu['entity']['precision']:.3f} | "
        f"{nlu['entity']['recall']:.3f} | {nlu['entity']['f1-score']:.3f} |",
        "",
        "Weakest intents: " + ", ".join(f"{k} (F1 {v:.2f}, n={n})" for k, v, n in nlu["worst_intents"]) + ".",
        "",
        "![intent confusion matrix](img/intent_confusion_matrix.png)",
        "",
        "## Case-field extraction on one-shot descriptions",
        "",
        f"`tests/eval/oneshot_cases.yml`: {cases['cases']} descriptions written for evaluation only, each with its",
        "expected case fields; `python -m tools.evaluate` runs each through the chat path (entity extraction, then",
        "intake) and counts a case exact when every expected field matches and nothing else was filled.",
        "",
        f"Exact: {cases['exact']}/{cases['cases']} ({cases['exact_rate']:.1%}); "
        f"fields right: {cases['field_accuracy']:.1%}.",
        "",
    ]
    notes = DOCS / "benchmarks-notes.md"
    if notes.exists():
        lines += [notes.read_text().strip(), ""]
    (DOCS / "benchmarks.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
