#!/usr/bin/env bash
# Benchmarks the shop end to end on a fresh database of one backend:
#   end2end/bench.sh sqlite|postgres [--smoke]
# Flash sales through the reseller API and through the HTML forms (open-loop load,
# latency from each request's intended start), page views at a fixed rate and at
# saturation, an audit of the stock afterwards (no oversell, no code allocated twice),
# the database's own limit for one-code claims, a large code import, and the size of
# the browser bundle. Writes one JSON file and prints a table.
#
# Full mode builds the release binaries first. Smoke mode (--smoke) uses the debug
# binaries already built (`make build` and `cargo build -p loadgen`), tiny sizes, and
# fails on any 5xx answer. Neither mode asserts anything about speed; both fail on an
# oversell or a doubly allocated code.
set -euo pipefail

usage() { echo "usage: $0 sqlite|postgres [--smoke]" >&2; exit 2; }
backend=${1:-}
case "$backend" in sqlite | postgres) ;; *) usage ;; esac
case "${2:-}" in --smoke) mode=smoke ;; "") mode=full ;; *) usage ;; esac

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/quanyi/target}
port=${PORT:-3200}
base="http://127.0.0.1:$port"
command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 1; }
# Brotli sizes of the bundle: Google's brotli module from PyPI (the Debian CLI also works).
python3 -c 'import brotli' 2>/dev/null || command -v brotli >/dev/null ||
  python3 -m pip install --quiet --disable-pip-version-check brotli >/dev/null 2>&1 || true

export LEPTOS_OUTPUT_NAME=quanyi LEPTOS_SITE_PKG_DIR=pkg LEPTOS_HASH_FILES=false
if [ "$mode" = full ]; then
  # wasm-opt for the release bundle (`.ci/setup.sh bench` installs it).
  export PATH="$here/node_modules/.bin:$PATH"
  export LEPTOS_SITE_ROOT="$CARGO_TARGET_DIR/site-release" LEPTOS_JS_MINIFY=true
  echo "== building (release)" >&2
  # Release builds without the dev-only `erase_components` cfg the Makefile exports.
  (cd "$root" && env -u RUSTFLAGS cargo leptos build --release --split)
  (cd "$root" && env -u RUSTFLAGS cargo build --release -p loadgen)
  bin="$CARGO_TARGET_DIR/release/quanyi"
  load="$CARGO_TARGET_DIR/release/quanyi-load"
  # Both sales are offered more than the shop can take (the rest hear `busy` at once),
  # so orders/s is the shop's capacity, comparable with the database's claim rate. At
  # 2,000 HTML buyers/s (a tenth of them the bot) at most ~1,800 orders/s can happen, and
  # both backends heard few `busy` answers there on a 2-core machine: 2,600 is above it.
  stock_n=10000 api_rate=${API_RATE:-4000} html_rate=${HTML_RATE:-2600} flash_max=300 bot_every=10
  pages_rate=500 pages_secs=20 max_secs=15 workers=16 import_n=1000000 deliveries_max=600
else
  export LEPTOS_SITE_ROOT="$CARGO_TARGET_DIR/site"
  bin="$CARGO_TARGET_DIR/debug/quanyi"
  load="$CARGO_TARGET_DIR/debug/quanyi-load"
  stock_n=50 api_rate=50 html_rate=20 flash_max=15 bot_every=4
  pages_rate=20 pages_secs=2 max_secs=2 workers=2 import_n=2000 deliveries_max=60
fi
site=$LEPTOS_SITE_ROOT
for b in "$bin" "$load"; do
  [ -x "$b" ] || { echo "missing $b (smoke mode: run \`make build\` and \`cargo build -p loadgen\` first)" >&2; exit 1; }
done

# Up to 2000 requests in flight, and as many server sockets: raise the open-file limit.
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ] || [ "$hard" -gt 65536 ]; then hard=65536; fi
ulimit -n "$hard" 2>/dev/null || true

work=$(mktemp -d /tmp/quanyi-bench.XXXXXX)
mkdir -p "$work/data" "$work/results"
server_pid=""
pg_db=""

