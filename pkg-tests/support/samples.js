'use strict';
// The code samples of a README, to run them as written
// (pkg-tests/consumers-readme.test.js). In the package's README every `js`
// and `vue` block is one; in the repository's README, the blocks marked
// `js sample` or `vue sample` (the info string's second word).
//
// A line `console.log(x); // → shown` (or a `// → shown` line right after
// it) says what it prints: the checked script prints it as written and fails
// if `util.inspect(x)` on one line is not `shown`.

/** `[{ lang, code, line }]`: the samples of `markdown`; `all`: every js/vue block, else the marked ones. */
function extractSamples(markdown, { all }) {
  const samples = [];
  const fence = /^```([^\n`]*)\n([\s\S]*?)^```$/gm;
  let m;
  while ((m = fence.exec(markdown))) {
    const [lang, mark] = m[1].trim().split(/\s+/);
    if (!['js', 'vue'].includes(lang)) continue;
    if (!all && mark !== 'sample') continue;
    samples.push({ lang, code: m[2], line: markdown.slice(0, m.index).split('\n').length });
  }
  return samples;
}

const SHOWN = /^(\s*)console\.log\((.*)\);\s*\/\/ → (.*)$/;
const LOG = /^(\s*)console\.log\((.*)\);\s*$/;
const NEXT = /^\s*\/\/ → (.*)$/;

/** The sample (an ES module) with each `// →` checked: the check and its import are declared at
 *  its end (both hoisted), so line numbers stay the README's. */
function checkedScript(code, name) {
  const lines = code.split('\n');
  let checks = 0;
  for (let i = 0; i < lines.length; i++) {
    const same = lines[i].match(SHOWN);
    const next = !same && lines[i].match(LOG) && lines[i + 1]?.match(NEXT);
    if (!same && !next) continue;
    const [, indent, expression] = same ?? lines[i].match(LOG);
    const shown = same ? same[3] : next[1];
    lines[i] = `${indent}__shown(${expression}, ${JSON.stringify(shown.trim())}, ${i + 1});`;
    checks++;
  }
  return {
    checks,
    script: `${lines.join('\n')}
import { inspect as __inspect } from 'node:util';
function __shown(value, expected, line) {
  const text = __inspect(value, { breakLength: Infinity, depth: 8 });
  console.log(text);
  if (text !== expected) {
    console.error(\`${name}, line \${line}: printed \${text}\\n  the README says \${expected}\`);
    process.exitCode = 1;
  }
}
`,
  };
}

module.exports = { extractSamples, checkedScript };
