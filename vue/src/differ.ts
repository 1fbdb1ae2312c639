// The text diff the correction editor shows as the reviewer types (kg-approval's
// `diffText`). The components do not import kg-approval themselves, so that a
// page showing reviews only (`kg-approval/vue/components`) brings no .wasm
// along: `kg-approval/vue` sets kg-approval's here when imported, and the
// composable sets its module's when made. Without one, or before the module is
// loaded, the editor shows no live diff (the value is edited all the same).
import type { DiffOptions, TextDiff } from 'kg-approval';

export type DiffText = (oldText: string, newText: string, options?: DiffOptions) => TextDiff;

let differ: DiffText | null = null;

export function setTextDiffer(diff: DiffText | null | undefined): void {
  if (diff) differ = diff;
}

/** The diff of two texts, or null when no differ is set or the module is not loaded yet. */
export function textDiff(oldText: string, newText: string, options?: DiffOptions): TextDiff | null {
  if (!differ) return null;
  try {
    return differ(oldText, newText, options);
  } catch {
    return null; // not_initialized: the page has not loaded the module
  }
}
