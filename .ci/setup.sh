#!/usr/bin/env bash
# Installs what the build needs and is missing; fast when everything is there.
#   .ci/setup.sh        tools to build and run the shop
#   .ci/setup.sh test   plus what the test suite needs (Chromium, Playwright, PostgreSQL up)
#   .ci/setup.sh bench  plus what release builds need (wasm-opt from npm's binaryen)
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
apt_install() {
  if command -v apt-get >/dev/null; then
    [ -n "${QY_APT_UPDATED:-}" ] || { apt-get update -qq; export QY_APT_UPDATED=1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    echo "please install: $*" >&2; exit 1
  fi
}

command -v cargo >/dev/null || { echo "Rust is required: https://rustup.rs" >&2; exit 1; }
if ! rustup target list --installed 2>/dev/null | grep -q wasm32-unknown-unknown; then
  say "adding the wasm32 target"; rustup target add wasm32-unknown-unknown
fi
if ! cargo leptos --version 2>/dev/null | grep -q '0\.3\.10'; then
  say "installing cargo-leptos 0.3.10 (about 13 minutes, once)"
  cargo install cargo-leptos --locked --version 0.3.10 --features no_downloads
fi
# wasm-bindgen-cli must be the exact version in Cargo.lock.
wb=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/[^0-9.]/,""); print; exit}' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q " $wb\$"; then
  say "installing wasm-bindgen-cli $wb"
  cargo install wasm-bindgen-cli --version "=$wb"
fi

if [ "${1:-}" = test ] || [ "${1:-}" = bench ]; then
  command -v node >/dev/null || { say "installing Node.js"; apt_install nodejs npm; }
  [ -x /usr/bin/chromium ] || { say "installing Chromium"; apt_install chromium fonts-noto-cjk fonts-noto-color-emoji; }
  fc-list 2>/dev/null | grep -qi "Noto Color Emoji" || apt_install fonts-noto-cjk fonts-noto-color-emoji || true
  if [ ! -x end2end/node_modules/.bin/playwright ] || ! grep -q "$(node -p "require('./end2end/package.json').devDependencies['@playwright/test']")" end2end/node_modules/@playwright/test/package.json 2>/dev/null; then
    say "installing Playwright (no browser download: Debian's Chromium is used)"
    (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
  fi
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
      say "starting PostgreSQL"
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    fi
    for _ in $(seq 1 20); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
    if ! pg_isready -q -h 127.0.0.1 -p 5432; then
      if [ "${QUANYI_TEST_SKIP_PG:-}" = 1 ] && [ -z "${CI:-}" ]; then
        say "PostgreSQL is not running; its tests are SKIPPED (QUANYI_TEST_SKIP_PG=1)"
      else
        echo "PostgreSQL is required by the test suite at 127.0.0.1:5432 (user postgres, trust auth)." >&2
        echo "Install and start it, or set QUANYI_TEST_SKIP_PG=1 to skip it knowingly (never under CI)." >&2
        exit 1
      fi
    fi
  fi
fi

# Release WASM needs wasm-opt; Debian's binaryen (108) breaks hydration, npm's 132 works.
if [ "${1:-}" = bench ] && ! end2end/node_modules/.bin/wasm-opt --version 2>/dev/null | grep -q 'version 132'; then
  say "installing wasm-opt (npm binaryen@132)"
  (cd end2end && npm install --no-save --no-audit --no-fund binaryen@132)
fi
