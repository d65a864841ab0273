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

# The release build (statically linked on Linux: scripts/build-release),
# installed where `cargo install` would put it. The copy replaces the old
# binary in one rename, so an agent's hook never runs half a file.
built="$(scripts/build-release)"
bin="${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin/gate"
mkdir -p "$(dirname "$bin")"
tmp="$(dirname "$bin")/.gate.install.$$"
install -m 0755 "$built" "$tmp"
mv -f "$tmp" "$bin"
if [ ! -x "$bin" ]; then
  echo "install.sh: the build finished but $bin is missing" >&2
  exit 1
fi
case ":$PATH:" in
  *":$(dirname "$bin"):"*) ;;
  *) echo "install.sh: note: $(dirname "$bin") is not on your PATH; add it to use \`gate\` by name (the agents' hooks use the full path, so they work either way)" ;;
esac

# Hooks use the absolute path of this binary, so PATH does not matter to the agents.
install_out="$("$bin" install)"
echo "$install_out"
case "$install_out" in
  *"no supported agent found"*)
    echo "install.sh: found no agent to protect: gate is installed but hooked into nothing." >&2
    echo "install.sh: install an agent, then run \`$bin install\` (or \`$bin install claude\` to hook one anyway)." >&2
    ;;
esac

# The man page, and completions where this user's shells look for them.
man_dir="$HOME/.local/share/man/man1"
mkdir -p "$man_dir" && "$bin" man >"$man_dir/gate.1" && echo "install.sh: man page: $man_dir/gate.1 (\`man gate\`)"
completed=""
for pair in "bash:$HOME/.local/share/bash-completion/completions/gate" "zsh:$HOME/.zfunc/_gate" \
  "fish:$HOME/.config/fish/completions/gate.fish"; do
  shell="${pair%%:*}" file="${pair#*:}"
  if [ -d "$(dirname "$file")" ]; then
    "$bin" completions "$shell" >"$file" && completed="$completed $shell ($file)"
  fi
done
if [ -n "$completed" ]; then
  echo "install.sh: completions for$completed"
else
  echo "install.sh: no completion directory found; to add one: \`gate completions bash|zsh|fish\` (see \`gate completions --help\`)"
fi
echo
# Which agents are protected, which are not (and why), with a self-test of each adapter.
if "$bin" doctor; then
  echo "install.sh: done. Open \`gate log\` after your next agent session."
else
  echo "install.sh: gate is installed, but an agent above is not protected; see \`gate doctor\`." >&2
  exit 1
fi
