#!/usr/bin/env python3
"""Summarizes callgrind profiles of `e2e client hyper|bare|bare-tls` by component (instructions per task).

    bench/scripts/profile-components.py TASKS LABEL=callgrind.out ...

Each profile is read through `callgrind_annotate --inclusive=yes`; a component is the
inclusive cost of the functions that are its entry points (so nothing is counted twice):

- codec: `codec::read_answer_for`, `codec::task_result_request`, `codec::create_task_body`;
- state machine: `Solve::handle_response` (or, where answers are read outside it,
  `Solve::on_poll_answer` and `on_create_answer`), `Solve::poll_action`, `Solve::new` (or
  `new_with_schedule`), dropping a `Solve`, less the codec calls they make;
- ledger: `TaskRecord::intent`, `MemoryLedger::insert`, `Recorder::before_send`,
  `Recorder::after_answer`, `Recorder::finish`, dropping the `MemoryLedger`;
- transport: hyper-util's `Client::send_request` future and capmonster-hyper's `erase`;
- runtime and the rest: everything else (tokio's scheduler, the connection tasks, tracing's
  `Instrumented` wrappers, the benchmark's loop, the allocator outside the above).

A profile recorded with `--cache-sim=yes` adds two rows: the whole process's level-1
data-cache misses per task (reads and writes) and its level-1 instruction-cache misses per
task, as callgrind's cache simulation counts them; one recorded with `--branch-sim=yes` adds
two more: mispredicted conditional and indirect branches per task.

Markdown to stdout.
"""
import re
import subprocess
import sys

LINE = re.compile(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*?):(.*) \[(/[^\]]+)\]\s*$")
TOTAL = re.compile(r"\s*([\d,]+) \(100.0%\)\s+PROGRAM TOTALS")


def load(path):
    out = subprocess.run(
        ["callgrind_annotate", "--inclusive=yes", "--show=Ir", "--threshold=100", path],
        capture_output=True, text=True, check=True,
    ).stdout
    funcs, total = {}, 0
    for line in out.splitlines():
        m = LINE.match(line)
        if m:
            v = int(m.group(1).replace(",", ""))
            funcs[m.group(3)] = max(funcs.get(m.group(3), 0), v)
        m = TOTAL.match(line)
        if m:
            total = int(m.group(1).replace(",", ""))
    return funcs, total


def cost(funcs, pattern):
    return sum(v for k, v in funcs.items() if re.fullmatch(pattern, k))


def components(path):
    f, total = load(path)
    transport = cost(f, r"hyper_util::client::legacy::client::Client<C,B>::send_request::\{\{closure\}\}") + cost(
        f, r"capmonster_hyper::transport::erase::\{\{closure\}\}")
    codec = cost(f, r"capmonster_core::(?:\w+::)*codec::(read_answer_for|task_result_request|create_task_body)")
    solve = r"capmonster_core::(?:\w+::)*Solve::"
    inner_codec = cost(f, r"capmonster_core::(?:\w+::)*codec::(task_result_request|create_task_body)")
    if cost(f, solve + "handle_response"):
        # Older cores read the answer inside `handle_response`.
        answers = cost(f, solve + "handle_response") - cost(f, r"capmonster_core::(?:\w+::)*codec::read_answer_for")
    else:
        answers = cost(f, solve + "(on_poll_answer|on_create_answer)")
    build = cost(f, solve + "new") or cost(f, solve + "new_with_schedule")
    state = answers + build + cost(f, solve + "poll_action") + cost(
        f, r"core::ptr::drop_in_place<capmonster_core::(?:\w+::)*Solve>") - inner_codec
    state = max(state, 0)
    ledger = cost(
        f,
        r"capmonster_core::(?:\w+::)*TaskRecord::intent"
        r"|<capmonster_core::(?:\w+::)*MemoryLedger as capmonster_core::(?:\w+::)*Ledger>::insert"
        r"|capmonster_core::(?:\w+::)*Recorder::(before_send|after_answer|finish)"
        r"|core::ptr::drop_in_place<capmonster_core::(?:\w+::)*MemoryLedger>",
    )
    rest = total - transport - codec - state - ledger
    return {"codec": codec, "state": state, "ledger": ledger, "transport": transport, "rest": rest, "total": total}


NAMES = [
    ("codec", "codec (build requests, read answers)"),
    ("state", "state machine (`Solve`, policy)"),
    ("ledger", "ledger (intent record, `Recorder`, `MemoryLedger`)"),
    ("transport", "transport (hyper-util request futures, capmonster-hyper glue)"),
    ("rest", "runtime and the rest (tokio, connection tasks, tracing wrappers, loop, allocator)"),
    ("total", "**total**"),
]


def misses(path, events):
    """The sum of `events` (callgrind simulation counters such as `D1mr,D1mw` or `Bim`) over
    the whole profile, when it was recorded with them (`--cache-sim=yes`,
    `--branch-sim=yes`); `None` otherwise."""
    out = subprocess.run(
        ["callgrind_annotate", "--show=" + events, "--threshold=100", path],
        capture_output=True, text=True,
    ).stdout
    for line in out.splitlines():
        if "PROGRAM TOTALS" in line:
            nums = [int(x.replace(",", "")) for x in re.findall(r"([\d,]+) \(", line)]
            return sum(nums) if len(nums) == len(events.split(",")) else None
    return None


MISS_ROWS = [
    ("D1mr,D1mw", "L1 data-cache misses per task (callgrind's cache simulation: {D1})"),
    ("I1mr", "L1 instruction-cache misses per task (the same simulation: {I1})"),
    ("Bcm", "mispredicted conditional branches per task (callgrind's branch simulation)"),
    ("Bim", "mispredicted indirect branches per task (calls through pointers, `match` jump tables)"),
]


def cache_shapes(path):
    """The simulated caches as callgrind recorded them in the profile's header (it takes the
    host's), e.g. {"I1": "64 KiB, 4-way", "D1": "32 KiB, 8-way"}."""
    shapes = {}
    with open(path, errors="replace") as f:
        for _, line in zip(range(64), f):
            m = re.match(r"desc: (I1|D1) cache:\s+(\d+) B, \d+ B, (\d+)-way", line)
            if m:
                shapes[m.group(1)] = f"{int(m.group(2)) // 1024} KiB, {m.group(3)}-way"
    return shapes


def main():
    tasks = int(sys.argv[1])
    cols = []
    for arg in sys.argv[2:]:
        label, path = arg.split("=", 1)
        cols.append((label, components(path), [misses(path, ev) for ev, _ in MISS_ROWS]))
    print("| component (instructions per task) | " + " | ".join(l for l, _, _ in cols) + " |")
    print("|---|" + "---|" * len(cols))
    for key, name in NAMES:
        print(f"| {name} | " + " | ".join(f"{c[key] / tasks / 1000:.1f}k" for _, c, _ in cols) + " |")
    shapes = cache_shapes(sys.argv[2].split("=", 1)[1])
    for i, (_, name) in enumerate(MISS_ROWS):
        if all(m[i] is not None for _, _, m in cols):
            name = name.format(I1=shapes.get("I1", "size not recorded"), D1=shapes.get("D1", "size not recorded"))
            print(f"| {name} | " + " | ".join(f"{m[i] / tasks:.0f}" for _, _, m in cols) + " |")


if __name__ == "__main__":
    main()
