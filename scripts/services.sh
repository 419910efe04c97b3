# Shared by scripts/start and scripts/serve: the action server in the background, stopped on exit.
mkdir -p var
ACTION_PORT=5055  # the port endpoints.yml names
# Rasa sends usage telemetry and error reports to Rasa's servers unless told not to: off here
# (RASA_TELEMETRY_ENABLED=true turns it back on). Storage and audit settings: docs/deploy.md.
export RASA_TELEMETRY_ENABLED="${RASA_TELEMETRY_ENABLED:-false}"
start_action_server() {
    echo "==> starting the action server on port $ACTION_PORT (log: var/actions.log)"
    TF_CPP_MIN_LOG_LEVEL=3 python -m actions --port "$ACTION_PORT" >var/actions.log 2>&1 &
    ACTION_PID=$!
    trap 'kill $ACTION_PID 2>/dev/null || true' EXIT INT TERM
    for _ in $(seq 1 120); do
        if python - "$ACTION_PORT" <<'PY' 2>/dev/null; then return 0; fi
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/health", timeout=1)
PY
        kill -0 "$ACTION_PID" 2>/dev/null || { echo "error: the action server stopped; see var/actions.log" >&2; tail -20 var/actions.log >&2; exit 1; }
        sleep 0.5
    done
    echo "error: the action server did not answer on port $ACTION_PORT within 60 s; see var/actions.log" >&2
    exit 1
}
