#!/usr/bin/env bash
# Push benchmark: a generated receipt (examples/fill_store, a real chain)
# pushed to a throwaway local PostgreSQL cluster started here (Debian's
# postgresql; as root the cluster runs as the postgres user), then pushed
# again (nothing to send), read back by `gate verify --from` and
# `gate export --from`. Prints receipts per second; the target is over
# 20,000 a second to a local server.
#
# Usage: bench/push.sh [ROWS]      (default 200000)
#   GATE_PUSH_HOME=dir   use (or fill once) the store in dir instead
#   GATE_PUSH_BATCH=n    rows per transaction (default gate's 5000)
set -euo pipefail
cd "$(dirname "$0")/.."
rows="${1:-200000}"
target="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release --quiet --bin gate --example fill_store
gate="$target/release/gate"
fill="$target/release/examples/fill_store"
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "push.sh: no PostgreSQL server under /usr/lib/postgresql (apt-get install postgresql)" >&2; exit 1; }
work="$(mktemp -d)"
chmod 755 "$work"
as_pg=()
[ "$(id -u)" -eq 0 ] && as_pg=(runuser -u postgres --)
cleanup() {
  "${as_pg[@]}" "$bin/pg_ctl" -D "$work/pg/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/pg/sock" "$work/home"
[ "$(id -u)" -eq 0 ] && chown -R postgres: "$work/pg"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${as_pg[@]}" "$bin/initdb" -D "$work/pg/data" -U gate -A trust -E UTF8 -N >/dev/null
"${as_pg[@]}" "$bin/pg_ctl" -D "$work/pg/data" -o "-p $port -k $work/pg/sock -c listen_addresses=127.0.0.1" \
  -l "$work/pg/log" -w start >/dev/null
"$bin/psql" -q -h 127.0.0.1 -p "$port" -U gate -d postgres -c "CREATE DATABASE team"
url="postgres://gate@127.0.0.1:$port/team?sslmode=disable"
export HOME="$work/home"
store="${GATE_PUSH_HOME:-$work/store}"
if [ ! -f "$store/gate.db" ]; then
  echo "== filling $rows receipts"
  "$fill" "$store" "$rows" | grep -E '^(rows|seconds)='
fi
export GATE_HOME="$store"
batch=()
[ -n "${GATE_PUSH_BATCH:-}" ] && batch=(--batch "$GATE_PUSH_BATCH")
echo "gate push benchmark: $("$gate" --version), PostgreSQL $("$bin/postgres" --version | awk '{print $3}'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$gate" push --init --to "$url" "${batch[@]}" | tail -1
"$gate" push --to "$url"
t0=$(date +%s%N); "$gate" verify --from "$url" | tail -1; t1=$(date +%s%N)
echo "verify --from: $(( (t1 - t0) / 1000000 )) ms"
t0=$(date +%s%N); n=$("$gate" export --from "$url" | wc -l); t1=$(date +%s%N)
echo "export --from: $n records in $(( (t1 - t0) / 1000000 )) ms"
echo "server size: $("$bin/psql" -qtA -h 127.0.0.1 -p "$port" -U gate -d team -c "SELECT pg_size_pretty(pg_database_size('team'))")"
