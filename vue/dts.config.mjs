// Bundles the declarations vue-tsc wrote for kg-approval/vue (build/vue-types,
// one file per module and component) into pkg/vue/index.d.ts and
// pkg/vue/components.d.ts, with
// `vue` and `kg-approval` left as imports. scripts/build-pkg.sh runs it and
// copies the result to index.d.cts (the same declarations serve both entries).
import { fileURLToPath } from 'node:url';
import { dts } from 'rollup-plugin-dts';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));

// One bundle per entry (index, components): each file stands alone.
export default ['index', 'components'].map((name) => ({
  input: here(`../build/vue-types/${name}.d.ts`),
  output: { file: here(`../pkg/vue/${name}.d.ts`), format: 'es' },
  external: ['vue', 'kg-approval'],
  plugins: [dts({ respectExternal: false, compilerOptions: { moduleResolution: 100 /* bundler */, allowArbitraryExtensions: true } })],
}));
