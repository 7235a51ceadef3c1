#!/usr/bin/env bash
# Official SDKs vs. capmonster-sim (issues 3 and 22).
#
# Installs the official CapMonster Cloud Python SDK (capmonstercloudclient) and JS SDK
# (@zennolab_com/capmonstercloud-client), and the Anti-Captcha (anticaptchaofficial) and
# CapSolver (capsolver) Python SDKs, from their registries into throwaway directories,
# starts one simulator per dialect on free loopback ports (capmonster, anti-captcha,
# capsolver) and lets each SDK, unchanged, solve an ImageToText task and a reCAPTCHA v2
# task (the other services' SDKs also a Turnstile task) in its own dialect. Where an SDK
# hard-codes its host, py_others.py redirects it at run time (never by editing the
# package). Then checks each simulator's stats (no task over the poll limit, no key lock).
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
AC_SDK_VERSION=1.0.72
CS_SDK_VERSION=1.0.7
KEY=0123456789abcdef0123456789abcdef
CS_KEY=CAP-0123456789ABCDEF0123456789ABCDEF
SOLVE_TIME=${SDK_CHECK_SOLVE_TIME-'*=0.5..2'}
INSTALL_TIMEOUT=${SDK_CHECK_INSTALL_TIMEOUT:-300}
RUN_TIMEOUT=${SDK_CHECK_RUN_TIMEOUT:-120}
STRICT=${SDK_CHECK_STRICT:-0}

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
IMAGE_JSON=$ROOT/cli/examples/tasks/image-to-text.json

