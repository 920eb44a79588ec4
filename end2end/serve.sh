#!/usr/bin/env bash
# Starts the built shop for Playwright on a fresh database of the chosen backend
# (E2E_DB=sqlite|postgres), with a known owner account made through the real CLI.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
port=${E2E_PORT:-3100}
bin=${E2E_BIN:?E2E_BIN must point at the built quanyi binary}
work=$(mktemp -d /tmp/quanyi-e2e.XXXXXX)
export QUANYI_DATA_DIR="$work/data" QUANYI_KEY_FILE="$work/data/quanyi.key"
export QUANYI_BIND="127.0.0.1:$port" QUANYI_BASE_URL="http://127.0.0.1:$port" QUANYI_MODE=development
export QUANYI_ALLOW_TEST_PAYMENTS=true
if [ "${E2E_DB:-sqlite}" = postgres ]; then
  db="qy_e2e_$$"
  psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
  psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE $db" >/dev/null
  export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
else
  export DATABASE_URL="sqlite://$work/data/quanyi.db"
fi
"$bin" migrate up >/dev/null
"$bin" demo seed >/dev/null
# Stock a SKU through the real CLI: 40 codes, one duplicated line (reported, not stored).
seq -f "E2E-BREW-%05g" 1 40 > "$work/codes.txt"
echo "E2E-BREW-00007" >> "$work/codes.txt"
"$bin" codes import --sku BREW-1 --cost 3.20 --supplier "E2E Supplier" "$work/codes.txt" >/dev/null
printf '%s\n' "${E2E_OWNER_PASSWORD:-e2e owner passphrase 2026}" | "$bin" user create --email owner@e2e.test --role owner >/dev/null
cd "$root"
exec "$bin" serve