# Is this process running (and not a zombie waiting to be reaped)?
alive() {
  local state
  state=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

stop_server() {
  [ -n "$server_pid" ] || return 0
  local pid=$server_pid
  server_pid=""
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 150); do alive "$pid" || break; sleep 0.2; done
  if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  stop_server
  if [ -n "$pg_db" ]; then
    psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  if [ "$rc" -eq 0 ] && [ -z "${KEEP_WORK:-}" ]; then
    rm -rf "$work"
  else
    echo "work directory kept: $work (server log: $work/server.log)" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export QUANYI_DATA_DIR="$work/data" QUANYI_KEY_FILE="$work/data/quanyi.key"
export QUANYI_BIND="127.0.0.1:$port" QUANYI_BASE_URL="$base" QUANYI_MODE=development QUANYI_ALLOW_TEST_PAYMENTS=true
# All load comes from one IP and, for the API, one key: lift the per-buyer caps.
export QUANYI_MAX_HELD_UNITS_PER_IP=1000000 QUANYI_MAX_HELD_UNITS_PER_SESSION=1000000
export QUANYI_MAX_HELD_UNITS_PER_ACCOUNT=1000000 QUANYI_API_RATE_PER_SECOND=100000 QUANYI_DB_MAX_CONNECTIONS=16
if [ "$backend" = postgres ]; then
  pg_db="qy_bench_$$"
  psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $pg_db WITH (FORCE)" >/dev/null
  psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE $pg_db" >/dev/null
  # Plain TCP on loopback for the shop, as for the database-limit probe (its sqlx has no
  # TLS): with the default `prefer`, a server with `ssl = on` would make only the shop
  # pay for encryption, and the ratio would not compare like with like.
  export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$pg_db?sslmode=disable"
else
  export DATABASE_URL="sqlite://$work/data/quanyi.db"
fi

# The first column of the first row of a query (empty when there is no row).
sql() {
  if [ "$backend" = postgres ]; then
    psql -h 127.0.0.1 -U postgres -d "$pg_db" -tAqc "$1"
  else
    python3 -c 'import sqlite3, sys
row = sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()
print("" if row is None or row[0] is None else row[0])' "$work/data/quanyi.db" "$1"
  fi
}
# Runs a statement that changes data (committed).
sql_exec() {
  if [ "$backend" = postgres ]; then
    psql -h 127.0.0.1 -U postgres -d "$pg_db" -qc "$1" >/dev/null
  else
    python3 -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1]); db.execute(sys.argv[2]); db.commit()' "$work/data/quanyi.db" "$1"
  fi
}
sku_id() { sql "SELECT id FROM skus WHERE code = '$1'"; }
available() { sql "SELECT COUNT(*) FROM codes WHERE sku_id = $(sku_id "$1") AND status = 'available'"; }

echo "== seeding a fresh $backend database ($work)" >&2
"$bin" migrate up >/dev/null
"$bin" demo seed >/dev/null
# Separate stock per scenario: DREAM-100 for the API sale, BREW-1 for the HTML sale,
# BREW-10 for the database limit. The demo seed's own codes come on top.
stock() { # SKU PREFIX
  seq -f "$2-%06.0f" 1 "$stock_n" >"$work/$1.txt"
  "$bin" codes import --sku "$1" --cost 1.00 --supplier Bench "$work/$1.txt" >/dev/null 2>"$work/import-$1.log"
}
stock DREAM-100 FLASH-API
stock BREW-1 FLASH-HTML
stock BREW-10 DB-LIMIT
api_stock=$(available DREAM-100)
html_stock=$(available BREW-1)
limit_stock=$(available BREW-10)
# The HTML sale is a real flash sale: at most $bot_limit units per buyer, and a bot (one
# email, a fresh session each time) makes every ${bot_every}th attempt.
bot_limit=2
sql_exec "UPDATE skus SET max_per_buyer = $bot_limit WHERE code = 'BREW-1'"
key=$("$bin" reseller create --name Bench --balance 10000000.00 | sed -n 's/^API key (shown once): //p')
[ -n "$key" ] || { echo "no API key in the output of \`quanyi reseller create\`" >&2; exit 1; }
echo "   stock: DREAM-100 $api_stock, BREW-1 $html_stock, BREW-10 $limit_stock" >&2

