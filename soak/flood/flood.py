#!/usr/bin/env python3
"""Connection flood and head-memory soak of the CLI's callback receiver (issue 18, items 2-3).

Everything runs on 127.0.0.1. Started by run.sh; see README there. Prints one figure per line.

Phase A (connection flood): the simulator (solve time 4-5 s) and the CLI with
--callback-listen under a descriptor limit of FD_LIMIT (soft and hard: the receiver cannot
raise it). As soon as the receiver listens, an attacker opens FLOOD_CONNS idle connections
to it and reopens each one the server closes, while the CLI's PAID_TASKS Turnstile tasks are
solved (fallback poll after 20 s). Figures: tasks solved vs gave up, callbacks the CLI
received, getTaskResult requests, seconds from start to each result.

Phase B (unfinished heads): a fresh CLI with one task pending (solve time 15 s);
HEAD_CONNS connections each send HEAD_BYTES of header lines without the blank line that ends
the head. Figures: the CLI's RSS before, at the end of the attack, peak (VmHWM) and 1 s
after; whether the pending task was then solved by its callback.
"""

import json
import os
import resource
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time

BIN = os.environ["CAPMONSTER_BIN"]
SIM_PORT = int(os.environ.get("SIM_PORT", "18631"))
CB_PORT = int(os.environ.get("CB_PORT", "18640"))
FLOOD_CONNS = int(os.environ.get("FLOOD_CONNS", "1500"))
PAID_TASKS = int(os.environ.get("PAID_TASKS", "3"))
HEAD_CONNS = int(os.environ.get("HEAD_CONNS", "1000"))
HEAD_BYTES = int(os.environ.get("HEAD_BYTES", "400000"))
FD_LIMIT = int(os.environ.get("FD_LIMIT", "1024"))
KEY = "0123456789abcdef0123456789abcdef"
TASK = json.dumps({"type": "TurnstileTask", "websiteURL": "https://example.com/",
                   "websiteKey": "0x4AAAAAAABUYP0XeMJF0xoy"})
SLOW_TASK = json.dumps({"type": "RecaptchaV2Task", "websiteURL": "https://example.com/",
                        "websiteKey": "6Lcg7CMUAAAAANphynKgn9YAgA4tQ2KI_iqRyTwd"})

# The attacker needs more descriptors than the CLI gets.
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
want = min(hard, max(soft, FLOOD_CONNS + HEAD_CONNS + 512))
resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def say(name, value):
    print(f"{name}: {value}", flush=True)


def limit_fds():
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))


def rss_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def wait_port(port, deadline=10.0):
    end = time.time() + deadline
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def start_cli(tasks):
    """The CLI with the callback receiver on CB_PORT, under the descriptor limit, given
    `tasks` (it reads its input before it starts the receiver)."""
    env = dict(os.environ, CAPMONSTER_CLIENT_KEY=KEY)
    env.pop("CAPMONSTER_LEDGER", None)
    cmd = [BIN, "--base-url", f"http://127.0.0.1:{SIM_PORT}", "--callback-listen",
           f"127.0.0.1:{CB_PORT}", "--timeout", "45", "-v", "solve-many", "--concurrency",
           str(max(len(tasks), 1)), "-"]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env, preexec_fn=limit_fds, text=True)
    p.stdin.write("".join(t + "\n" for t in tasks))
    p.stdin.close()
    p.stdin = None
    if not wait_port(CB_PORT):
        p.kill()
        sys.exit("the CLI's callback receiver did not start")
    return p


class Flooder:
    """Holds `n` idle connections to the callback port, reopening any the server closes."""

    def __init__(self, n):
        self.n = n
        self.socks = []
        self.stop = False
        self.reopened = 0
        self.failed_connects = 0
        self.established = None
        self.t = threading.Thread(target=self.run, daemon=True)

    def connect(self):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", CB_PORT))
        except BlockingIOError:
            pass
        except OSError:
            self.failed_connects += 1
            s.close()
            return None
        return s

    def run(self):
        sel = selectors.DefaultSelector()
        while len(self.socks) < self.n and not self.stop:
            s = self.connect()
            if s:
                self.socks.append(s)
                sel.register(s, selectors.EVENT_READ)
        self.established = time.time()
        while not self.stop:
            for key, _ in sel.select(timeout=0.2):
                s = key.fileobj
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(s)
                    self.socks.remove(s)
                    s.close()
                    n = self.connect()
                    if n:
                        self.socks.append(n)
                        sel.register(n, selectors.EVENT_READ)
                        self.reopened += 1
        for s in self.socks:
            s.close()


def drain(stream, out):
    for line in stream:
        out.append((time.time(), line.rstrip("\n")))


