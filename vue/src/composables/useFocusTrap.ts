// Focus for a modal dialog: on mount it goes to `initialFocus` (an element, a
// selector inside the container, or a function giving one; else the first
// control), Tab and Shift+Tab wrap inside the container (heard on the
// document, so a focus that escaped is brought back too), and on unmount focus
// returns to what had it before the dialog opened.
import { nextTick, onBeforeUnmount, onMounted, toValue, type MaybeRefOrGetter, type Ref } from 'vue';
import { focusables } from './dom';
import { useDocumentEvent } from './useDocumentEvent';

export type InitialFocus = HTMLElement | string | null | undefined | (() => HTMLElement | null | undefined);

function resolve(container: HTMLElement, initial: InitialFocus): HTMLElement | null {
  const target = typeof initial === 'function' ? initial() : initial;
  if (typeof target === 'string') return container.querySelector<HTMLElement>(target);
  return target ?? null;
}

export function useFocusTrap(container: Ref<HTMLElement | null>, { initialFocus, scope }: { initialFocus?: MaybeRefOrGetter<InitialFocus>; scope?: () => HTMLElement | null } = {}) {
  // What had focus when the dialog was set up: where it goes back.
  const opener = typeof document === 'undefined' ? null : (document.activeElement as HTMLElement | null);
  const restore = opener && opener !== document.body ? opener : null;

  async function focusInitial() {
    await nextTick();
    const root = container.value;
    if (!root) return;
    const target = resolve(root, toValue(initialFocus)) ?? focusables(root)[0];
    target?.focus({ preventScroll: false });
  }

  onMounted(focusInitial);
  onBeforeUnmount(() => {
    if (restore?.isConnected) restore.focus({ preventScroll: true });
  });

  useDocumentEvent('keydown', (event) => {
    if (event.key !== 'Tab' || event.defaultPrevented) return;
    const items = focusables(scope?.() ?? container.value);
    if (!items.length) {
      event.preventDefault();
      return;
    }
    const [first, last] = [items[0], items[items.length - 1]];
    const active = document.activeElement as HTMLElement | null;
    const root = scope?.() ?? container.value;
    const inside = Boolean(active && root?.contains(active));
    if (event.shiftKey && (active === first || !inside)) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (active === last || !inside)) {
      event.preventDefault();
      first.focus();
    }
  });

  return { focusInitial };
}
