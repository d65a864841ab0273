#!/usr/bin/env bash
# Process-level benchmark of the hook, the way an agent runs it: one
# `gate hook` process per tool call, payload on stdin, a real SQLite receipt.
# Usage: bench/hook.sh [N]   (default 300 calls per case; needs a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-300}"
cargo build --release --quiet
gate="$PWD/target/release/gate"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export GATE_HOME="$work/gate" HOME="$work/home"
mkdir -p "$HOME" "$work/project"
(cd "$work/project" && git init -q)
fixtures="$PWD/tests/fixtures/claude-code-2.1.328"
prep() { sed "s#\"cwd\": \"/home/dev/project\"#\"cwd\": \"$work/project\"#" "$fixtures/$1.json" > "$work/$1.json"; }
for f in PreToolUse-Bash-ls PreToolUse-Read PreToolUse-Bash-rm PostToolUse-Bash-ls SessionEnd; do prep "$f"; done

# Nanosecond timings of N runs of a command; prints median and p99 in ms.
measure() {
  local name="$1"; shift
  local times=()
  for _ in $(seq "$n"); do
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1 || true
    t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v name="$name" '
    { a[NR] = $1 }
    END { printf "%-44s median %6.2f ms   p99 %6.2f ms   (%d runs)\n", name, a[int(NR*0.5)+1]/1000, a[int(NR*0.99)]/1000, NR }'
}

hook() { "$gate" hook < "$work/$1.json"; }
measure "no-op process (/bin/true)" /bin/true
measure "gate --version" "$gate" --version
measure "hook: Bash 'ls -la && git status' (floor)" hook PreToolUse-Bash-ls
measure "hook: Read (floor)" hook PreToolUse-Read
measure "hook: Bash 'rm -rf build' (deny)" hook PreToolUse-Bash-rm
measure "hook: PostToolUse outcome" hook PostToolUse-Bash-ls
# A session's end appends a row, then signs a checkpoint (Merkle root
# extended from the cached frontier, Ed25519, fsync of the checkpoint log).
measure "hook: SessionEnd + signed checkpoint" hook SessionEnd
echo "receipt rows written: $("$gate" export | wc -l); $("$gate" verify)"
