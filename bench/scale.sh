#!/usr/bin/env bash
# Scale benchmark: a receipt of a million realistic rows (six agents,
# thousands of sessions over six months, a real hash chain and a signed
# checkpoint, written by examples/fill_store through gate's own writer),
# then the reading commands against it, each the median of several runs,
# beside its target, with its peak memory.
#
# Usage: bench/scale.sh
#   GATE_SCALE_HOME=dir   keep the 1M store in dir (generated there once,
#                         reused by later runs); default: a temporary one
#   GATE_SCALE_ROWS=n     rows in the big store (default 1000000)
#   GATE_SCALE_RUNS=n     runs per command (default 5)
# Timings on a busy machine are noisy: compare medians, and the CPU time.
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${GATE_SCALE_ROWS:-1000000}"
runs="${GATE_SCALE_RUNS:-5}"
target="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release --quiet --bin gate --example fill_store
gate="$target/release/gate"
fill="$target/release/examples/fill_store"
for b in "$gate" "$fill"; do
  [ -x "$b" ] || { echo "scale.sh: $b is not there; no figures without the binary" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "scale.sh: needs /usr/bin/time (GNU time) for peak memory" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export HOME="$work/home"
mkdir -p "$HOME"

# Generate a store of $2 rows in $1 unless one is there; print its fill log.
generate() {
  local home="$1" n="$2"
  if [ -f "$home/gate.db" ]; then
    if [ -f "$home/fill.log" ]; then cat "$home/fill.log"; fi
    return 0
  fi
  mkdir -p "$home"
  "$fill" "$home" "$n" | tee "$home/fill.log"
}

# median wall ms, median CPU s and median peak RSS of $runs runs of a command.
measure() {
  local name="$1" goal="$2"; shift 2
  local walls=() cpus=() rss=()
  for _ in $(seq "$runs"); do
    local t0 t1
    t0=$(date +%s%N)
    /usr/bin/time -o "$work/time" -f '%U %S %M' "$@" >/dev/null 2>"$work/err" || { echo "scale.sh: $name failed:" >&2; cat "$work/err" >&2; exit 1; }
    t1=$(date +%s%N)
    walls+=($(( (t1 - t0) / 1000000 )))
    read -r u s m < "$work/time"
    cpus+=("$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')")
    rss+=("$m")
  done
  local mid=$(( runs / 2 + 1 ))
  local wall cpu mem
  wall=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n "${mid}p")
  cpu=$(printf '%s\n' "${cpus[@]}" | sort -n | sed -n "${mid}p")
  mem=$(printf '%s\n' "${rss[@]}" | sort -n | sed -n "${mid}p")
  printf '%-40s %8d ms  cpu %6.2f s  rss %7.1f MB  target %s\n' "$name" "$wall" "$cpu" "$(awk -v m="$mem" 'BEGIN { print m / 1024 }')" "$goal"
}

big="${GATE_SCALE_HOME:-$work/big}"
small="$work/small"
echo "== generating $rows rows (reused when $big/gate.db exists)"
generate "$big" "$rows"
echo "== generating 100000 rows, to compare memory"
generate "$small" 100000 >/dev/null

export GATE_HOME="$big"
n=$(sqlite3 "$big/gate.db" 'SELECT COUNT(*) FROM receipts' 2>/dev/null || "$gate" verify --json | sed -n 's/.*"rows": \([0-9]*\).*/\1/p' | head -1)
last=$("$gate" log --json --limit 1 | sed -n 's/.*"session_id": "\([^"]*\)".*/\1/p' | head -1)
bytes=$(stat -c %s "$big/gate.db")
echo "== $n rows, last session ${last:0:8}, median of $runs runs (wall, CPU, peak RSS)"
measure "gate log <last session>" "< 100 ms" "$gate" log "${last:0:8}"
measure "gate log (list sessions)" "< 200 ms" "$gate" log
measure "gate export (everything, JSONL)" "< 5 s, constant memory" "$gate" export
measure "gate verify" "< 3 s" "$gate" verify
measure "gate log --agent codex" "-" "$gate" log --agent codex
measure "gate log --repo /home/dev/src/api" "-" "$gate" log --repo /home/dev/src/api
measure "gate log --since 7d" "-" "$gate" log --since 7d
measure "gate digest (last 7 days)" "-" "$gate" digest
measure "gate export --format ocsf" "-" "$gate" export --format ocsf
runs=1 measure "gate log --rule no-rm-rf (1 run)" "-" "$gate" log --rule no-rm-rf
runs=1 measure "gate log --grep ghp_ (1 run)" "-" "$gate" log --grep ghp_
GATE_HOME="$small" measure "gate export, 100k rows (memory)" "same RSS as 1M" "$gate" export
GATE_HOME="$small" measure "gate verify, 100k rows" "-" "$gate" verify
awk -v b="$bytes" -v n="$n" 'BEGIN { printf "database: %.0f MB for %d rows = %.0f MB per million receipts (%.0f bytes a row)\n", b / 1e6, n, b / n, b / n }'