def phase_a():
    say("phase A", f"{FLOOD_CONNS} idle connections held against the CLI (ulimit -n {FD_LIMIT}) "
        f"while {PAID_TASKS} paid Turnstile tasks are solved (sim: 4-5 s; fallback poll 20 s)")
    started = time.time()
    cli = start_cli([TASK] * PAID_TASKS)
    fl = Flooder(FLOOD_CONNS)
    fl.t.start()
    results, log = [], []
    readers = [threading.Thread(target=drain, args=(cli.stdout, results), daemon=True),
               threading.Thread(target=drain, args=(cli.stderr, log), daemon=True)]
    for r in readers:
        r.start()
    time.sleep(2)
    say("A flood connections held 2 s in", len(fl.socks))
    if fl.established:
        say("A flood in place after (s)", f"{fl.established - started:.2f}")
    try:
        cli.wait(timeout=70)
    except subprocess.TimeoutExpired:
        cli.kill()
    for r in readers:
        r.join(timeout=2)
    fl.stop = True
    fl.t.join(timeout=5)
    solved = sum(1 for _, l in results if '"solution"' in l)
    gave_up = sum(1 for _, l in results if '"error"' in l)
    say("A tasks solved", solved)
    say("A tasks gave up", gave_up)
    say("A callbacks received by the CLI", sum(1 for _, l in log if "callback received" in l))
    say("A getTaskResult requests", sum(1 for _, l in log if 'endpoint="getTaskResult"' in l
                                        and "request sent" in l))
    say("A seconds from start to each result", " ".join(f"{t - started:.2f}" for t, _ in results))
    say("A attacker reconnects (connections the server closed)", fl.reopened)
    say("A attacker failed connects", fl.failed_connects)
    say("A CLI exit code", cli.returncode)
    for _, l in results:
        if '"error"' in l:
            say("A error line", l[:300])


def phase_b():
    say("phase B", f"{HEAD_CONNS} connections x {HEAD_BYTES} bytes of unfinished headers "
        "(one task pending: sim 15 s)")
    started = time.time()
    cli = start_cli([SLOW_TASK])
    time.sleep(0.5)
    before = rss_kb(cli.pid, "VmRSS")
    line = b"X-Pad: " + b"a" * 90 + b"\r\n"
    head = b"POST /cb/x HTTP/1.1\r\nHost: x\r\n" + line * (HEAD_BYTES // len(line))
    socks = []
    lock = threading.Lock()

    def attack(chunk):
        for _ in range(chunk):
            try:
                s = socket.create_connection(("127.0.0.1", CB_PORT), timeout=2)
            except OSError:
                continue
            s.settimeout(1)
            try:
                s.sendall(head)
            except OSError:
                pass
            with lock:
                socks.append(s)

    t0 = time.time()
    threads = [threading.Thread(target=attack, args=(HEAD_CONNS // 8,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    during = rss_kb(cli.pid, "VmRSS")
    say("B attack seconds", f"{time.time() - t0:.1f}")
    for s in socks:
        s.close()
    time.sleep(1)
    after = rss_kb(cli.pid, "VmRSS")
    peak = rss_kb(cli.pid, "VmHWM")
    say("B RSS before (MB)", f"{before / 1024:.1f}")
    say("B RSS at end of attack (MB)", f"{during / 1024:.1f}")
    say("B peak RSS VmHWM (MB)", f"{peak / 1024:.1f}")
    say("B RSS 1 s after (MB)", f"{after / 1024:.1f}")
    try:
        out, err = cli.communicate(timeout=40)
    except subprocess.TimeoutExpired:
        cli.kill()
        out, err = cli.communicate()
    say("B the pending task", "solved" if '"solution"' in out else f"NOT solved: {out[:200]}")
    say("B its result by callback", "callback received" in err)
    say("B CLI exit code", cli.returncode)
    if cli.returncode != 0:
        say("B CLI stderr tail", err[-600:])
    say("B seconds from start to its result", f"{time.time() - started:.2f}")


def main():
    sim = subprocess.Popen([BIN, "sim", "--addr", f"127.0.0.1:{SIM_PORT}", "--solve-time",
                            "*=4..5", "--solve-time", "TurnstileTask=4..5", "--solve-time",
                            "RecaptchaV2Task=15..15"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    if not wait_port(SIM_PORT) or sim.poll() is not None:
        sim.kill()
        sys.exit("the simulator did not start")
    try:
        phase_a()
        phase_b()
    finally:
        sim.send_signal(signal.SIGINT)
        try:
            _, err = sim.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            sim.kill()
            _, err = sim.communicate()
    try:
        st = json.loads(err[err.index("{"):])
        say("sim callbacks sent", st.get("callbacks_sent"))
        say("sim callbacks failed", st.get("callbacks_failed"))
        say("sim tasks created", st.get("tasks_created"))
    except ValueError:
        say("sim stats", err[-300:])


main()
