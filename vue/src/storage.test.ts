import { describe, expect, test } from 'vitest';
import { IDBFactory } from 'fake-indexeddb';
import { fromWebStorage, indexedDbStore, memoryStore, resolveStore } from './storage';

const stores = {
  memory: () => memoryStore(),
  'localStorage shape': () => {
    const items = new Map<string, string>();
    return fromWebStorage({ getItem: (k) => items.get(k) ?? null, setItem: (k, v) => void items.set(k, v), removeItem: (k) => void items.delete(k) });
  },
  IndexedDB: () => indexedDbStore('kg-approval-test', new IDBFactory()),
};

describe.each(Object.entries(stores))('%s', (_, make) => {
  test('keeps JSON values, gives copies, forgets deleted keys', async () => {
    const store = make();
    const value = { outbox: [{ audit: { approvalId: 'x', baseVersion: 1 }, delta: { patchNodes: [{ nodeId: 'a', fields: { label: 'A' } }] } }] };
    expect(await store.get('k')).toBeUndefined();
    await store.set('k', value);
    const read = await store.get('k');
    expect(read).toEqual(value);
    expect(read).not.toBe(value);
    await store.set('k', [1, 2]);
    expect(await store.get('k')).toEqual([1, 2]);
    await store.del('k');
    expect(await store.get('k')).toBeUndefined();
  });
});

test('resolveStore: a {get, set, del} store as given, the localStorage shape adapted, memory without IndexedDB', async () => {
  const kv = memoryStore();
  expect(resolveStore(kv)).toBe(kv);
  const items = new Map<string, string>();
  const adapted = resolveStore({ getItem: (k: string) => items.get(k) ?? null, setItem: (k: string, v: string) => void items.set(k, v), removeItem: (k: string) => void items.delete(k) });
  await adapted.set('a', { b: 1 });
  expect(items.get('a')).toBe('{"b":1}');
  expect(typeof (globalThis as { indexedDB?: unknown }).indexedDB).toBe('undefined');
  const fallback = resolveStore(null);
  await fallback.set('x', 1);
  expect(await fallback.get('x')).toBe(1);
  expect(() => resolveStore({} as never)).toThrow(/get\/set\/del/);
});

test('a write that fails is an error the caller sees (a full store is never silent)', async () => {
  const idb = new IDBFactory();
  const store = indexedDbStore('kg-approval-fail', idb);
  // A value IndexedDB cannot clone.
  await expect(store.set('k', { f: () => 1 })).rejects.toThrow();
  expect(await store.get('k')).toBeUndefined();
});