WORK=$(mktemp -d "${TMPDIR:-/tmp}/capmonster-sdk-check.XXXXXX")
SIM_PIDS=()
cleanup() {
    local rc=$?
    local pid
    for pid in "${SIM_PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
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
AC_OK=0
CS_OK=0
VENV_OK=0
if ! command -v python3 >/dev/null; then
    skip python "python3 not found"
elif ! python3 -m venv "$WORK/venv" >"$WORK/venv.log" 2>&1; then
    skip python "python3 -m venv failed" "$WORK/venv.log"
else
    VENV_OK=1
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

pip_install() { # pip_install LOG SPEC: into the shared venv
    timeout "$INSTALL_TIMEOUT" "$WORK/venv/bin/python" -m pip install \
        --disable-pip-version-check --no-input --retries 2 --timeout 20 "$2" >"$1" 2>&1
}
if [[ $VENV_OK == 1 ]]; then
    log "installing anticaptchaofficial==$AC_SDK_VERSION (PyPI)"
    if pip_install "$WORK/pip-ac.log" "anticaptchaofficial==$AC_SDK_VERSION"; then
        AC_OK=1
    else
        skip anticaptchaofficial "pip install failed or timed out (registry unreachable?)" "$WORK/pip-ac.log"
    fi
    log "installing capsolver==$CS_SDK_VERSION (PyPI)"
    if pip_install "$WORK/pip-cs.log" "capsolver==$CS_SDK_VERSION"; then
        CS_OK=1
    else
        skip capsolver "pip install failed or timed out (registry unreachable?)" "$WORK/pip-cs.log"
    fi
    "$WORK/venv/bin/python" -m pip list --disable-pip-version-check 2>/dev/null \
        | grep -Ei '^(anticaptchaofficial|capsolver|requests) ' | sed 's/^/    /' || true
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

if [[ $PY_OK == 0 && $JS_OK == 0 && $AC_OK == 0 && $CS_OK == 0 ]]; then
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

start_sim() { # start_sim DIALECT: starts a simulator, sets BASE
    local dialect=$1 out=$WORK/sim-$1.out err=$WORK/sim-$1.err pid
    local args=(--addr 127.0.0.1:0 --seed 3 --dialect "$dialect")
    [[ -n $SOLVE_TIME ]] && args+=(--solve-time "$SOLVE_TIME")
    log "starting $SIM_BIN ${args[*]}"
    "$SIM_BIN" "${args[@]}" >"$out" 2>"$err" &
    pid=$!
    SIM_PIDS+=("$pid")
    BASE=
    for _ in $(seq 1 100); do
        if [[ -s $out ]]; then
            BASE=$(head -n1 "$out" | tr -d '\r')
            [[ $BASE == http://* ]] && break
            BASE=
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if [[ -z $BASE ]]; then
        echo "sdk-check: the $dialect simulator did not print its base URL" >&2
        cat "$err" >&2 || true
        exit 1
    fi
    echo "    $dialect simulator at $BASE (pid $pid)"
}
BASE_CM= BASE_AC= BASE_CS=
if [[ $PY_OK == 1 || $JS_OK == 1 ]]; then start_sim capmonster; BASE_CM=$BASE; fi
if [[ $AC_OK == 1 ]]; then start_sim anti-captcha; BASE_AC=$BASE; fi
if [[ $CS_OK == 1 ]]; then start_sim capsolver; BASE_CS=$BASE; fi

# ------------------------------------------------------------------- run SDKs
FAILED=()
EXPECTED_TASKS=0
if [[ $PY_OK == 1 ]]; then
    log "python SDK: ImageToText + RecaptchaV2 against $BASE_CM"
    EXPECTED_TASKS=$((EXPECTED_TASKS + 2))
    if ! timeout "$RUN_TIMEOUT" "$WORK/venv/bin/python" "$HERE/py_client.py" "$BASE_CM" "$KEY" "$IMAGE_JSON"; then
        FAILED+=(python)
    fi
fi
if [[ $JS_OK == 1 ]]; then
    log "js SDK: ImageToText + RecaptchaV2 against $BASE_CM"
    EXPECTED_TASKS=$((EXPECTED_TASKS + 2))
    if ! NODE_PATH="$WORK/npm/node_modules" timeout "$RUN_TIMEOUT" \
        node "$HERE/js_client.js" "$BASE_CM" "$KEY" "$IMAGE_JSON"; then
        FAILED+=(js)
    fi
fi
if [[ $AC_OK == 1 ]]; then
    log "anticaptchaofficial: ImageToText + RecaptchaV2TaskProxyless + TurnstileTaskProxyless against $BASE_AC (anti-captcha dialect)"
    if ! timeout "$RUN_TIMEOUT" "$WORK/venv/bin/python" "$HERE/py_others.py" anticaptchaofficial "$BASE_AC" "$KEY" "$IMAGE_JSON"; then
        FAILED+=(anticaptchaofficial)
    fi
fi
if [[ $CS_OK == 1 ]]; then
    log "capsolver: ImageToText + ReCaptchaV2TaskProxyLess + AntiTurnstileTaskProxyLess against $BASE_CS (capsolver dialect)"
    if ! timeout "$RUN_TIMEOUT" "$WORK/venv/bin/python" "$HERE/py_others.py" capsolver "$BASE_CS" "$CS_KEY" "$IMAGE_JSON"; then
        FAILED+=(capsolver)
    fi
fi

# ---------------------------------------------------------------- sim stats
STATS_BAD=0
check_stats() { # check_stats LABEL BASE EXPECTED_TASKS
    local label=$1 base=$2 expected=$3 stats
    log "$label simulator stats ($base/_sim/stats)"
    if command -v curl >/dev/null; then
        stats=$(curl -fsS --max-time 10 "$base/_sim/stats")
    else
        stats=$(python3 -c 'import sys,urllib.request;print(urllib.request.urlopen(sys.argv[1],timeout=10).read().decode())' "$base/_sim/stats")
    fi
    if command -v python3 >/dev/null; then
        printf '%s' "$stats" | python3 -m json.tool
    else
        printf '%s\n' "$stats"
    fi
    stat_num() { # compact or pretty JSON, top-level integer field
        printf '%s' "$stats" | tr -d ' \n' | grep -o "\"$1\":[0-9]*" | head -n1 | cut -d: -f2
    }
    local max_polls over locks blocked solved created
    max_polls=$(stat_num max_polls_per_task)
    over=$(stat_num tasks_over_poll_limit)
    locks=$(stat_num lock_events)
    blocked=$(stat_num blocked_requests)
    solved=$(stat_num tasks_solved)
    created=$(stat_num tasks_created)
    echo "    $label: tasks created=$created solved=$solved (expected $expected), max polls/task=$max_polls," \
        "over poll limit=$over, lock events=$locks, blocked requests=$blocked"
    if [[ -z $max_polls || -z $over || -z $locks ]]; then
        echo "FAIL: could not read the $label simulator stats" >&2; STATS_BAD=1
    else
        ((max_polls <= 120)) || { echo "FAIL: $label: a task was polled $max_polls times (> 120)" >&2; STATS_BAD=1; }
        ((over == 0)) || { echo "FAIL: $label: $over task(s) went over the poll limit" >&2; STATS_BAD=1; }
        ((locks == 0)) || { echo "FAIL: $label: $locks key lock event(s)" >&2; STATS_BAD=1; }
        ((${blocked:-0} == 0)) || { echo "FAIL: $label: $blocked blocked request(s)" >&2; STATS_BAD=1; }
        ((${solved:-0} >= expected)) || { echo "FAIL: $label: only ${solved:-0} of $expected tasks solved" >&2; STATS_BAD=1; }
    fi
}
[[ -n $BASE_CM ]] && check_stats capmonster "$BASE_CM" "$EXPECTED_TASKS"
[[ -n $BASE_AC ]] && check_stats anti-captcha "$BASE_AC" 3
[[ -n $BASE_CS ]] && check_stats capsolver "$BASE_CS" 3

# ------------------------------------------------------------------- verdict
if ((${#FAILED[@]} > 0)) || ((STATS_BAD)); then
    echo "sdk-check: FAILED (SDKs: ${FAILED[*]:-none}; stats check: $([[ $STATS_BAD == 1 ]] && echo failed || echo ok))" >&2
    for err in "$WORK"/sim-*.err; do
        echo "--- $(basename "$err")" >&2
        tail -n 20 "$err" >&2 || true
    done
    exit 1
fi
OK_LIST=()
((PY_OK)) && OK_LIST+=("python capmonstercloudclient $PY_SDK_VERSION")
((JS_OK)) && OK_LIST+=("js @zennolab_com/capmonstercloud-client $JS_SDK_VERSION")
((AC_OK)) && OK_LIST+=("python anticaptchaofficial $AC_SDK_VERSION (anti-captcha dialect)")
((CS_OK)) && OK_LIST+=("python capsolver $CS_SDK_VERSION (capsolver dialect)")
printf -v JOINED '%s; ' "${OK_LIST[@]}"
echo "sdk-check: OK (${JOINED%; })"
