#!/usr/bin/env python3
"""The timing harness behind bench/hook.sh: spawns each case as an agent
does (a new process, the payload on stdin, stdout read to the end), times
it from spawn to exit with a monotonic clock, and interleaves the cases so
that a busy machine slows them all alike. Standard library only.

Usage: hook.py N WORKDIR GATE   (bench/hook.sh prepares WORKDIR)
"""

import json
import os
import sys
import threading
import time

N = int(sys.argv[1])
WORK = sys.argv[2]
GATE = sys.argv[3]
ENV = dict(os.environ)


def spawn(argv, payload, env, faults=None):
    """Run argv with payload on stdin; return wall milliseconds. The
    process's minor page faults are appended to `faults` when given."""
    r, w = os.pipe()
    os.write(w, payload)
    os.close(w)
    t0 = time.perf_counter_ns()
    pid = os.posix_spawn(
        argv[0],
        argv,
        env,
        file_actions=[
            (os.POSIX_SPAWN_DUP2, r, 0),
            (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
            (os.POSIX_SPAWN_OPEN, 2, "/dev/null", os.O_WRONLY, 0),
        ],
    )
    _, status, usage = os.wait4(pid, 0)
    ms = (time.perf_counter_ns() - t0) / 1e6
    os.close(r)
    if faults is not None:
        faults.append(usage.ru_minflt)
    code = os.waitstatus_to_exitcode(status)
    return ms, code


def payload(name):
    with open(os.path.join(WORK, name + ".json"), "rb") as f:
        return f.read()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
CASES = [
    ("/bin/true", ["/bin/true"], b"", {}),
    ("python3 hook that only parses the JSON", [python, "-c", "import json,sys; json.load(sys.stdin)"], payload("git-status"), {}),
    ("gate --version", [GATE, "--version"], b"", {}),
    ("gate check -- 'git status' (no receipt)", [GATE, "check", "--", "git status"], b"", {}),
    ("hook: Bash 'git status' (floor, receipt)", [GATE, "hook"], payload("git-status"), {}),
    ("hook: Bash 'ls -la && git status' (floor)", [GATE, "hook"], payload("ls-and-status"), {}),
    ("hook: Read (floor)", [GATE, "hook"], payload("read"), {}),
    ("hook: Bash 'rm -rf build' (deny)", [GATE, "hook"], payload("rm"), {}),
    ("hook: PostToolUse outcome", [GATE, "hook"], payload("post"), {}),
    ("hook: SessionEnd + signed checkpoint", [GATE, "hook"], payload("end"), {}),
    ("hook: Bash 'git status', GATE_DURABILITY=full", [GATE, "hook"], payload("git-status"), {"GATE_DURABILITY": "full"}),
    ("hook: Bash 'git status', no resident", [GATE, "hook"], payload("git-status"), {"GATE_RESIDENT": "off"}),
]

times = {name: [] for name, *_ in CASES}
faults = {name: [] for name, *_ in CASES}
bad = {}
for _ in range(N):
    for name, argv, data, extra in CASES:
        env = dict(ENV, **extra)
        ms, code = spawn(argv, data, env, faults[name])
        times[name].append(ms)
        if code not in (0, 2) or (name.startswith("hook: Bash 'git") and code != 0):
            bad[name] = code

true50, true99 = pct(times["/bin/true"], 0.5), pct(times["/bin/true"], 0.99)
# faults: the median of the process's minor page faults (pages of the binary
# and of memory it touched); a hook call's grow when scripts/hot-symbols.txt
# has gone stale.
print(f"{'case':<48} {'p50 ms':>8} {'p99 ms':>8} {'p50/true':>9} {'faults':>7}")
for name, *_ in CASES:
    p50, p99 = pct(times[name], 0.5), pct(times[name], 0.99)
    print(f"{name:<48} {p50:8.2f} {p99:8.2f} {p50 / true50:8.1f}x {pct(faults[name], 0.5):7d}")

# Eight agents at once: each runs its calls with a pause between them, as an
# agent does between tool calls, all against the one store. Each agent is a
# process of its own (not a thread, which would wait for the others at
# Python's lock and add that to its timings), and /bin/true runs the same
# way first: the ratio compares like with like.
AGENTS = 8
per_agent = max(20, N // 2)


def agents_at_once(argv_for):
    """Run AGENTS forked agents, each `per_agent` calls; return all timings."""
    readers = []
    for i in range(AGENTS):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            argv, data = argv_for(i)
            mine, codes = [], []
            for _ in range(per_agent):
                ms, code = spawn(argv, data, ENV)
                mine.append(ms)
                codes.append(code)
                time.sleep(0.025)
            os.write(w, json.dumps({"ms": mine, "codes": codes}).encode())
            os._exit(0)
        os.close(w)
        readers.append((pid, r))
    out = []
    for pid, r in readers:
        chunks = []
        while True:
            b = os.read(r, 65536)
            if not b:
                break
            chunks.append(b)
        os.close(r)
        os.waitpid(pid, 0)
        got = json.loads(b"".join(chunks))
        out.extend(got["ms"])
        if any(c != 0 for c in got["codes"]):
            bad["8 agents"] = [c for c in got["codes"] if c != 0][0]
    return out


true_conc = agents_at_once(lambda i: (["/bin/true"], b""))
concurrent = agents_at_once(
    lambda i: ([GATE, "hook"], payload("git-status").replace(b"100a8fb1", b"agent%03d" % i))
)
t8 = pct(true_conc, 0.5)
c50, c99 = pct(concurrent, 0.5), pct(concurrent, 0.99)
print(f"{'/bin/true, 8 agents at once (25 ms apart)':<48} {t8:8.2f} {pct(true_conc, 0.99):8.2f} {t8 / true50:8.1f}x")
print(f"{'hook: git status, 8 agents at once (25 ms apart)':<48} {c50:8.2f} {c99:8.2f} {c50 / true50:8.1f}x")

g50 = pct(times["hook: Bash 'git status' (floor, receipt)"], 0.5)
g99 = pct(times["hook: Bash 'git status' (floor, receipt)"], 0.99)
print()
print(f"target, auto-approved Bash call with its receipt: p50 <= 2.5x /bin/true and p99 <= 5 ms")
print(f"  alone:         p50 {g50:.2f} ms = {g50 / true50:.1f}x /bin/true ({true50:.2f} ms); p99 {g99:.2f} ms")
print(f"  8 agents:      p50 {c50:.2f} ms = {c50 / t8:.1f}x /bin/true run 8 at once ({t8:.2f} ms); p99 {c99:.2f} ms")
if bad:
    print(f"unexpected exit codes: {json.dumps(bad)}", file=sys.stderr)
    sys.exit(1)
