// @vitest-environment node
// Server rendering (no document): the first dialog or text diff of a request writes the
// styles into its own HTML, once per request, not HTML-escaped.
import { expect, test } from 'vitest';
import { createSSRApp, h } from 'vue';
import { renderToString } from 'vue/server-renderer';
import ReviewModal from './components/ReviewModal.vue';
import TextDiffView from './components/TextDiffView.vue';
import { change, review } from './components/testing';

const page = () =>
  createSSRApp({
    render: () => [
      h(ReviewModal, { review: review([change('node/a/label')]) }),
      h(TextDiffView, { diff: { granularity: 'word', degraded: false, ops: [{ op: 'insert', text: 'x' }] } }),
    ],
  });

test('a server-rendered page carries the styles once, inside the first component, unescaped', async () => {
  for (let request = 0; request < 2; request++) {
    const html = await renderToString(page());
    const styles = html.match(/<style data-kg-approval-ssr[^>]*>[\s\S]*?<\/style>/g) ?? [];
    expect(styles).toHaveLength(1);
    expect(html).toMatch(/class="kg-approval backdrop"[^>]*><style data-kg-approval-ssr/);
    // (The CSS itself is put in by the package build: consumers-frameworks.test.js checks it in Nuxt's HTML.)
    expect(styles[0]).toContain('__KG_APPROVAL_VUE_CSS__');
  }
});
