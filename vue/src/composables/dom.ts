// Small DOM helpers shared by the dialog and the review keys.

const FOCUSABLE = 'button, input, textarea, select, a[href], [tabindex]:not([tabindex="-1"])';

/** The elements of `scope` that Tab reaches, in order (not disabled, not inside an inert part). */
export function focusables(scope: Element | null | undefined): HTMLElement[] {
  if (!scope) return [];
  return [...scope.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((el) => !(el as HTMLButtonElement).disabled && !el.closest('[inert]'));
}

/** Whether a key pressed in `target` types text (so it is not a shortcut). */
export function typing(target: EventTarget | null): boolean {
  const el = target as Element | null;
  return Boolean(el?.matches?.('input:not([type=checkbox]):not([type=radio]):not([type=button]), textarea, select, [contenteditable]:not([contenteditable=false])'));
}

/** A modifier other than Shift is held: the key belongs to the browser or the system. */
export const chorded = (event: KeyboardEvent): boolean => event.ctrlKey || event.metaKey || event.altKey;

let sequence = 0;
/** A page-unique id prefix: Vue's `useId` where there is one (Vue 3.5; stable across server
 *  rendering and hydration), else a counter. Call it during setup. */
export function useUid(useId?: () => string | undefined): string {
  return useId?.() ?? `kg-${++sequence}`;
}

/** A selector for the element whose `data-change` is `id`. (CSS.escape where there is one; jsdom has none.) */
export function changeSelector(id: string): string {
  const escaped = typeof CSS !== 'undefined' && typeof CSS.escape === 'function' ? CSS.escape(id) : id.replace(/["\\\n]/g, (c) => (c === '\n' ? '\\a ' : `\\${c}`));
  return `[data-change="${escaped}"]`;
}

/** Scrolls `el` into view where the DOM can (jsdom cannot). */
export function reveal(el: Element | null | undefined): void {
  el?.scrollIntoView?.({ block: 'nearest' });
}

/** The next frame (a timer where there are no frames: jsdom without pretendToBeVisual). */
export function nextFrame(then: () => void): void {
  if (typeof requestAnimationFrame === 'function') requestAnimationFrame(then);
  else setTimeout(then, 16);
}