echo "== starting the shop on $base" >&2
cd "$root"
"$bin" serve >"$work/server.log" 2>&1 &
server_pid=$!
ready() { python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$base/readyz" >/dev/null 2>&1; }
for _ in $(seq 1 300); do
  ready && break
  alive "$server_pid" || { tail -n 40 "$work/server.log" >&2; echo "the shop exited" >&2; exit 1; }
  sleep 0.2
done
ready || { tail -n 40 "$work/server.log" >&2; echo "the shop did not become ready" >&2; exit 1; }

# Runs one scenario into results/NAME.json, then notes the shop's peak RSS so far.
scenario() { # NAME ARGS...
  local name=$1
  shift
  echo "== $name" >&2
  "$load" "$@" >"$work/results/$name.json"
  printf '%s %s\n' "$name" "$(awk '/^VmHWM:/ {print $2}' "/proc/$server_pid/status")" >>"$work/results/rss.txt"
}
scenario flash_api flash-api --base "$base" --key "$key" --sku DREAM-100 --rate "$api_rate" --max-seconds "$flash_max"
scenario flash_html flash-html --base "$base" --sku BREW-1 --rate "$html_rate" --max-seconds "$flash_max" \
  --bot-every "$bot_every"

# Every paid HTML order is also sent by email (a `deliver` job): how long after the sale
# ends the last one has left (the scenarios after it wait for that).
echo "== deliveries" >&2
pending() { sql "SELECT COUNT(*) FROM deliveries WHERE status <> 'sent'"; }
sent() { sql "SELECT COUNT(*) FROM deliveries WHERE status = 'sent'"; }
t0=$(date +%s%N)
at_end=$(pending)
left=$at_end
while [ "${left:-0}" -gt 0 ] && [ $(( ($(date +%s%N) - t0) / 1000000000 )) -lt "$deliveries_max" ]; do
  sleep 0.5
  left=$(pending)
done
drained=null
[ "${left:-0}" -gt 0 ] || drained=$(( ($(date +%s%N) - t0) / 1000000 ))
printf '{"pending_at_sale_end": %s, "left": %s, "sent": %s, "drained_ms": %s}\n' \
  "${at_end:-null}" "${left:-null}" "$(sent)" "$drained" >"$work/results/deliveries.json"

echo "== audit" >&2
audit_sku() { # SKU STOCK_BEFORE
  local id
  id=$(sku_id "$1")
  local total sold reserved paid active doubly
  total=$(sql "SELECT COUNT(*) FROM codes WHERE sku_id = $id")
  sold=$(sql "SELECT COUNT(*) FROM codes WHERE sku_id = $id AND status = 'sold'")
  reserved=$(sql "SELECT COUNT(*) FROM codes WHERE sku_id = $id AND status = 'reserved'")
  paid=$(sql "SELECT COALESCE(SUM(l.quantity), 0) FROM order_lines l JOIN orders o ON o.id = l.order_id
              WHERE l.sku_id = $id AND o.status IN ('fulfilled', 'partially_refunded', 'paid')")
  active=$(sql "SELECT COUNT(*) FROM allocations a JOIN codes c ON c.id = a.code_id WHERE c.sku_id = $id AND a.active")
  doubly=$(sql "SELECT COUNT(*) FROM (SELECT a.code_id FROM allocations a JOIN codes c ON c.id = a.code_id
                WHERE c.sku_id = $id AND a.active GROUP BY a.code_id HAVING COUNT(*) > 1) t")
  printf '"%s": {"stock": %s, "codes_total": %s, "sold": %s, "reserved": %s, "paid_units": %s, "active_allocations": %s, "doubly_allocated": %s}' \
    "$1" "${2:-null}" "${total:-null}" "${sold:-null}" "${reserved:-null}" "${paid:-null}" "${active:-null}" "${doubly:-null}"
}
{
  printf '{'
  audit_sku DREAM-100 "$api_stock"
  printf ', '
  audit_sku BREW-1 "$html_stock"
  bot_units=$(sql "SELECT COALESCE(SUM(l.quantity - l.refunded), 0) FROM order_lines l JOIN orders o ON o.id = l.order_id
                   WHERE l.sku_id = $(sku_id BREW-1) AND o.contact_email = 'bot@bench.example'
                   AND o.status IN ('pending_payment', 'paid', 'fulfilled', 'partially_refunded')")
  printf ', "bot": {"limit": %s, "units_held_or_bought": %s}' "$bot_limit" "${bot_units:-null}"
  printf '}\n'
} >"$work/results/audit.json"

scenario pages_home pages --url "$base/" --rate "$pages_rate" --seconds "$pages_secs"
scenario pages_product pages --url "$base/p/morning-brew-coffee" --rate "$pages_rate" --seconds "$pages_secs"
scenario pages_max pages-max --url "$base/p/morning-brew-coffee" --connections 16 --seconds "$max_secs"

echo "== stopping the shop" >&2
stop_server

echo "== db-limit: $workers workers on BREW-10" >&2
"$load" db-limit --database-url "$DATABASE_URL" --sku-id "$(sku_id BREW-10)" --workers "$workers" \
  --max-claims "$limit_stock" >"$work/results/db_limit.json"

echo "== importing $import_n codes" >&2
seq -f "IMP-%07.0f" 1 "$import_n" >"$work/import.txt"
python3 - "$work/results/import.json" "$work/import.log" "$import_n" \
  "$bin" codes import --sku CLOUDTUNE-YEAR --cost 1.00 --supplier Bench "$work/import.txt" <<'PY'
import json, re, resource, subprocess, sys, time
out, log, lines, cmd = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
started = time.monotonic()
with open(log, "w") as err:
    done = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, text=True)
wall = time.monotonic() - started
if done.returncode != 0:
    sys.exit(f"import failed ({done.returncode}): {done.stdout}")
m = re.search(r"(\d+) imported", done.stdout)
imported = int(m.group(1)) if m else None
with open(out, "w") as f:
    json.dump({
        "sku": "CLOUDTUNE-YEAR", "lines": lines, "imported": imported, "seconds": round(wall, 2),
        "codes_per_second": round((imported or 0) / wall, 1) if wall > 0 else None,
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    }, f)
PY

version=$("$bin" --version 2>/dev/null || true)
out_dir=$(cd "$CARGO_TARGET_DIR/.." 2>/dev/null && pwd || echo "$CARGO_TARGET_DIR/..")/bench
mkdir -p "$out_dir"
out="$out_dir/bench-$backend-$mode.json"
status=0
BENCH_BACKEND=$backend BENCH_MODE=$mode BENCH_SITE=$site BENCH_OUT=$out BENCH_WORK=$work \
  BENCH_VERSION=$version BENCH_GIT=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown) \
  BENCH_RUSTC=$(rustc --version 2>/dev/null || echo unknown) BENCH_NPROC=$(nproc) \
  BENCH_STOCK_N=$stock_n BENCH_API_RATE=$api_rate BENCH_HTML_RATE=$html_rate BENCH_PAGES_RATE=$pages_rate \
  BENCH_PAGES_SECS=$pages_secs BENCH_MAX_SECS=$max_secs BENCH_WORKERS=$workers BENCH_IMPORT_N=$import_n \
  python3 - <<'PY' || status=$?
import datetime, gzip, json, os, re, shutil, subprocess, sys
E = os.environ
res = os.path.join(E["BENCH_WORK"], "results")

def load(name):
    with open(os.path.join(res, name + ".json")) as f:
        return json.load(f)

def sizes(path):
    if not os.path.exists(path):
        return None
    data = open(path, "rb").read()
    br = None
    try:
        import brotli
        br = len(brotli.compress(data, quality=11))
    except ImportError:
        if shutil.which("brotli"):
            br = len(subprocess.run(["brotli", "-c", "-q", "11"], input=data, stdout=subprocess.PIPE, check=True).stdout)
    return {"raw": len(data), "gzip9": len(gzip.compress(data, 9)), "brotli": br}

def mem_total_kb():
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal:"):
            return int(line.split()[1])

rss = {}
for line in open(os.path.join(res, "rss.txt")):
    name, _, kb = line.strip().partition(" ")
    rss[name] = int(kb) if kb.isdigit() else None

r = {
    "backend": E["BENCH_BACKEND"], "mode": E["BENCH_MODE"],
    "machine": {
        "nproc": int(E["BENCH_NPROC"]), "mem_total_kb": mem_total_kb(),
        "quanyi_version": E["BENCH_VERSION"] or None, "git": E["BENCH_GIT"], "rustc": E["BENCH_RUSTC"],
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    },
    "config": {k: int(E["BENCH_" + k.upper()]) for k in
               ["stock_n", "api_rate", "html_rate", "pages_rate", "pages_secs", "max_secs", "workers", "import_n"]},
}
for name in ["flash_api", "flash_html", "deliveries", "pages_home", "pages_product", "pages_max", "db_limit", "import"]:
    r[name] = load(name)
r["server_peak_rss_kb"] = rss
# The mall's bundle: the main module and its JS (with the split loader). The admin's
# lazy chunks (`split_*.wasm`, `chunk_*.wasm`) load only on staff pages: reported apart.
pkg = os.path.join(E["BENCH_SITE"], "pkg")
r["bundle"] = {f: sizes(os.path.join(pkg, f)) for f in ["quanyi.wasm", "quanyi.js"]}
chunks = sorted(f for f in os.listdir(pkg) if f.endswith(".wasm") and f.startswith(("split_", "chunk_"))) if os.path.isdir(pkg) else []
lazy = [sizes(os.path.join(pkg, f)) for f in chunks]
r["bundle_lazy_chunks"] = {
    "files": len(chunks),
    **{k: sum(s[k] or 0 for s in lazy) for k in ["raw", "gzip9", "brotli"]},
    "largest_brotli": max((s["brotli"] or 0 for s in lazy), default=0),
}

# The audit: never more sold or paid than was in stock, no code allocated twice.
failures = []
audit = load("audit")
bot = audit.pop("bot")
bot["ok"] = isinstance(bot["units_held_or_bought"], int) and bot["units_held_or_bought"] <= bot["limit"]
if not bot["ok"]:
    failures.append(f"the bot got past its per-buyer limit: {bot}")
client = {"DREAM-100": r["flash_api"]["success"], "BREW-1": r["flash_html"]["success"]}
for sku, a in audit.items():
    a["client_success"] = client.get(sku)
    counts = [a[k] for k in ("stock", "sold", "paid_units", "active_allocations", "doubly_allocated")]
    # Counts reconcile: every sold code is on a paid line, and nothing more or less.
    a["ok"] = (all(isinstance(v, int) for v in counts) and a["doubly_allocated"] == 0
               and a["sold"] == a["paid_units"] == a["active_allocations"] <= a["stock"])
    if not a["ok"]:
        failures.append(f"audit {sku}: {a}")
audit["bot"] = bot
r["audit"] = audit

limit = r["db_limit"].get("claims_per_second") or 0
ratio = lambda x: round(x / limit, 3) if limit else None
r["ratios"] = {
    "api_orders_per_db_claim": ratio(r["flash_api"]["orders_per_second"]),
    "html_orders_per_db_claim": ratio(r["flash_html"]["orders_per_second"]),
}

# Server faults: 5xx statuses, and form posts refused with the `internal` error code
# (a form post gets its error back as a redirect, not as a 500).
server_errors = {}
for name in ["flash_api", "flash_html", "pages_home", "pages_product", "pages_max"]:
    bad = {k: n for k, n in r[name].get("errors", {}).items() if re.search(r"(^|:)5\d\d(:|$)|:internal$", k)}
    if bad:
        server_errors[name] = bad
r["server_errors_5xx"] = server_errors
if server_errors and E["BENCH_MODE"] == "smoke":
    failures.append(f"5xx answers: {server_errors}")
r["failures"] = failures

with open(E["BENCH_OUT"], "w") as f:
    json.dump(r, f, indent=2, ensure_ascii=False)
    f.write("\n")

# The table.
def lat(s):
    return f"p50 {s['p50_ms']:.1f}  p95 {s['p95_ms']:.1f}  p99 {s['p99_ms']:.1f}  max {s['max_ms']:.1f} ms"

def kb(v):
    return f"{v / 1024:.0f} MiB" if v else "?"

def size(v):
    return f"{v / 1024:.0f} KiB" if v is not None else "n/a"

m = r["machine"]
print(f"\nQuanyi bench: {r['backend']}, {r['mode']}; {m['nproc']} CPUs, {kb(m['mem_total_kb'])}; "
      f"{m['quanyi_version'] or m['git']}; {m['date']}")
for name, label in [("flash_api", "Flash sale, reseller API"), ("flash_html", "Flash sale, HTML forms")]:
    f = r[name]
    print(f"\n{label} ({f['sku']}, {f['rate']:g}/s offered)")
    print(f"  {f['success']} orders in {f['sellout_seconds']} s = {f['orders_per_second']} orders/s; "
          f"sold out {f['sold_out']}, busy {f.get('busy', 0)}, errors {f['error_count']} {f['errors'] or ''}, dropped {f['dropped']}")
    for k, s in f["latency"].items():
        print(f"  {k:<9} n={s['count']:<7} {lat(s)}")
d = r["deliveries"]
drained = f"all sent {d['drained_ms'] / 1000:.1f} s after the sale" if d["drained_ms"] is not None else f"{d['left']} still queued"
print(f"  delivery emails: {d['pending_at_sale_end']} queued when the sale ended, {d['sent']} sent; {drained}")
print("\nPages (open loop; latency from intended start)")
for name in ["pages_home", "pages_product"]:
    p = r[name]
    print(f"  {p['url']:<45} {p['rate']:g}/s -> {p['achieved_rps']}/s  {lat(p)}  "
          f"errors {p['error_count']}  {p['bytes']} bytes")
p = r["pages_max"]
print(f"  saturation, {p['connections']} connections: {p['requests_per_second']} req/s  {lat(p)}  errors {p['error_count']}")
d = r["db_limit"]
print(f"\nDatabase limit ({d['backend']}, {d['workers']} workers): {d['claims']} claims in {d['seconds']} s = "
      f"{d['claims_per_second']} claims/s  {lat(d)}")
print(f"  API orders/s / DB claims/s = {r['ratios']['api_orders_per_db_claim']}, "
      f"HTML orders/s / DB claims/s = {r['ratios']['html_orders_per_db_claim']}")
i = r["import"]
print(f"\nImport: {i['imported']} codes in {i['seconds']} s = {i['codes_per_second']} codes/s, peak RSS {kb(i['peak_rss_kb'])}")
print("Server peak RSS: " + ", ".join(f"{k} {kb(v)}" for k, v in rss.items()))
for f, s in r["bundle"].items():
    if s:
        print(f"Bundle {f}: {size(s['raw'])} raw, {size(s['gzip9'])} gzip -9, {size(s['brotli'])} brotli")
    else:
        print(f"Bundle {f}: missing")
c = r["bundle_lazy_chunks"]
print(f"Lazy chunks (admin): {c['files']} files, {size(c['raw'])} raw, {size(c['brotli'])} brotli in all, "
      f"largest {size(c['largest_brotli'])} brotli")
print("\nAudit:")
b = r["flash_html"].get("bot") or {}
print(f"  bot ({bot['limit']} per buyer): {b.get('attempts')} attempts, {b.get('success')} paid, "
      f"{b.get('refused_buyer_limit')} refused for the limit; units held or bought {bot['units_held_or_bought']} -> "
      f"{'OK' if bot['ok'] else 'FAIL'}")
for sku, a in audit.items():
    if sku == "bot":
        continue
    print(f"  {sku}: stock {a['stock']}, sold {a['sold']}, paid units {a['paid_units']}, reserved {a['reserved']}, "
          f"doubly allocated {a['doubly_allocated']}, client successes {a['client_success']} -> "
          f"{'OK' if a['ok'] else 'FAIL'}")
print(f"\nWritten to {E['BENCH_OUT']}")
for failure in failures:
    print("FAIL: " + failure, file=sys.stderr)
sys.exit(1 if failures else 0)
PY

if mkdir -p "$root/target/bench" 2>/dev/null && [ -w "$root/target/bench" ]; then
  cp "$out" "$root/target/bench/"
fi
exit "$status"
