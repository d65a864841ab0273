#!/usr/bin/env bash
# Install what the tests need, then run them all:
#   - sqlite3 (the tests drop triggers and edit rows with it), tmux, zsh,
#     and every program the read-only floor lists (the flag-arity test
#     probes each of them), from the system's packages when missing;
#   - the real Claude Code CLI, pinned, from npm, into .e2e/ (not committed).
# Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")"

need() { command -v "$1" >/dev/null 2>&1; }

# The one list of programs to install: "command package" (Debian names).
# fd and bat are fdfind and batcat on Debian; xxd was in vim-common before
# Debian 12.
packages=(
  "sqlite3 sqlite3" "tmux tmux" "zsh zsh" "git git"
  "rg ripgrep" "fdfind fd-find" "batcat bat" "tree tree" "cal ncal"
  "crontab cron" "jq jq" "unzip unzip" "zipinfo unzip" "xxd xxd" "ps procps"
  "free procps" "uptime procps" "file file" "column bsdextrautils"
  "hexdump bsdextrautils" "rev util-linux" "lsblk util-linux" "strings binutils"
  "hostname hostname" "/usr/bin/time time" "which debianutils" "find findutils"
  "xargs findutils" "diff diffutils" "cmp diffutils" "locale libc-bin"
  "sed sed" "grep grep" "tar tar"
)
missing=()
for entry in "${packages[@]}"; do
  read -r cmd pkg <<<"$entry"
  if ! need "$cmd" && [[ " ${missing[*]} " != *" $pkg "* ]]; then
    missing+=("$pkg")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  if need apt-get; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "test.sh: installing ${missing[*]}"
    $sudo apt-get update -qq >/dev/null
    if [[ " ${missing[*]} " == *" xxd "* ]] && ! apt-cache show xxd >/dev/null 2>&1; then
      missing=("${missing[@]/#xxd/vim-common}")
    fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "test.sh: please install: ${missing[*]}" >&2
    exit 1
  fi
fi

CLAUDE_CODE_VERSION=2.1.328
e2e_dir="${GATE_E2E_DIR:-$PWD/.e2e}"
claude="$e2e_dir/node_modules/.bin/claude"
if [ ! -x "$claude" ] || ! "$claude" --version 2>/dev/null | grep -q "$CLAUDE_CODE_VERSION"; then
  if need npm; then
    echo "test.sh: installing @anthropic-ai/claude-code@$CLAUDE_CODE_VERSION into $e2e_dir"
    mkdir -p "$e2e_dir"
    npm install --prefix "$e2e_dir" --no-audit --no-fund --loglevel=error \
      "@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION" >/dev/null
  else
    echo "test.sh: npm is missing; the Claude Code end-to-end tests will be skipped" >&2
  fi
fi
if [ -x "$claude" ]; then
  export GATE_E2E_CLAUDE="$claude"
fi

cargo test --locked "$@"
