// Writes the package around wasm-bindgen's two glues (called by build-pkg.sh):
//
//   pkg/node/       CommonJS glue: reads ../kg_approval_bg.wasm from disk and
//                   instantiates it synchronously on first require
//   pkg/web/        ES module glue: `init()` fetches (or is given) the module
//   index.node.cjs  Node, require()     — the whole API at once
//   index.node.js   Node, import        — static named exports of the same
//                   CommonJS instance (one module, one KgApprovalError class
//                   whether a program requires or imports)
//   index.js        browsers and bundlers — `await init()` first; any call
//                   before it throws KgApprovalError `not_initialized`
//   index.d.ts / index.d.cts   the same declarations for ESM and CommonJS
//   package.json (conditional exports), README.md, LICENSE
//
// The boundary snippet (js/boundary.js, an ES module) is turned into
// CommonJS for the node glue, so that any Node 20 can require() it.
'use strict';
const fs = require('fs');
const path = require('path');

const [out, snippet, version] = process.argv.slice(2);
const repo = path.resolve(__dirname, '..');
const file = (...parts) => path.join(out, ...parts);
const read = (...parts) => fs.readFileSync(file(...parts), 'utf8');
const write = (name, text) => fs.writeFileSync(file(name), text);

/** Replaces `from` (which must occur exactly `count` times) in `text`. */
function patch(text, from, to, count = 1, what = from) {
  const found = text.split(from).length - 1;
  if (found !== count) throw new Error(`package-entry: expected ${count} × ${JSON.stringify(what)} in the wasm-bindgen glue, found ${found} (wasm-bindgen changed?)`);
  return text.split(from).join(to);
}

/**
 * node/wasm.cjs: the module's bytes inside JavaScript, brotli-compressed and
 * base64-encoded (265 KB beside the 667 KB .wasm; read in about 8 ms more
 * than from disk, README "Where the .wasm comes from").
 */
function embeddedWasm(wasmFile) {
  const zlib = require('zlib');
  const bytes = fs.readFileSync(wasmFile);
  const packed = zlib.brotliCompressSync(bytes, {
    params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
  });
  if (!zlib.brotliDecompressSync(packed).equals(bytes)) throw new Error('package-entry: brotli did not give the .wasm back');
  return `'use strict';
// kg_approval_bg.wasm (${bytes.length} bytes), brotli-compressed and base64-encoded by
// scripts/package-entry.cjs: the Node entries load the module from here, so a
// bundler that moves them (Next.js, Nitro, esbuild...) brings it along.
module.exports = function wasmBytes() {
  const { Buffer } = require('buffer');
  return require('zlib').brotliDecompressSync(Buffer.from('${packed.toString('base64')}', 'base64'));
};
`;
}

// --- node: CommonJS glue and snippet; the module's bytes embedded (node/wasm.cjs).
{
  const source = read('node', snippet);
  const names = [];
  const cjs = source.replace(/^export (class|function|const) (\w+)/gm, (_, kind, name) => {
    names.push(name);
    return `${kind} ${name}`;
  });
  if (/^\s*(export|import)\s/m.test(cjs)) throw new Error(`${snippet}: unexpected ES module syntax left`);
  // packData's TextEncoder: Node's own, as the glue's below (jest's jsdom has none).
  const util = "const { TextEncoder } = require('util');\n";
  fs.writeFileSync(file('node', snippet), `'use strict';\n${util}${cjs}\n${names.map((n) => `exports.${n} = ${n};`).join('\n')}\n`);
  let glue = read('node', 'kg_approval.js');
  // The module's bytes come from node/wasm.cjs (below), not from a path next
  // to __dirname: bundlers that put this file somewhere else (Next.js with
  // Turbopack or webpack, Nitro, esbuild...) carry a required .cjs along, and
  // do not carry a file read at run time.
  glue = patch(
    glue,
    "const wasmPath = `${__dirname}/kg_approval_bg.wasm`;\nconst wasmBytes = require('fs').readFileSync(wasmPath);",
    "const wasmBytes = require('./wasm.cjs')();",
    1,
    'the .wasm read from __dirname',
  );
  // A plain string, which every bundler follows (String.raw`...` is left to chance).
  glue = glue.replace(/require\(String\.raw`(\.\/snippets\/[\w./-]+)`\)/g, "require('$1')");
  if (glue.includes('String.raw`')) throw new Error('package-entry: a String.raw require is left in the node glue');
  // jest's jsdom environment (and other DOM-like globals in Node) have no
  // TextDecoder/TextEncoder: the node glue takes Node's own.
  glue = `const { TextDecoder, TextEncoder } = require('util');\n${glue}`;
  write('node/kg_approval.js', glue);
  write('node/wasm.cjs', embeddedWasm(file('kg_approval_bg.wasm')));
  write('node/package.json', '{ "type": "commonjs" }\n');
}

