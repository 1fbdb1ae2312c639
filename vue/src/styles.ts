// The components' styles: the design tokens (tokens.css) and their <style
// scoped> blocks, compiled by the package build (vue/vite.config.mjs puts the
// CSS text in place of CSS_TEXT). They are put into the page once, when a
// component is first set up, so the package needs no CSS import, does nothing
// on import alone, and runs in Node (no document) unchanged. Appended first in
// <head>, so the app's own CSS wins; colours and sizes are CSS custom
// properties (--kg-*, see README).
//
// Server rendering (Nuxt, Vue's renderToString): there is no document to put
// them in, so the first dialog or text diff rendered in a request writes them
// into its own HTML (<KgStyles>, a <style data-kg-approval-ssr>): the page is
// styled before any script runs. Hydration renders the same element, puts the
// styles into <head> as above, and drops it once mounted.
import { defineComponent, h, onMounted, ref, useSSRContext } from 'vue';
import './tokens.css';

const CSS_TEXT = '__KG_APPROVAL_VUE_CSS__';
const RENDERED = '__kgApprovalStyles';
let injected = false;
/** The browser: the server's inline styles were taken over by one component's hydration. */
let claimed = false;

export function useStyles(): void {
  if (injected || typeof document === 'undefined') return;
  injected = true;
  if (document.querySelector('style[data-kg-approval]')) return;
  const style = document.createElement('style');
  style.setAttribute('data-kg-approval', '');
  style.textContent = CSS_TEXT;
  document.head.prepend(style);
}

/** The styles inline, where the server renders the first component of a request (and its hydration). */
export const KgStyles = defineComponent({
  name: 'KgApprovalStyles',
  setup() {
    const inline = ref(false);
    if (typeof document === 'undefined') {
      const context = useSSRContext<Record<string, unknown>>();
      if (context && !context[RENDERED]) inline.value = context[RENDERED] = true;
    } else if (!claimed && document.querySelector('style[data-kg-approval-ssr]')) {
      claimed = inline.value = true;
      useStyles();
      onMounted(() => (inline.value = false));
    }
    // innerHTML: text children would be HTML-escaped on the server (`>` in a selector).
    return () => (inline.value ? h('style', { 'data-kg-approval-ssr': '', innerHTML: CSS_TEXT }) : null);
  },
});
