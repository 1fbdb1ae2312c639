//! Seeding: import graph files (e.g. the editor's fixtures) as version 1 of
//! graphs with UUID v4 ids derived from their file names, so a new user has
//! something to review at once and a restart does not import them twice.

use std::path::Path;

use kg_approval::Timestamp;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::save::{SaveBody, import};
use crate::store::Store;
use crate::write::SaveContext;

/// A stable UUID v4 for a name: its SHA-256 with the version and variant bits set.
pub fn uuid_for(name: &str) -> String {
    let digest = Sha256::digest(name.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

/// Imports every `*.json` in `dir` not imported yet. Returns `(file, graph id)` pairs.
pub fn seed_dir(store: &Store, dir: &Path, user: &str) -> Result<Vec<(String, String)>, String> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut seeded = Vec::new();
    for path in files {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let id = uuid_for(&name);
        if store.read(|c| c.head(&id)).map_err(|e| e.to_string())?.is_some() {
            seeded.push((name, id));
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{name}: {e}"))?;
        let doc: Value = serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| format!("{name}: {e}"))?;
        let graph = doc.get("graphData").cloned().unwrap_or(doc);
        let body = SaveBody::parse(json!({ "id": id, "graphData": graph, "override": true, "audit": { "source": "import", "reason": format!("imported from {name}") } }).to_string().as_bytes())
            .map_err(|e| format!("{name}: {e}"))?;
        let context = SaveContext { user, idempotency_key: Some(format!("seed:{name}")), now: Timestamp::now(), keep_versions: None };
        import(store, body, context).map_err(|e| format!("{name}: {e}"))?;
        seeded.push((name, id));
    }
    Ok(seeded)
}
