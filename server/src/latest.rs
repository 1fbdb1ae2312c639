//! The newest version of recently saved graphs, parsed, so that a save diffs
//! against it without reading and parsing the previous snapshot again.
//!
//! An entry is used only if its version *and* hash are the newest stored
//! ones (checked inside the save's transaction), so a stale entry — another
//! process writing the same file, a failed commit — is never trusted: it
//! just misses, and the snapshot is read from the database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kg_approval::Graph;

/// At most this many bytes of graph JSON are kept.
const LIMIT_BYTES: usize = 64 << 20;

#[derive(Default)]
pub struct LatestGraphs {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    bytes: usize,
    tick: u64,
}

struct Entry {
    version: i64,
    hash: String,
    graph: Arc<Graph>,
    bytes: usize,
    used: u64,
}

impl LatestGraphs {
    /// The graph stored as `version` with `hash`, if it is cached.
    pub fn get(&self, graph_id: &str, version: i64, hash: &str) -> Option<Arc<Graph>> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.tick += 1;
        let tick = inner.tick;
        let entry = inner.entries.get_mut(graph_id).filter(|e| e.version == version && e.hash == hash)?;
        entry.used = tick;
        Some(entry.graph.clone())
    }

    /// Remembers a committed version (`bytes`: its JSON size), unless a newer
    /// one is already remembered; the least recently used go first when full.
    pub fn put(&self, graph_id: &str, version: i64, hash: String, graph: Arc<Graph>, bytes: usize) {
        if bytes > LIMIT_BYTES / 4 {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.entries.get(graph_id).is_some_and(|e| e.version >= version) {
            return;
        }
        inner.tick += 1;
        let used = inner.tick;
        if let Some(old) = inner.entries.insert(graph_id.to_owned(), Entry { version, hash, graph, bytes, used }) {
            inner.bytes -= old.bytes;
        }
        inner.bytes += bytes;
        while inner.bytes > LIMIT_BYTES {
            let Some(oldest) = inner.entries.iter().min_by_key(|(_, e)| e.used).map(|(id, _)| id.clone()) else { break };
            let removed = inner.entries.remove(&oldest).expect("just found");
            inner.bytes -= removed.bytes;
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn graph() -> Arc<Graph> {
        Arc::new(Graph::from_value(json!({"nodes": []})).unwrap())
    }

    #[test]
    fn an_entry_is_used_only_for_its_version_and_hash() {
        let cache = LatestGraphs::default();
        cache.put("g", 2, "h2".into(), graph(), 10);
        assert!(cache.get("g", 2, "h2").is_some());
        assert!(cache.get("g", 2, "other").is_none(), "same version, different hash: another writer");
        assert!(cache.get("g", 3, "h2").is_none());
        cache.put("g", 1, "h1".into(), graph(), 10);
        assert!(cache.get("g", 2, "h2").is_some(), "an older version never replaces a newer one");
    }

    #[test]
    fn the_least_recently_used_go_first() {
        let cache = LatestGraphs::default();
        let quarter = LIMIT_BYTES / 4;
        for (i, id) in ["a", "b", "c", "d"].iter().enumerate() {
            cache.put(id, 1, "h".into(), graph(), quarter);
            assert!(cache.get(id, 1, "h").is_some(), "{i}");
        }
        cache.get("a", 1, "h");
        cache.put("e", 1, "h".into(), graph(), quarter);
        assert!(cache.get("b", 1, "h").is_none(), "b was the least recently used");
        assert!(cache.get("a", 1, "h").is_some());
        assert!(cache.get("e", 1, "h").is_some());
        cache.put("huge", 1, "h".into(), graph(), LIMIT_BYTES);
        assert!(cache.get("huge", 1, "h").is_none(), "too big to keep");
    }
}
