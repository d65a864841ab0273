#!/usr/bin/env bash
# Build and install gate, then hook it into every supported agent found on
# this machine (Claude Code, Codex CLI, Gemini CLI), and check each with
# `gate doctor`. Safe to run again: every step is idempotent.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v cargo >/dev/null 2>&1; then
  echo "install.sh: cargo is not on PATH; install Rust (https://rustup.rs) first" >&2
  exit 1
fi

cargo install --path . --locked --force

bin="${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin/gate"
if [ ! -x "$bin" ]; then
  echo "install.sh: cargo install finished but $bin is missing" >&2
  exit 1
fi
case ":$PATH:" in
  *":$(dirname "$bin"):"*) ;;
  *) echo "install.sh: note: $(dirname "$bin") is not on your PATH; add it to use \`gate\` by name" ;;
esac

# Hooks use the absolute path of this binary, so PATH does not matter to the agents.
"$bin" install
echo
# Which agents are protected, which are not (and why), with a self-test of each adapter.
if "$bin" doctor; then
  echo "install.sh: done. Open \`gate log\` after your next agent session."
else
  echo "install.sh: gate is installed, but an agent above is not protected; see \`gate doctor\`." >&2
  exit 1
fi
