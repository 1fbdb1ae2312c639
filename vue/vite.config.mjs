// Builds kg-approval/vue into pkg/vue: index.js (ESM) and index.cjs, and
// components.js/.cjs (kg-approval/vue/components), from the single-file
// components, with vue and kg-approval left as imports. The scoped CSS is not a separate file: it goes into src/styles.js's CSS_TEXT,
// which the components put into the page when first set up.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const PLACEHOLDER = /(["'])__KG_APPROVAL_VUE_CSS__\1/g;

function cssIntoJs() {
  let css = null;
  return {
    name: 'kg-approval:css-into-js',
    enforce: 'post',
    generateBundle(_, bundle) {
      const assets = Object.values(bundle).filter((f) => f.type === 'asset' && f.fileName.endsWith('.css'));
      if (assets.length) css = assets.map((a) => String(a.source)).join('\n');
      for (const a of assets) delete bundle[a.fileName];
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk' || !PLACEHOLDER.test(chunk.code)) continue;
        if (css === null) this.error('kg-approval/vue: no CSS was collected');
        chunk.code = chunk.code.replace(PLACEHOLDER, () => JSON.stringify(css));
      }
    },
  };
}

export default defineConfig({
  root: here('.'),
  plugins: [vue(), cssIntoJs()],
  logLevel: 'warn',
  build: {
    outDir: here('../pkg/vue'),
    emptyOutDir: true,
    minify: false,
    sourcemap: false,
    cssCodeSplit: false,
    // Two entries: index (the composable and the components) and components
    // (the components alone: nothing from kg-approval but types, so no .wasm),
    // sharing one chunk (one module state: the styles, the text differ).
    lib: { entry: { index: here('src/index.ts'), components: here('src/components.ts') } },
    rollupOptions: {
      external: ['vue', 'kg-approval'],
      output: [
        { format: 'es', entryFileNames: '[name].js', chunkFileNames: 'shared-[hash].js' },
        { format: 'cjs', entryFileNames: '[name].cjs', chunkFileNames: 'shared-[hash].cjs' },
      ],
    },
  },
});
