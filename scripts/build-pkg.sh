#!/usr/bin/env bash
# Builds the npm package twice: pkg/node (CommonJS, loads synchronously with
# require) and pkg/web (ES module for browsers and Vite: `await init()`).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --lib --release --target wasm32-unknown-unknown
wasm=target/wasm32-unknown-unknown/release/kg_approval.wasm
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)

for target in node web; do
  out=pkg/$target
  rm -rf "$out"
  flavour=$([ "$target" = node ] && echo nodejs || echo web)
  wasm-bindgen --target "$flavour" --remove-name-section --remove-producers-section --out-dir "$out" "$wasm"
  snippet=$(cd "$out" && ls snippets/*/js/boundary.js)
  node scripts/package-entry.cjs "$target" "$out" "$snippet" "$version"
done
echo "built pkg/node and pkg/web ($(wc -c < pkg/web/kg_approval_bg.wasm) bytes of wasm, $(gzip -9 -c pkg/web/kg_approval_bg.wasm | wc -c) gzipped)"
