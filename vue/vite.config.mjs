// Builds kg-approval/vue into pkg/vue: index.js (ESM) and index.cjs, from the
// single-file components, with vue and kg-approval left as imports. The
// scoped CSS is not a separate file: it goes into src/styles.js's CSS_TEXT,
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
    lib: {
      entry: here('src/index.ts'),
      formats: ['es', 'cjs'],
      fileName: (format) => (format === 'es' ? 'index.js' : 'index.cjs'),
    },
    rollupOptions: { external: ['vue', 'kg-approval'] },
  },
});
