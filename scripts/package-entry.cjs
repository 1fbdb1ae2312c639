// Writes the package entry of a wasm-bindgen build: package.json, index.js
// (the bindings plus the KgApprovalError class from the boundary snippet) and
// index.d.ts. For the CommonJS build the snippet, written as an ES module, is
// turned into CommonJS so that any Node 20 can require() it (require of ES
// modules only arrived in 20.19).
'use strict';
const fs = require('fs');
const path = require('path');

const [target, out, snippet, version] = process.argv.slice(2);
const write = (name, text) => fs.writeFileSync(path.join(out, name), text);

const pkg = {
  name: 'kg-approval',
  version,
  description: 'Review and approve AI edits to a knowledge graph (WebAssembly).',
  license: 'MIT OR Apache-2.0',
  main: 'index.js',
  types: 'index.d.ts',
  files: ['*.js', '*.d.ts', '*.wasm', 'snippets/'],
  engines: { node: '>=20' },
};

const dts = `export * from './kg_approval';
import type { ErrorCode } from './kg_approval';
${target === 'web' ? "export { default } from './kg_approval';\n" : ''}
/** Every error the package throws: \`code\` is stable, \`path\` names the input (e.g. \`nodes[3].id\`). */
export declare class KgApprovalError extends Error {
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
}

/** A save refused because another editor saved first: rebase onto \`currentVersion\`. */
export declare class ConflictError extends KgApprovalError {
  readonly name: 'ConflictError';
  readonly code: 'version_conflict';
  readonly currentVersion: number;
}
`;

if (target === 'node') {
  const file = path.join(out, snippet);
  const source = fs.readFileSync(file, 'utf8');
  const names = [];
  const cjs = source.replace(/^export (class|function|const) (\w+)/gm, (_, kind, name) => {
    names.push(name);
    return `${kind} ${name}`;
  });
  if (/^\s*(export|import)\s/m.test(cjs)) throw new Error(`${snippet}: unexpected ES module syntax left`);
  fs.writeFileSync(file, `'use strict';\n${cjs}\nmodule.exports = { ${names.join(', ')} };\n`);
  write('package.json', JSON.stringify(pkg, null, 2) + '\n');
  write('index.js', `'use strict';
const bindings = require('./kg_approval.js');
const { KgApprovalError, ConflictError } = require('./${snippet}');
module.exports = { ...bindings, KgApprovalError, ConflictError };
`);
} else {
  write('package.json', JSON.stringify({ ...pkg, type: 'module' }, null, 2) + '\n');
  write('index.js', `export * from './kg_approval.js';
export { default } from './kg_approval.js';
export { KgApprovalError, ConflictError } from './${snippet}';
`);
}
write('index.d.ts', dts);
