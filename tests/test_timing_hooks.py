"""The turn profile of docs/benchmarks.md (RRMM_TIMING_LOG, bot/plugins/timing.py) sees the custom actions: run inside
the Rasa server since issue 22, they were missing from it because the channels' early `install("api")` put the
timing wrapper inside the in-process runner. In a fresh process, as the Rasa server installs the patches."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = """
import json, sys
from bot.plugins import patches
patches.install("api")  # the channels, when Rasa builds its HTTP API
patches.install()  # the components, when Rasa loads the model
from rasa.core.actions.action import RemoteAction
print(json.dumps([RemoteAction.run.__qualname__, RemoteAction.run.__module__]))
"""


def test_the_action_span_is_the_outermost_wrapper_of_every_custom_action(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "RRMM_TIMING_LOG": str(tmp_path / "timing.jsonl")}
    p = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    qualname, module = json.loads(p.stdout.strip().splitlines()[-1])
    assert (module, qualname) == ("bot.plugins.timing", "remote_action_run.<locals>.run"), (
        "the timing wrapper must enclose the in-process runner, or the profile shows no action")
