import { fileURLToPath, URL } from 'node:url';
import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

// The package's web build (bash scripts/build-pkg.sh), imported as an ES
// module: `import init, { ApprovalSession } from 'kg-approval'`.
export default defineConfig({
  plugins: [vue()],
  resolve: {
    alias: { 'kg-approval': fileURLToPath(new URL('../pkg/web/index.js', import.meta.url)) },
  },
  server: { fs: { allow: ['..'] } },
  build: { outDir: 'dist', emptyOutDir: true },
});
