// While the calling component is mounted, everything on the page but `root`
// (and its ancestors) is inert and hidden from assistive technology: the
// siblings of `root` and of each of its ancestors up to <body>. Counted per
// element, so two dialogs that share an ancestor restore it only when the
// last one closes; each element gets back its own inert and aria-hidden.
import { onBeforeUnmount, onMounted, type Ref } from 'vue';

const held = new Map<Element, { count: number; inert: boolean; ariaHidden: string | null }>();

function hold(el: HTMLElement) {
  const was = held.get(el);
  if (was) {
    was.count++;
    return;
  }
  held.set(el, { count: 1, inert: el.inert, ariaHidden: el.getAttribute('aria-hidden') });
  el.inert = true;
  el.setAttribute('aria-hidden', 'true');
}

function release(el: HTMLElement) {
  const was = held.get(el);
  if (!was) return;
  if (--was.count > 0) return;
  held.delete(el);
  el.inert = was.inert;
  if (was.ariaHidden === null) el.removeAttribute('aria-hidden');
  else el.setAttribute('aria-hidden', was.ariaHidden);
}

const SKIP = new Set(['SCRIPT', 'STYLE', 'LINK', 'TEMPLATE', 'META']);

export function useInertOthers(root: Ref<HTMLElement | null>): void {
  const others: HTMLElement[] = [];
  onMounted(() => {
    for (let el = root.value; el?.parentElement && el !== document.body; el = el.parentElement) {
      for (const sibling of el.parentElement.children) {
        if (sibling === el || SKIP.has(sibling.tagName) || !(sibling instanceof HTMLElement)) continue;
        hold(sibling);
        others.push(sibling);
      }
    }
  });
  onBeforeUnmount(() => {
    for (const el of others.splice(0)) release(el);
  });
}
