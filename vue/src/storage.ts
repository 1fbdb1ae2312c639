// Where the composable keeps what must outlive the page: unsaved approvals
// (the outbox), the review in progress (its draft) and the records of saved
// approvals. An async key-value store of plain JSON values:
//
//   { get(key) → value | undefined, set(key, value), del(key) }
//
// By default IndexedDB (one database, one object store; values are stored as
// structured clones, so an approval of 900 changes costs its own size, not
// localStorage's 5 MB ceiling), and an in-memory store where there is no
// IndexedDB (Node, tests). A Web Storage object (`localStorage`, or anything
// with getItem/setItem/removeItem) is taken too, its values JSON text.

/** A value kept in storage: plain JSON data. */
export type Stored = unknown;

/** The async key-value store the composable keeps its records in. */
export interface KeyValueStore {
  get(key: string): Promise<Stored | undefined>;
  set(key: string, value: Stored): Promise<void>;
  del(key: string): Promise<void>;
}

/** The shape of `localStorage`: accepted and adapted (values as JSON text). */
export interface WebStorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export type StorageOption = KeyValueStore | WebStorageLike;

/** A store that forgets everything when the page goes (Node, tests, server rendering). */
export function memoryStore(): KeyValueStore {
  const items = new Map<string, string>();
  return {
    // Kept as JSON text, so a value read is a copy, as from any real store.
    get: async (key) => (items.has(key) ? JSON.parse(items.get(key) as string) : undefined),
    set: async (key, value) => {
      items.set(key, JSON.stringify(value));
    },
    del: async (key) => {
      items.delete(key);
    },
  };
}

/** `localStorage` (or its shape) as a KeyValueStore; values are JSON text. */
export function fromWebStorage(storage: WebStorageLike): KeyValueStore {
  return {
    get: async (key) => {
      const text = storage.getItem(key);
      return text === null ? undefined : JSON.parse(text);
    },
    set: async (key, value) => storage.setItem(key, JSON.stringify(value)),
    del: async (key) => storage.removeItem(key),
  };
}

const request = <T>(req: IDBRequest<T>) =>
  new Promise<T>((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });

/**
 * IndexedDB as a KeyValueStore: database `name`, object store `kv`. Each call
 * is one transaction; a write resolves once it is committed (durable), not
 * when it is queued.
 */
export function indexedDbStore(name = 'kg-approval', idb: IDBFactory = globalThis.indexedDB): KeyValueStore {
  let opened: Promise<IDBDatabase> | null = null;
  const db = () => {
    opened ??= new Promise<IDBDatabase>((resolve, reject) => {
      const open = idb.open(name, 1);
      open.onupgradeneeded = () => open.result.createObjectStore('kv');
      open.onsuccess = () => {
        const result = open.result;
        // Another tab upgrading the database: let it, and reopen on the next call.
        result.onversionchange = () => {
          result.close();
          opened = null;
        };
        resolve(result);
      };
      open.onerror = () => {
        opened = null;
        reject(open.error);
      };
      open.onblocked = () => reject(new Error('IndexedDB is blocked by another tab of this app.'));
    });
    return opened;
  };
  async function run<T>(mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
    const tx = (await db()).transaction('kv', mode);
    const done = new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
      tx.onerror = () => reject(tx.error);
    });
    const result = await request(work(tx.objectStore('kv')));
    await done;
    return result;
  }
  return {
    get: (key) => run('readonly', (s) => s.get(key)),
    set: async (key, value) => {
      await run('readwrite', (s) => s.put(value, key));
    },
    del: async (key) => {
      await run('readwrite', (s) => s.delete(key));
    },
  };
}

const isKeyValue = (s: StorageOption): s is KeyValueStore => typeof (s as KeyValueStore).get === 'function' && typeof (s as KeyValueStore).set === 'function';
const isWebStorage = (s: StorageOption): s is WebStorageLike => typeof (s as WebStorageLike).getItem === 'function';

/**
 * The store to use: the caller's (adapted if it has localStorage's shape),
 * else IndexedDB in browsers, else memory. Called only when the store is
 * first needed, so server rendering never touches storage.
 */
export function resolveStore(storage?: StorageOption | null): KeyValueStore {
  if (storage) {
    if (isKeyValue(storage)) return storage;
    if (isWebStorage(storage)) return fromWebStorage(storage);
    throw new TypeError('useApprovalSession: `storage` must have get/set/del (async) or getItem/setItem/removeItem');
  }
  return typeof globalThis.indexedDB === 'undefined' ? memoryStore() : indexedDbStore();
}
