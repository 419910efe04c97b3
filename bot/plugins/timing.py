"""Where a turn's time goes, measured inside the servers (docs/benchmarks.md, "Where a turn's time goes").

Off unless RRMM_TIMING_LOG names a file. Then every span of a turn is appended to it as one JSON line
`{"proc": "rasa"|"actions", "turn": ..., "span": ..., "ms": ...}`:

- in the Rasa server: each node of Rasa's graphs through Rasa's own `GraphNodeHook` (the NLU components
  `nlu:<component>`, the policies and the prediction `core:<node>`), each action-server round trip
  (`action:<name>`), the tracker store's read and write (`tracker:retrieve`, `tracker:save`) and the whole turn
  (`turn`, Agent.handle_message);
- in the action server: each action as rasa_sdk runs it (`server:<action>`).

`bench/report.py` turns the file into the table of the report (p50 and p95 of each span over the turns).
Installed through bot.plugins.patches (groups "timing" and "sdk-timing"); nothing else changes when it is on.
Spans carry no message text: only names and durations.
"""
from __future__ import annotations

import contextvars
import json
import os
import threading
import time
from typing import Any, Callable, Dict, List, Optional

ENV = "RRMM_TIMING_LOG"
TURN: contextvars.ContextVar[str] = contextvars.ContextVar("rrmm_turn", default="-")
_lock = threading.Lock()
_files: Dict[str, Any] = {}


def enabled() -> bool:
    return bool(os.environ.get(ENV))


def record(proc: str, span: str, seconds: float, turn: Optional[str] = None) -> None:
    path = os.environ.get(ENV)
    if not path:
        return
    line = json.dumps({"proc": proc, "turn": turn or TURN.get(), "span": span, "ms": round(seconds * 1000, 3)})
    with _lock:
        fh = _files.get(path)
        if fh is None:
            fh = _files[path] = open(path, "a", encoding="utf-8", buffering=1)  # kept open: one line a span
        fh.write(line + "\n")


def _span_name(node: str) -> str:
    """'run_bot.plugins.components.ClinicalEntityExtractor1' -> 'nlu:ClinicalEntityExtractor'."""
    name = node[4:] if node.startswith("run_") else node
    name = name.rsplit(".", 1)[-1].rstrip("0123456789") or name
    kind = "core" if ("Policy" in name or name in ("select_prediction", "rule_only_data_provider")) else "nlu"
    return f"{kind}:{name}"


def graph_hook() -> Any:
    """A Rasa GraphNodeHook that records every node's run time."""
    from rasa.engine.graph import GraphNodeHook

    class TimingHook(GraphNodeHook):
        def on_before_node(self, node_name, execution_context, config, received_inputs) -> Dict:  # noqa: ANN001
            return {"t": time.perf_counter()}

        def on_after_node(self, node_name, execution_context, config, output, input_hook_data) -> None:  # noqa
            record("rasa", _span_name(node_name), time.perf_counter() - input_hook_data["t"])

    return TimingHook()


# ---- the makers of bot.plugins.patches (original -> replacement) ------------------------------------
def runner_init(original: Callable) -> Callable:
    """Rasa builds its graph runners without hooks: add the timing hook (RRMM_TIMING_LOG only)."""
    def __init__(self: Any, graph_schema: Any, model_storage: Any, execution_context: Any,  # noqa: N807
                 hooks: Optional[List[Any]] = None) -> None:
        original(self, graph_schema, model_storage, execution_context, [*(hooks or []), graph_hook()])
    return __init__


def handle_message(original: Callable) -> Callable:
    """The whole turn, and the turn id every span of it carries (RRMM_TIMING_LOG only)."""
    count = {"n": 0}

    async def handle(self: Any, message: Any) -> Any:
        count["n"] += 1
        token = TURN.set(f"{os.getpid()}:{count['n']}")
        started = time.perf_counter()
        try:
            return await original(self, message)
        finally:
            record("rasa", "turn", time.perf_counter() - started)
            TURN.reset(token)
    return handle


def remote_action_run(original: Callable) -> Callable:
    """Each action-server round trip, seen from Rasa (RRMM_TIMING_LOG only)."""
    async def run(self: Any, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> Any:
        started = time.perf_counter()
        try:
            return await original(self, output_channel, nlg, tracker, domain)
        finally:
            record("rasa", f"action:{self.name()}", time.perf_counter() - started)
    return run


def executor_run(original: Callable) -> Callable:
    """Each action as the action server runs it (RRMM_TIMING_LOG only)."""
    async def run(self: Any, action_call: Any) -> Any:
        started = time.perf_counter()
        try:
            return await original(self, action_call)
        finally:
            name = action_call.get("next_action") if isinstance(action_call, dict) else None
            record("actions", f"server:{name or getattr(action_call, 'next_action', '?')}",
                   time.perf_counter() - started, turn="-")
    return run


class timed:  # noqa: N801 - used as a context manager, like a function
    """`with timed("tracker:save"):` records the block's duration (when RRMM_TIMING_LOG is set)."""

    __slots__ = ("span", "started")

    def __init__(self, span: str) -> None:
        self.span = span

    def __enter__(self) -> "timed":
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        if os.environ.get(ENV):
            record("rasa", self.span, time.perf_counter() - self.started)
