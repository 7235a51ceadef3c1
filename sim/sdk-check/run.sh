#!/usr/bin/env bash
# Official CapMonster Cloud SDKs vs. capmonster-sim (issue 3).
#
# Installs the official Python SDK (capmonstercloudclient) and JS SDK
# (@zennolab_com/capmonstercloud-client) from their registries into throwaway
# directories, starts the simulator on a free loopback port and lets each SDK,
# unchanged, solve an ImageToText task and a reCAPTCHA v2 task. Then checks the
# simulator's stats (no task over the poll limit, no key lock).
#
# Exit status: 0 = every installed SDK passed, or nothing could be installed
# (prints "SKIP: ..."; the CI path without registry access); non-zero = an SDK
# that installed fine failed, or the simulator misbehaved.
#
# Environment knobs:
#   SDK_CHECK_STRICT=1         an SDK that cannot be installed is a failure, not a skip
#   SDK_CHECK_KEEP=1           keep the throwaway directory (path is printed)
#   SDK_CHECK_SOLVE_TIME=...   simulator --solve-time value (default '*=0.5..2';
#                              empty = the simulator's built-in solve times)
#   SDK_CHECK_INSTALL_TIMEOUT  seconds per SDK install (default 300)
#   SDK_CHECK_RUN_TIMEOUT      seconds per SDK run (default 120)
set -euo pipefail

PY_SDK_VERSION=4.3.1
JS_SDK_VERSION=2.6.1
KEY=0123456789abcdef0123456789abcdef
SOLVE_TIME=${SDK_CHECK_SOLVE_TIME-'*=0.5..2'}
INSTALL_TIMEOUT=${SDK_CHECK_INSTALL_TIMEOUT:-300}
RUN_TIMEOUT=${SDK_CHECK_RUN_TIMEOUT:-120}
STRICT=${SDK_CHECK_STRICT:-0}

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
IMAGE_JSON=$ROOT/cli/examples/tasks/image-to-text.json

WORK=$(mktemp -d "${TMPDIR:-/tmp}/capmonster-sdk-check.XXXXXX")
SIM_PID=
cleanup() {
    local rc=$?
    if [[ -n $SIM_PID ]] && kill -0 "$SIM_PID" 2>/dev/null; then
        kill "$SIM_PID" 2>/dev/null || true
        wait "$SIM_PID" 2>/dev/null || true
    fi
    if [[ ${SDK_CHECK_KEEP:-0} == 1 ]]; then
        echo "sdk-check: kept $WORK" >&2
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log() { printf '== %s\n' "$*"; }

command -v timeout >/dev/null || { echo "sdk-check: coreutils 'timeout' is required" >&2; exit 2; }
[[ -f $IMAGE_JSON ]] || { echo "sdk-check: missing $IMAGE_JSON" >&2; exit 2; }

# ---------------------------------------------------------------- install SDKs
skip() { # skip SDK REASON LOGFILE
    echo "SKIP: $1 SDK: $2"
    if [[ -n ${3:-} && -s $3 ]]; then tail -n 5 "$3" | sed 's/^/    /'; fi
    if [[ $STRICT == 1 ]]; then echo "sdk-check: SDK_CHECK_STRICT=1, failing" >&2; exit 1; fi
}

PY_OK=0
if ! command -v python3 >/dev/null; then
    skip python "python3 not found"
elif ! python3 -m venv "$WORK/venv" >"$WORK/venv.log" 2>&1; then
    skip python "python3 -m venv failed" "$WORK/venv.log"
else
    log "installing capmonstercloudclient==$PY_SDK_VERSION (PyPI)"
    if timeout "$INSTALL_TIMEOUT" "$WORK/venv/bin/python" -m pip install \
        --disable-pip-version-check --no-input --retries 2 --timeout 20 \
        "capmonstercloudclient==$PY_SDK_VERSION" >"$WORK/pip.log" 2>&1; then
        PY_OK=1
        "$WORK/venv/bin/python" -m pip list --disable-pip-version-check 2>/dev/null \
            | grep -Ei '^(capmonstercloudclient|aiohttp|pydantic) ' | sed 's/^/    /' || true
    else
        skip python "pip install failed or timed out (registry unreachable?)" "$WORK/pip.log"
    fi
fi

JS_OK=0
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    skip js "node/npm not found"
else
    log "installing @zennolab_com/capmonstercloud-client@$JS_SDK_VERSION (npm, node $(node --version))"
    mkdir -p "$WORK/npm"
    if (cd "$WORK/npm" && npm init -y >/dev/null 2>&1 &&
        timeout "$INSTALL_TIMEOUT" npm install --no-audit --no-fund --fetch-retries=2 \
            "@zennolab_com/capmonstercloud-client@$JS_SDK_VERSION") >"$WORK/npm.log" 2>&1; then
        JS_OK=1
        echo "    @zennolab_com/capmonstercloud-client $(node -p "require('$WORK/npm/node_modules/@zennolab_com/capmonstercloud-client/package.json').version")"
    else
        skip js "npm install failed or timed out (registry unreachable?)" "$WORK/npm.log"
    fi
fi

if [[ $PY_OK == 0 && $JS_OK == 0 ]]; then
    echo "SKIP: no official SDK could be installed; nothing to check"
    exit 0
fi

# ------------------------------------------------------------ build + start sim
log "building capmonster-sim (release)"
(cd "$ROOT" && cargo build --release -p capmonster-sim --bin capmonster-sim)
TARGET_DIR=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps \
    | grep -o '"target_directory":"[^"]*"' | head -n1 | sed 's/^"target_directory":"//; s/"$//')
