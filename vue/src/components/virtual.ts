/** What VirtualList exposes (a generic component's instance type is not expressible with InstanceType). */
export interface VirtualListApi {
  /** Scrolls item `index` to the top of the box (`ifNeeded`: only if not wholly in view); resolves once it is rendered. */
  scrollToIndex(index: number, options?: { ifNeeded?: boolean }): Promise<void>;
  root: HTMLElement | null;
}
