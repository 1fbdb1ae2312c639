// The components' styles: the design tokens (tokens.css) and their <style
// scoped> blocks, compiled by the package build (vue/vite.config.mjs puts the
// CSS text in place of CSS_TEXT). They are put into the page once, when a
// component is first set up, so the package needs no CSS import, does nothing
// on import alone, and runs in Node (no document) unchanged. Appended first in
// <head>, so the app's own CSS wins; colours and sizes are CSS custom
// properties (--kg-*, see README).
import './tokens.css';

const CSS_TEXT = '__KG_APPROVAL_VUE_CSS__';
let injected = false;

export function useStyles(): void {
  if (injected || typeof document === 'undefined') return;
  injected = true;
  if (document.querySelector('style[data-kg-approval]')) return;
  const style = document.createElement('style');
  style.setAttribute('data-kg-approval', '');
  style.textContent = CSS_TEXT;
  document.head.prepend(style);
}
