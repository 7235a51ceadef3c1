#!/usr/bin/env bash
# Full-scale flood of the CLI's callback receiver (issue 18, items 2-3); not part of CI.
# Everything on 127.0.0.1; about a minute. Usage: soak/flood/run.sh
# Env: CAPMONSTER_BIN (default: build capmonster-cli in release), FLOOD_CONNS (1500),
# PAID_TASKS (3), HEAD_CONNS (1000), HEAD_BYTES (400000), FD_LIMIT (1024: the CLI's soft and
# hard descriptor limit), SIM_PORT (18631), CB_PORT (18640).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [[ -z "${CAPMONSTER_BIN:-}" ]]; then
    cargo build --release -q -p capmonster-cli
    CAPMONSTER_BIN="${CARGO_TARGET_DIR:-target}/release/capmonster"
fi
export CAPMONSTER_BIN
exec timeout 170 python3 soak/flood/flood.py
