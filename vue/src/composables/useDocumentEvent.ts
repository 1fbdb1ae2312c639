// Listens on the document while the calling component is mounted (keys are
// heard wherever focus is, not only inside an element that may not have it).
import { onBeforeUnmount, onMounted } from 'vue';

export function useDocumentEvent<K extends keyof DocumentEventMap>(type: K, listener: (event: DocumentEventMap[K]) => void, options?: AddEventListenerOptions): void {
  onMounted(() => document.addEventListener(type, listener, options));
  onBeforeUnmount(() => document.removeEventListener(type, listener, options));
}
