# Shared by scripts/start, scripts/serve, scripts/web and scripts/actions: settings, the install's tokens, and
# where Rasa's warnings go (var/rasa.log, not the screen).
# var/ holds the conversations, the audit trail, the logs and the keys: the service account's alone (0700, its
# files 0600), also for an install made before this was so.
umask 077
mkdir -p var
chmod 700 var
chmod -R go-rwx var
RASA_PORT="${RASA_PORT:-5005}"                 # the Rasa server's port (every script)
RRMM_ACTION_PORT="${RRMM_ACTION_PORT:-5055}"   # an action server's port (scripts/actions, python -m actions)
export RASA_PORT RRMM_ACTION_PORT
# Rasa sends usage telemetry and error reports to Rasa's servers unless told not to: off here
# (RASA_TELEMETRY_ENABLED=true turns it back on). Storage and audit settings: docs/deploy.md.
export RASA_TELEMETRY_ENABLED="${RASA_TELEMETRY_ENABLED:-false}"
# Library warnings (TensorFlow, SQLAlchemy, Python's warnings) are for the log file, not the screen.
export TF_CPP_MIN_LOG_LEVEL=3 PYTHONWARNINGS=ignore SQLALCHEMY_SILENCE_UBER_WARNING=1
# Every server listens on loopback unless told otherwise: RASA_INTERFACE (Rasa), RRMM_ACTION_INTERFACE
# (an action server). docs/security.md.
RASA_INTERFACE="${RASA_INTERFACE:-127.0.0.1}"

# The HTTP API / REST channel token: RRMM_API_TOKEN when set, else the per-install file var/api.token (created
# once, mode 0600, its path printed then). API_TOKEN_SOURCE says where programs find it (a variable name or a
# path, never the value). The action token is only for action servers (RRMM_ACTION_URL; scripts/actions).
if [ -n "${RRMM_API_TOKEN:-}" ]; then
    API_TOKEN_SOURCE='$RRMM_API_TOKEN'
else
    API_TOKEN_SOURCE="${RRMM_API_TOKEN_FILE:-var/api.token}"
fi
RRMM_API_TOKEN="$(python -m bot.plugins.tokens api)" || exit 2
export RRMM_API_TOKEN
if [ -n "${RRMM_ACTION_URL:-}" ]; then
    RRMM_ACTION_TOKEN="$(python -m bot.plugins.tokens action)" || exit 2
    export RRMM_ACTION_TOKEN
fi

# Where the custom actions run, for the scripts' first lines.
actions_where() {
    if [ -n "${RRMM_ACTION_URL:-}" ]; then
        echo "the action servers at $RRMM_ACTION_URL (they need the same RRMM_ACTION_TOKEN)"
    else
        echo "inside the Rasa server"
    fi
}
