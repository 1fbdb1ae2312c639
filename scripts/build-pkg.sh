#!/usr/bin/env bash
# Builds the npm package `kg-approval` into pkg/ (one directory, one
# package.json): the WebAssembly module once, wasm-bindgen's CommonJS glue
# (pkg/node, loads the module from disk synchronously) and ES module glue
# (pkg/web, `await init()` in browsers and bundlers), the entries and types
# (scripts/package-entry.cjs), and `kg-approval/vue` (vue/, built with Vite).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

cargo build --lib --profile wasm-release --target wasm32-unknown-unknown
wasm=target/wasm32-unknown-unknown/wasm-release/kg_approval.wasm
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)

rm -rf pkg
for target in node web; do
  flavour=$([ "$target" = node ] && echo nodejs || echo web)
  wasm-bindgen --target "$flavour" --remove-name-section --remove-producers-section --out-dir "pkg/$target" "$wasm"
done
# Both glues load the same module: keep one copy, at the package's root.
cmp -s pkg/node/kg_approval_bg.wasm pkg/web/kg_approval_bg.wasm || { echo "the node and web builds differ in their .wasm" >&2; exit 1; }
mv pkg/web/kg_approval_bg.wasm pkg/kg_approval_bg.wasm
rm -f pkg/node/kg_approval_bg.wasm pkg/*/kg_approval_bg.wasm.d.ts pkg/*/.gitignore
snippet=$(cd pkg/node && ls snippets/*/js/boundary.js)
node scripts/package-entry.cjs pkg "$snippet" "$version"

# The repository's own tests and tools (and www/) import the package by its
# name, as users do (kg-approval/vue's type-check below among them: linked
# before it, so a fresh clone builds).
for modules in node_modules www/node_modules; do
  if [ -d "$modules" ]; then ln -sfn "$(pwd)/pkg" "$modules/kg-approval"; fi
done

# kg-approval/vue: the composable and the review components, compiled from
# their single-file components (TypeScript) to plain JavaScript (ESM and
# CommonJS), so that Node and vitest import them without a .vue loader. Their
# declarations are generated: vue-tsc type-checks the sources and writes one
# .d.ts per module (build/vue-types), rollup-plugin-dts bundles them into one.
npx vite build --config vue/vite.config.mjs --logLevel warn
rm -rf build/vue-types
npx vue-tsc -p vue/tsconfig.json
npx rollup --silent -c vue/dts.config.mjs
for name in index components; do cp "pkg/vue/$name.d.ts" "pkg/vue/$name.d.cts"; done

echo "built pkg/ ($(wc -c < pkg/kg_approval_bg.wasm) bytes of wasm, $(gzip -9 -c pkg/kg_approval_bg.wasm | wc -c) gzipped)"