// --- web: ES module glue; the module one directory up; calls before init() throw.
{
  let glue = read('web', 'kg_approval.js');
  glue = patch(glue, "new URL('kg_approval_bg.wasm', import.meta.url)", "new URL('../kg_approval_bg.wasm', import.meta.url)");
  glue = patch(
    glue,
    'let wasmModule, wasmInstance, wasm;',
    `// Until init() has run, every use of the module throws a KgApprovalError.
const NOT_INITIALIZED = new Proxy({}, {
    get() {
        throw makeError('not_initialized', 'kg-approval is not initialised yet: call \`await init()\` (the default export) once before anything else', null, undefined);
    },
});
let wasmModule, wasmInstance, wasm = NOT_INITIALIZED;`,
  );
  glue = patch(glue, 'if (wasm !== undefined) return wasm;', 'if (wasm !== NOT_INITIALIZED) return wasm;', 2);
  if (!/^import \{[^}]*\bmakeError\b[^}]*\} from '\.\/snippets\//m.test(glue)) throw new Error('package-entry: the web glue no longer imports makeError from the snippet');
  write('web/kg_approval.js', glue);
}

// --- the API's names, from the CommonJS glue (`exports.X = X;`).
const api = [...read('node', 'kg_approval.js').matchAll(/^exports\.(\w+) = \w+;$/gm)].map((m) => m[1]);
if (!api.includes('ApprovalSession') || !api.includes('HistoryClient')) throw new Error('package-entry: API names not found in the node glue');
const errors = ['KgApprovalError', 'ConflictError'];

write(
  'index.node.cjs',
  `'use strict';
// kg-approval for Node, CommonJS: the module is loaded from disk on require.
const glue = require('./node/kg_approval.js');
const { ${errors.join(', ')} } = require('./node/${snippet}');

${api.map((n) => `exports.${n} = glue.${n};`).join('\n')}
${errors.map((n) => `exports.${n} = ${n};`).join('\n')}
/** Nothing to do in Node (the module is loaded already); kept so code runs unchanged in browsers. */
exports.init = function init() {
  return Promise.resolve();
};
exports.initSync = function initSync() {};
`,
);

write(
  'index.node.js',
  `// kg-approval for Node, ES module: the named exports of the CommonJS entry, so
// \`import\` and \`require\` share one WebAssembly instance and one error class.
import kg from './index.node.cjs';

export { ${[...api, ...errors, 'init', 'initSync'].join(', ')} } from './index.node.cjs';
export default kg.init;
`,
);

write(
  'index.js',
  `// kg-approval for browsers and bundlers (Vite, webpack, Rollup): call
// \`await init()\` once; until then every call throws KgApprovalError
// \`not_initialized\`. The .wasm is found next to this file
// (web/kg_approval.js: \`new URL('../kg_approval_bg.wasm', import.meta.url)\`, which bundlers follow).
import load, { initSync as loadSync } from './web/kg_approval.js';

export { ${api.join(', ')} } from './web/kg_approval.js';
export { ${errors.join(', ')} } from './web/${snippet}';

/** Loads the WebAssembly module (once; later calls return at once). */
export async function init(options) {
  await load(options);
}

/** Loads the module synchronously from its bytes or a compiled WebAssembly.Module. */
export function initSync(options) {
  loadSync(options);
}

export default init;
`,
);

