#!/usr/bin/env bash
# Run every fuzz target for a bounded time (CI runs this after ./test.sh):
#   - installs cargo-fuzz when missing, and lets the stable compiler build it
#     (RUSTC_BOOTSTRAP=1: cargo fuzz passes nightly-only flags);
#   - builds all targets once, without a sanitizer (gate has no unsafe code
#     of its own) but with debug assertions and overflow checks, and with 16
#     codegen units (a faster build for a slightly slower run);
#   - runs each target for GATE_FUZZ_SECONDS (default 20), two at a time,
#     from its corpus in fuzz/corpus/ (not committed) plus seeds taken from
#     the repository: the agents' captured payloads, the policy files, the
#     floor, and the command lines of the floor's ground truth.
# A crash, a failed assertion or an input slower than GATE_FUZZ_TIMEOUT
# seconds (default 10) fails the run; its input is in fuzz/artifacts/<target>/
# and becomes a row in the tests. Extra arguments name the targets to run.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${GATE_FUZZ_SECONDS:-20}"
timeout="${GATE_FUZZ_TIMEOUT:-10}"
export RUSTC_BOOTSTRAP=1

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "fuzz/run.sh: installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi
# The fuzz crate is a workspace of its own: start from gate's own lock file so
# that gate is fuzzed with the dependency versions it is tested with.
[ -f fuzz/Cargo.lock ] || cp Cargo.lock fuzz/Cargo.lock

flags=(--sanitizer none --debug-assertions --codegen-units 16)
start=$(date +%s)
cargo fuzz build "${flags[@]}"
built=$(date +%s)
echo "fuzz/run.sh: built every target in $((built - start)) s"

# Seeds, by target.
seeds="$(mktemp -d)"
trap 'rm -rf "$seeds"' EXIT
fixtures=tests/fixtures
for pair in claude:claude-code-2.1.328 codex:codex-0.169.0 gemini:gemini-cli-0.61.0 \
  cursor:cursor-docs copilot:copilot-1.0.102 hermes:hermes-agent-0.19.0; do
  mkdir -p "$seeds/payload_${pair%%:*}" "$seeds/hook_payload"
  cp -r "$fixtures/${pair#*:}/." "$seeds/payload_${pair%%:*}/"
  cp -r "$fixtures/${pair#*:}/." "$seeds/hook_payload/${pair%%:*}"
done
mkdir -p "$seeds/policy" "$seeds/floor" "$seeds/analyze"
cp policies/default.toml policies/starter.toml "$seeds/policy/"
cp policies/floor.toml "$seeds/floor/"
if command -v python3 >/dev/null 2>&1; then
  python3 - "$seeds/analyze" <<'EOF' || true
import sys, tomllib
cases = tomllib.load(open("tests/data/floor_cases.toml", "rb"))["case"]
for i, c in enumerate(cases):
    open(f"{sys.argv[1]}/{i}", "w").write(c["cmd"])
EOF
fi

targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo fuzz list)

logs="$seeds/logs"
mkdir -p "$logs"
run() {
  local t="$1"
  mkdir -p "fuzz/corpus/$t" "$seeds/$t"
  if cargo fuzz run "${flags[@]}" "$t" "fuzz/corpus/$t" "$seeds/$t" -- \
    -max_total_time="$seconds" -timeout="$timeout" -print_final_stats=1 >"$logs/$t" 2>&1; then
    echo "fuzz/run.sh: $t: $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$logs/$t" | grep -o '[0-9]*$') runs, no failure"
  else
    echo "fuzz/run.sh: $t FAILED:" >&2
    tail -n 60 "$logs/$t" >&2
    return 1
  fi
}

failed=0
pids=()
for t in "${targets[@]}"; do
  run "$t" &
  pids+=($!)
  if [ ${#pids[@]} -ge 2 ]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do
  wait "$p" || failed=1
done
echo "fuzz/run.sh: ${#targets[@]} targets, ${seconds} s each, in $(($(date +%s) - start)) s (build included)"
exit "$failed"
