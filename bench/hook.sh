#!/usr/bin/env bash
# Process-level benchmark of the hook, the way an agent runs it: one
# `gate hook` process per tool call, the payload on stdin, a real SQLite
# receipt. Prints p50 and p99 for gate, /bin/true and a minimal Python hook
# measured in the same run, and the ratios (timing: bench/hook.py).
#
# Usage: bench/hook.sh [N]   (default 300 runs per case)
# Measures the release binary of this checkout, under CARGO_TARGET_DIR when
# set; build it first with `scripts/build-release` (as install.sh does).
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-300}"
gate="${CARGO_TARGET_DIR:-$PWD/target}/release/gate"
if [ ! -x "$gate" ]; then
  echo "bench/hook.sh: no release binary at $gate; build it with \`scripts/build-release\` first" >&2
  exit 1
fi
if [ -n "$(find src policies Cargo.toml build.rs -newer "$gate" -print -quit)" ]; then
  echo "bench/hook.sh: warning: $gate is older than the sources; rebuild it with \`scripts/build-release\`" >&2
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export GATE_HOME="$work/gate" HOME="$work/home"
mkdir -p "$HOME" "$work/project"
# A clean repository with one commit, as `git status` usually meets one.
(cd "$work/project" && git init -q && echo hi > README && git add README &&
  git -c user.name=bench -c user.email=bench@localhost commit -qm init)
fixtures="$PWD/tests/fixtures/claude-code-2.1.328"
prep() { # fixture, name, [command]
  sed "s#\"cwd\": \"/home/dev/project\"#\"cwd\": \"$work/project\"#" "$fixtures/$1.json" > "$work/$2.json"
  if [ -n "${3:-}" ]; then
    python3 - "$work/$2.json" "$3" <<'PY'
import json, sys
p, cmd = sys.argv[1], sys.argv[2]
v = json.load(open(p))
v["tool_input"]["command"] = cmd
json.dump(v, open(p, "w"))
PY
  fi
}
prep PreToolUse-Bash-ls git-status "git status"
prep PreToolUse-Bash-ls ls-and-status
prep PreToolUse-Read read
prep PreToolUse-Bash-rm rm
prep PostToolUse-Bash-ls post
prep SessionEnd end
echo "gate hook benchmark: $("$gate" --version), $n runs per case, interleaved; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
python3 bench/hook.py "$n" "$work" "$gate"
echo "receipt rows written: $("$gate" export | wc -l); $("$gate" verify | head -1)"
