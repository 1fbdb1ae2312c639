import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

// The app imports the package by its name, as any Vite app does:
// `import init, { HistoryClient } from 'kg-approval'` (the browser entry of its
// exports map) and `import { useApprovalSession, ReviewModal } from
// 'kg-approval/vue'`. bash scripts/build-pkg.sh builds pkg/ and links
// node_modules/kg-approval to it; `dedupe` keeps one Vue, whichever
// node_modules the linked package's own `import 'vue'` would find.
export default defineConfig({
  plugins: [vue()],
  resolve: { dedupe: ['vue'] },
  server: { fs: { allow: ['..'] } },
  build: { outDir: 'dist', emptyOutDir: true },
});
