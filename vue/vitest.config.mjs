// The components' own tests (vue/src/**/*.test.ts), beside them: mounted with
// @vue/test-utils in happy-dom. scripts/test.sh runs them
// (npx vitest run --config vue/vitest.config.mjs).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import vue from '@vitejs/plugin-vue';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  plugins: [vue()],
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.test.ts'],
    css: false,
  },
});
