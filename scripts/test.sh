#!/usr/bin/env bash
# Runs every test: the Rust core natively, the bindings inside WebAssembly in
# Node, and the built npm package from Node. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

bash scripts/setup.sh

# One throwaway PostgreSQL cluster for every test that needs one; it stops
# by itself when this script ends, however it ends.
echo "== start a PostgreSQL cluster for the tests (scripts/pg.sh)"
{ read -r KG_TEST_POSTGRES; read -r KG_TEST_PG_DIR; } < <(bash scripts/pg.sh start --owner $$)
[ -n "${KG_TEST_POSTGRES:-}" ] || { echo "could not start PostgreSQL" >&2; exit 1; }
export KG_TEST_POSTGRES KG_TEST_PG_DIR
echo "$KG_TEST_POSTGRES"

echo "== cargo fmt --check"
cargo fmt --all --check

echo "== the history server's layers: no upward import, no import cycle (scripts/check-layers.js)"
node scripts/check-layers.js

echo "== cargo test --workspace (core and history server, native)"
cargo test --workspace --quiet

echo "== cargo test --target wasm32-unknown-unknown (bindings, in Node)"
cargo test --target wasm32-unknown-unknown --test wasm

echo "== build the npm package (pkg/), the www app, and the history server the Node tests start"
bash scripts/build-pkg.sh

echo "== the package as published: publint and @arethetypeswrong/cli (every entry, node10/node16/bundler)"
npx publint pkg
# The .wasm is exported for bundlers and URLs; it is not a module TypeScript resolves.
npx attw --pack pkg --exclude-entrypoints ./kg_approval_bg.wasm
(cd www && npx vite build --logLevel warn)
cargo build -p kg-approval-server

echo "== kg-approval/vue: the components' own tests (vitest, happy-dom; vue/src/**/*.test.ts)"
npx vitest run --config vue/vitest.config.mjs

echo "== benchmark harness, smoke run (tiny inputs; the figures come from npm run bench)"
node bench/run.js --smoke > /dev/null

echo "== report bench, smoke run (5,000 decided changes, both backends; the 1,000,000-row figures come from npm run bench)"
KG_BENCH_POSTGRES="$KG_TEST_POSTGRES" cargo run --quiet -p kg-approval-server --example report_bench -- 5000 > /dev/null

echo "== node --test pkg-tests/ (server on SQLite; postgres.test.js: three processes on PostgreSQL; consumers*.test.js: the packed tarball in fresh projects — Vite+Vue+TS, Node ESM/CJS, TS, vitest, Next.js, Nuxt SSR, jest+jsdom, webpack — and the READMEs' samples, one shared npm ci from pkg-tests/consumers/package-lock.json)"
node --test pkg-tests/

echo "== the server's package tests again with the server on PostgreSQL"
KG_TEST_DB=postgres node --test pkg-tests/history-client.test.js pkg-tests/delta.test.js \
  pkg-tests/faults.test.js pkg-tests/load.test.js pkg-tests/crash.test.js
