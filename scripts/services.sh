# Shared by scripts/start, scripts/serve and scripts/web: the install's tokens, and the action server in the
# background (stopped on exit).
# var/ holds the conversations, the audit trail, the logs and the keys: the service account's alone (0700, its
# files 0600), also for an install made before this was so.
umask 077
mkdir -p var
chmod 700 var
chmod -R go-rwx var
ACTION_PORT=5055  # the port endpoints.yml names
# Rasa sends usage telemetry and error reports to Rasa's servers unless told not to: off here
# (RASA_TELEMETRY_ENABLED=true turns it back on). Storage and audit settings: docs/deploy.md.
export RASA_TELEMETRY_ENABLED="${RASA_TELEMETRY_ENABLED:-false}"
# Every server listens on loopback unless told otherwise: RASA_INTERFACE (Rasa), RRMM_ACTION_INTERFACE
# (the action server). docs/security.md.
RASA_INTERFACE="${RASA_INTERFACE:-127.0.0.1}"

# The HTTP API / REST channel token and the action-server token: RRMM_API_TOKEN and RRMM_ACTION_TOKEN when
# set, else the per-install files var/api.token and var/action.token (created once, mode 0600, their paths
# printed then). Exported, so that Rasa (endpoints.yml sends the action token) and the action server share them.
# API_TOKEN_SOURCE says where programs find the API token (a variable name or a path, never the value).
if [ -n "${RRMM_API_TOKEN:-}" ]; then
    API_TOKEN_SOURCE='$RRMM_API_TOKEN'
else
    API_TOKEN_SOURCE="${RRMM_API_TOKEN_FILE:-var/api.token}"
fi
RRMM_API_TOKEN="$(python -m bot.plugins.tokens api)" || exit 2
RRMM_ACTION_TOKEN="$(python -m bot.plugins.tokens action)" || exit 2
export RRMM_API_TOKEN RRMM_ACTION_TOKEN

start_action_server() {
    local host="${RRMM_ACTION_INTERFACE:-127.0.0.1}"
    [ "$host" = "0.0.0.0" ] && host=127.0.0.1
    echo "==> starting the action server on ${RRMM_ACTION_INTERFACE:-127.0.0.1}:$ACTION_PORT (log: var/actions.log)"
    TF_CPP_MIN_LOG_LEVEL=3 python -m actions --port "$ACTION_PORT" >var/actions.log 2>&1 &
    ACTION_PID=$!
    trap 'kill $ACTION_PID 2>/dev/null || true' EXIT INT TERM
    for _ in $(seq 1 120); do
        if python - "$host" "$ACTION_PORT" <<'PY' 2>/dev/null; then return 0; fi
import sys, urllib.request
urllib.request.urlopen(f"http://{sys.argv[1]}:{sys.argv[2]}/health", timeout=1)
PY
        kill -0 "$ACTION_PID" 2>/dev/null || { echo "error: the action server stopped; see var/actions.log" >&2; tail -20 var/actions.log >&2; exit 1; }
        sleep 0.5
    done
    echo "error: the action server did not answer on port $ACTION_PORT within 60 s; see var/actions.log" >&2
    exit 1
}
