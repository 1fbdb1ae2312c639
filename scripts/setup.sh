#!/usr/bin/env bash
# Installs what building and testing need; skips whatever is already there,
# so running it again costs seconds. Works on a fresh machine of this project's
# kind (rustup, Node 20 and npm present; crates.io and npm reachable).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

step() { printf '\n== %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

if ! cargo fmt --version >/dev/null 2>&1; then
  step "rustup component add rustfmt"
  rustup component add rustfmt
fi

# The CLI must match the wasm-bindgen crate in Cargo.lock exactly.
want=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  step "cargo install wasm-bindgen-cli $want (a few minutes, once)"
  # Not --locked: its lockfile names a version missing from the registry (TOOLCHAIN.md).
  cargo install wasm-bindgen-cli --version "$want"
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  step "apt-get install nodejs npm"
  apt-get update -qq && apt-get install -y -qq nodejs npm
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
# Node 20: the package relies on the global fetch and crypto (approval ids).
if [ "$node_major" -lt 20 ]; then
  echo "Node $node_major is too old: kg-approval needs Node 20 or newer" >&2
  exit 1
fi

# Real Chromium for the browser tests, from Debian (a test tool's own browser
# download does not work here: see TOOLCHAIN.md).
if [ ! -x /usr/bin/chromium ]; then
  step "apt-get install chromium"
  apt-get update -qq && apt-get install -y -qq chromium
fi

# Fonts for non-Latin text and emoji, so the browser tests (and the README's
# screenshots they take) show what a user sees, not boxes.
if ! dpkg -s fonts-noto-cjk fonts-noto-color-emoji >/dev/null 2>&1; then
  step "apt-get install fonts-noto-cjk fonts-noto-color-emoji"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-noto-cjk fonts-noto-color-emoji
fi

# openssl makes the deployment tests' keys and certificates (a sign-in
# provider's signing keys, a CA and a TLS certificate for PostgreSQL).
if ! command -v openssl >/dev/null; then
  step "apt-get install openssl"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl
fi

# The OpenAPI document's checks (server/tests/openapi.rs): openapi-spec-validator
# validates it, schemathesis calls the real binary with requests made from it.
if ! python3 -c 'import openapi_spec_validator' 2>/dev/null || ! command -v schemathesis >/dev/null; then
  step "pip install openapi-spec-validator schemathesis"
  python3 -m pip install --quiet --disable-pip-version-check openapi-spec-validator==0.9.0 schemathesis==4.32.5
fi

# A real PostgreSQL for the second storage backend's tests (scripts/pg.sh
# starts a throwaway cluster; initdb and pg_ctl come from here).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ -z "${PG_BIN:-}" ]; then
  step "apt-get install postgresql"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
fi

# npm ci (the root's dev tools, and the www/ app) only when a lockfile
# changed since the last install.
for dir in . www; do
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    step "npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund)
  fi
done
