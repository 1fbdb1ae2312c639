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