SIM_BIN=${TARGET_DIR:-$ROOT/target}/release/capmonster-sim
[[ -x $SIM_BIN ]] || { echo "sdk-check: $SIM_BIN not found after build" >&2; exit 1; }

SIM_ARGS=(--addr 127.0.0.1:0 --seed 3)
[[ -n $SOLVE_TIME ]] && SIM_ARGS+=(--solve-time "$SOLVE_TIME")
log "starting $SIM_BIN ${SIM_ARGS[*]}"
"$SIM_BIN" "${SIM_ARGS[@]}" >"$WORK/sim.out" 2>"$WORK/sim.err" &
SIM_PID=$!
BASE=
for _ in $(seq 1 100); do
    if [[ -s $WORK/sim.out ]]; then
        BASE=$(head -n1 "$WORK/sim.out" | tr -d '\r')
        [[ $BASE == http://* ]] && break
        BASE=
    fi
    kill -0 "$SIM_PID" 2>/dev/null || break
    sleep 0.1
done
if [[ -z $BASE ]]; then
    echo "sdk-check: simulator did not print its base URL" >&2
    cat "$WORK/sim.err" >&2 || true
    exit 1
fi
echo "    simulator at $BASE (pid $SIM_PID)"

# ------------------------------------------------------------------- run SDKs
FAILED=()
EXPECTED_TASKS=0
if [[ $PY_OK == 1 ]]; then
    log "python SDK: ImageToText + RecaptchaV2 against $BASE"
    EXPECTED_TASKS=$((EXPECTED_TASKS + 2))
    if ! timeout "$RUN_TIMEOUT" "$WORK/venv/bin/python" "$HERE/py_client.py" "$BASE" "$KEY" "$IMAGE_JSON"; then
        FAILED+=(python)
    fi
fi
if [[ $JS_OK == 1 ]]; then
    log "js SDK: ImageToText + RecaptchaV2 against $BASE"
    EXPECTED_TASKS=$((EXPECTED_TASKS + 2))
    if ! NODE_PATH="$WORK/npm/node_modules" timeout "$RUN_TIMEOUT" \
        node "$HERE/js_client.js" "$BASE" "$KEY" "$IMAGE_JSON"; then
        FAILED+=(js)
    fi
fi

# ---------------------------------------------------------------- sim stats
log "simulator stats ($BASE/_sim/stats)"
if command -v curl >/dev/null; then
    STATS=$(curl -fsS --max-time 10 "$BASE/_sim/stats")
else
    STATS=$(python3 -c 'import sys,urllib.request;print(urllib.request.urlopen(sys.argv[1],timeout=10).read().decode())' "$BASE/_sim/stats")
fi
if command -v python3 >/dev/null; then
    printf '%s' "$STATS" | python3 -m json.tool
else
    printf '%s\n' "$STATS"
fi
stat_num() { # compact or pretty JSON, top-level integer field
    printf '%s' "$STATS" | tr -d ' \n' | grep -o "\"$1\":[0-9]*" | head -n1 | cut -d: -f2
}
MAX_POLLS=$(stat_num max_polls_per_task)
OVER=$(stat_num tasks_over_poll_limit)
LOCKS=$(stat_num lock_events)
BLOCKED=$(stat_num blocked_requests)
SOLVED=$(stat_num tasks_solved)
CREATED=$(stat_num tasks_created)
echo "    tasks created=$CREATED solved=$SOLVED (expected $EXPECTED_TASKS), max polls/task=$MAX_POLLS," \
    "over poll limit=$OVER, lock events=$LOCKS, blocked requests=$BLOCKED"
STATS_BAD=0
if [[ -z $MAX_POLLS || -z $OVER || -z $LOCKS ]]; then
    echo "FAIL: could not read the simulator stats" >&2; STATS_BAD=1
else
    ((MAX_POLLS <= 120)) || { echo "FAIL: a task was polled $MAX_POLLS times (> 120)" >&2; STATS_BAD=1; }
    ((OVER == 0)) || { echo "FAIL: $OVER task(s) went over the poll limit" >&2; STATS_BAD=1; }
    ((LOCKS == 0)) || { echo "FAIL: $LOCKS key lock event(s)" >&2; STATS_BAD=1; }
    ((${BLOCKED:-0} == 0)) || { echo "FAIL: $BLOCKED blocked request(s)" >&2; STATS_BAD=1; }
    ((${SOLVED:-0} >= EXPECTED_TASKS)) || { echo "FAIL: only ${SOLVED:-0} of $EXPECTED_TASKS tasks solved" >&2; STATS_BAD=1; }
fi

# ------------------------------------------------------------------- verdict
if ((${#FAILED[@]} > 0)) || ((STATS_BAD)); then
    echo "sdk-check: FAILED (SDKs: ${FAILED[*]:-none}; stats check: $([[ $STATS_BAD == 1 ]] && echo failed || echo ok))" >&2
    echo "--- simulator stderr" >&2
    tail -n 20 "$WORK/sim.err" >&2 || true
    exit 1
fi
OK_LIST=()
((PY_OK)) && OK_LIST+=("python capmonstercloudclient $PY_SDK_VERSION")
((JS_OK)) && OK_LIST+=("js @zennolab_com/capmonstercloud-client $JS_SDK_VERSION")
echo "sdk-check: OK (${OK_LIST[0]}${OK_LIST[1]:+; ${OK_LIST[1]}})"
