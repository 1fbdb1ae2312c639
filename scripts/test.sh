#!/usr/bin/env bash
# Runs every test: the Rust core natively, the bindings inside WebAssembly in
# Node, and the built npm package from Node. Installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

bash scripts/setup.sh

echo "== cargo fmt --check"
cargo fmt --all --check

echo "== cargo test --workspace (core and history server, native)"
cargo test --workspace --quiet

echo "== cargo test --target wasm32-unknown-unknown (bindings, in Node)"
cargo test --target wasm32-unknown-unknown --test wasm

echo "== build pkg/node and pkg/web, the www app, and the history server the Node tests start"
bash scripts/build-pkg.sh
(cd www && npx vite build --logLevel warn)
cargo build -p kg-approval-server

echo "== benchmark harness, smoke run (tiny inputs; the figures come from npm run bench)"
node bench/run.js --smoke > /dev/null

echo "== node --test pkg-tests/"
node --test pkg-tests/
