#!/usr/bin/env bash
# Install what the tests need, then run them all:
#   - sqlite3 (the tests drop triggers and edit rows with it), tmux, zsh,
#     chromium (the `gate serve` page is tested in it, headless), and every
#     program the read-only floor lists (the flag-arity test probes each of
#     them), from the system's packages when missing;
#   - PostgreSQL's server and openssl (the team store tests start a
#     throwaway cluster of their own, with TLS, on a free local port, and
#     stop it when they end);
#   - the real Claude Code, Codex, Gemini and Copilot CLIs, pinned, from
#     npm, into .e2e/ (not committed);
#   - the real Hermes agent, pinned, from PyPI, into a venv in .e2e/.
# Extra arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")"

need() { command -v "$1" >/dev/null 2>&1; }

# The one list of programs to install: "command package" (Debian names).
# fd and bat are fdfind and batcat on Debian; xxd was in vim-common before
# Debian 12.
packages=(
  "sqlite3 sqlite3" "tmux tmux" "zsh zsh" "git git" "chromium chromium"
  "rg ripgrep" "fdfind fd-find" "batcat bat" "tree tree" "cal ncal"
  "crontab cron" "jq jq" "unzip unzip" "zipinfo unzip" "xxd xxd" "ps procps"
  "free procps" "uptime procps" "file file" "column bsdextrautils"
  "hexdump bsdextrautils" "rev util-linux" "lsblk util-linux" "strings binutils"
  "hostname hostname" "/usr/bin/time time" "which debianutils" "find findutils"
  "xargs findutils" "diff diffutils" "cmp diffutils" "locale libc-bin"
  "sed sed" "grep grep" "tar tar" "python3 python3" "openssl openssl"
  "runuser util-linux"
)
missing=()
for entry in "${packages[@]}"; do
  read -r cmd pkg <<<"$entry"
  if ! need "$cmd" && [[ " ${missing[*]} " != *" $pkg "* ]]; then
    missing+=("$pkg")
  fi
done
# The server binaries live under /usr/lib/postgresql/<version>/bin, off PATH.
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && [ -z "${GATE_TEST_PG_BINDIR:-}" ]; then
  missing+=("postgresql")
fi
# Hermes' venv needs ensurepip, which Debian packages apart.
if need python3 && ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  missing+=("python3-venv")
fi
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

# The agent CLIs the end-to-end tests drive, pinned: "package version bin
# variable". All missing or mismatched ones are installed in one npm call.
agents=(
  "@anthropic-ai/claude-code 2.1.328 claude GATE_E2E_CLAUDE"
  "@openai/codex 0.169.0 codex GATE_E2E_CODEX"
  "@google/gemini-cli 0.61.0 gemini GATE_E2E_GEMINI"
  "@github/copilot 1.0.102 copilot GATE_E2E_COPILOT"
)
e2e_dir="${GATE_E2E_DIR:-$PWD/.e2e}"
installed_version() { # the version in node_modules/<package>/package.json
  sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$e2e_dir/node_modules/$1/package.json" 2>/dev/null | head -n 1
}
wanted=()
for entry in "${agents[@]}"; do
  read -r pkg version bin _ <<<"$entry"
  if [ ! -x "$e2e_dir/node_modules/.bin/$bin" ] || [ "$(installed_version "$pkg")" != "$version" ]; then
    wanted+=("$pkg@$version")
  fi
done
if [ ${#wanted[@]} -gt 0 ]; then
  if ! need npm; then
    echo "test.sh: npm is missing, so ${wanted[*]} cannot be installed; their end-to-end tests will be skipped (or fail under GATE_E2E_REQUIRE=1)" >&2
  else
    echo "test.sh: installing ${wanted[*]} into $e2e_dir"
    mkdir -p "$e2e_dir"
    if ! npm install --prefix "$e2e_dir" --save-exact --no-audit --no-fund --loglevel=error "${wanted[@]}" >/dev/null; then
      echo "test.sh: npm install ${wanted[*]} failed (see above); their end-to-end tests will be skipped (or fail under GATE_E2E_REQUIRE=1)" >&2
    fi
  fi
fi
for entry in "${agents[@]}"; do
  read -r pkg version bin var <<<"$entry"
  if [ -x "$e2e_dir/node_modules/.bin/$bin" ]; then
    export "$var=$e2e_dir/node_modules/.bin/$bin"
    if [ "$(installed_version "$pkg")" != "$version" ]; then
      echo "test.sh: warning: $pkg in $e2e_dir is not the pinned $version" >&2
    fi
  fi
done

# The Hermes agent, pinned, from PyPI into its own venv (it needs Python
# 3.11 to 3.13).
hermes_version=0.19.0
hermes_venv="$e2e_dir/hermes-venv"
hermes_skip="the Hermes end-to-end test will be skipped (or fail under GATE_E2E_REQUIRE=1)"
hermes_installed() {
  "$hermes_venv/bin/python" -c 'import importlib.metadata as m; print(m.version("hermes-agent"))' 2>/dev/null
}
if [ ! -x "$hermes_venv/bin/hermes" ] || [ "$(hermes_installed)" != "$hermes_version" ]; then
  python=""
  for candidate in python3 python3.13 python3.12 python3.11; do
    if need "$candidate" && "$candidate" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))' 2>/dev/null; then
      python="$candidate"
      break
    fi
  done
  if [ -z "$python" ]; then
    echo "test.sh: hermes-agent $hermes_version needs Python 3.11 to 3.13, and none was found; $hermes_skip" >&2
  else
    echo "test.sh: installing hermes-agent==$hermes_version into $hermes_venv"
    mkdir -p "$e2e_dir"
    if ! { [ -x "$hermes_venv/bin/pip" ] || "$python" -m venv "$hermes_venv"; }; then
      echo "test.sh: $python -m venv $hermes_venv failed (on Debian, python3-venv provides it); $hermes_skip" >&2
    elif ! "$hermes_venv/bin/pip" install --quiet --disable-pip-version-check "hermes-agent==$hermes_version" >/dev/null; then
      echo "test.sh: pip install hermes-agent==$hermes_version failed (see above); $hermes_skip" >&2
    fi
  fi
fi
if [ -x "$hermes_venv/bin/hermes" ]; then
  export GATE_E2E_HERMES="$hermes_venv/bin/hermes"
  if [ "$(hermes_installed)" != "$hermes_version" ]; then
    echo "test.sh: warning: hermes-agent in $hermes_venv is not the pinned $hermes_version" >&2
  fi
fi

cargo test --locked "$@"
