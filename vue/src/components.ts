// kg-approval/vue/components: the review components alone. They import nothing
// from kg-approval but its types, so a page that only shows reviews (computed
// on a server, say) brings no .wasm into its build: Vite emits an asset that a
// module names with `new URL(…, import.meta.url)` as soon as that module is in
// the build, before tree-shaking, and kg-approval's browser entry is such a
// module. `kg-approval/vue` is these and the composable (which loads the module).
export { default as ReviewModal } from './components/ReviewModal.vue';
export { default as ChangeList } from './components/ChangeList.vue';
export { default as TextDiffView } from './components/TextDiffView.vue';
export { default as ValueView } from './components/ValueView.vue';
export { percent } from './percent';
export { isStamp } from './stamps';
export { setTextDiffer } from './differ';
export type { DiffText } from './differ';
export type { ReviewDecisions } from './components/decisions';