// --- types: wasm-bindgen's declarations, the error classes and init.
const base = read('node', 'kg_approval.d.ts').replace(/^\/\* (tslint|eslint)[^\n]*\n/gm, '');
const errorTypes = `
/** Every error the package throws: \`code\` is stable, \`path\` names the input (e.g. \`nodes[3].id\`). */
export declare class KgApprovalError extends Error {
  /** Extra fields (\`path\`, \`status\`...) are copied onto the error. */
  constructor(code: ErrorCode, message: string, details?: { path?: string; argument?: string; status?: number; changeIds?: string[] });
  readonly name: 'KgApprovalError' | 'ConflictError';
  readonly code: ErrorCode;
  readonly path?: string;
  readonly argument?: string;
  /** HTTP status, for \`http_error\` and \`version_conflict\`. */
  readonly status?: number;
  /** The server's \`error\` text, for \`http_error\`. */
  readonly serverError?: string;
  /** How many requests were made before giving up (network errors, timeouts, 429, 5xx). */
  readonly attempts?: number;
  /** The changes the error is about, for \`undecided_changes\`. */
  readonly changeIds?: string[];
}

/** A save refused because another editor saved first: rebase onto \`currentVersion\`. */
export declare class ConflictError extends KgApprovalError {
  constructor(message: string, details?: { currentVersion?: number; status?: number; serverError?: string });
  readonly name: 'ConflictError';
  readonly code: 'version_conflict';
  readonly currentVersion: number;
}

/** Where the WebAssembly module comes from: a URL or path (string or URL), a fetch
 *  Response (or its promise), its bytes, or a compiled WebAssembly.Module. */
export type InitInput = string | ArrayBuffer | ArrayBufferView | object;

/**
 * Loads the WebAssembly module. Browsers and bundlers: once, before any other call
 * (calls before it throw \`not_initialized\`). Node: already loaded; resolves at once.
 */
export declare function init(options?: { module_or_path?: InitInput | Promise<InitInput> }): Promise<void>;
/** Loads the module synchronously from its bytes or a compiled WebAssembly.Module (browsers; a no-op in Node). */
export declare function initSync(options?: { module: ArrayBuffer | ArrayBufferView | object }): void;

declare global {
  interface SymbolConstructor {
    /** The well-known symbol of \`using\` (ES2026's explicit resource management), declared here
     *  as lib.esnext.disposable and @types/node declare it, so that ApprovalSession's and
     *  HistoryClient's \`[Symbol.dispose]()\` type-checks with \`lib: ["ES2022"]\` too. Where the
     *  runtime has the symbol (Node 20.4+, current browsers), it frees the object like \`free()\`. */
    readonly dispose: unique symbol;
  }
}
`;
write('index.d.ts', `${base}${errorTypes}export default init;\n`);
write('index.d.cts', `${base}${errorTypes}`);
for (const dir of ['node', 'web']) fs.rmSync(file(dir, 'kg_approval.d.ts'), { force: true });

// --- package.json, README, LICENSE.
const cargo = fs.readFileSync(path.join(repo, 'Cargo.toml'), 'utf8');
const repository = (cargo.match(/^repository = "(.*)"$/m) || [])[1];
const esm = { types: './index.d.ts', default: './index.js' };
const pkg = {
  name: 'kg-approval',
  version,
  description: 'Review and approve AI edits to a knowledge graph: field diffs, selective approval, audit stamps, conflict-safe saves (WebAssembly).',
  keywords: ['knowledge-graph', 'review', 'approval', 'diff', 'audit', 'ai', 'webassembly', 'wasm', 'vue'],
  license: 'MIT OR Apache-2.0',
  ...(repository ? { repository: { type: 'git', url: `git+${repository}.git` } } : {}),
  type: 'module',
  main: './index.node.cjs',
  module: './index.js',
  types: './index.d.cts',
  exports: {
    '.': {
      node: {
        import: { types: './index.d.ts', default: './index.node.js' },
        require: { types: './index.d.cts', default: './index.node.cjs' },
      },
      import: esm,
      require: { types: './index.d.cts', default: './index.node.cjs' },
      default: esm,
    },
    './vue': {
      import: { types: './vue/index.d.ts', default: './vue/index.js' },
      require: { types: './vue/index.d.cts', default: './vue/index.cjs' },
    },
    // The components alone: no .wasm in the builds of pages that only show reviews.
    './vue/components': {
      import: { types: './vue/components.d.ts', default: './vue/components.js' },
      require: { types: './vue/components.d.cts', default: './vue/components.cjs' },
    },
    './kg_approval_bg.wasm': './kg_approval_bg.wasm',
    './package.json': './package.json',
  },
  // Only kg-approval/vue's entry does something on import: it gives the components
  // kg-approval's text diff. (The components touch the page when first set up.)
  sideEffects: ['./vue/index.js', './vue/index.cjs'],
  files: ['index.js', 'index.node.js', 'index.node.cjs', 'index.d.ts', 'index.d.cts', 'kg_approval_bg.wasm', 'node/', 'web/', 'vue/', 'README.md', 'LICENSE'],
  engines: { node: '>=20' },
  peerDependencies: { vue: '^3.3.0' },
  peerDependenciesMeta: { vue: { optional: true } },
};
write('package.json', JSON.stringify(pkg, null, 2) + '\n');
fs.copyFileSync(path.join(repo, 'npm', 'README.md'), file('README.md'));
const apache = fs.readFileSync(path.join(repo, 'LICENSE-APACHE'), 'utf8');
const mit = fs.readFileSync(path.join(repo, 'LICENSE-MIT'), 'utf8');
write(
  'LICENSE',
  `kg-approval is licensed under either of

  * the MIT license (below), or
  * the Apache License, Version 2.0 (below),

at your option.

================================================================================
MIT License
================================================================================

${mit.trim()}

================================================================================
Apache License, Version 2.0
================================================================================

${apache.trim()}
`,
);
