// Bundles the declarations vue-tsc wrote for kg-approval/vue (build/vue-types,
// one file per module and component) into one file, pkg/vue/index.d.ts, with
// `vue` and `kg-approval` left as imports. scripts/build-pkg.sh runs it and
// copies the result to index.d.cts (the same declarations serve both entries).
import { fileURLToPath } from 'node:url';
import { dts } from 'rollup-plugin-dts';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));

export default {
  input: here('../build/vue-types/index.d.ts'),
  output: { file: here('../pkg/vue/index.d.ts'), format: 'es' },
  external: ['vue', 'kg-approval'],
  plugins: [dts({ respectExternal: false, compilerOptions: { moduleResolution: 100 /* bundler */, allowArbitraryExtensions: true } })],
};
