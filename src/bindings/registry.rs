//! Live sessions by number, so that an approval handed to JS can read its
//! graph later (`approved.graph`, a whole-graph save) without the graph
//! crossing into JS at approval time.
//!
//! A session is held weakly: freeing it (or letting JS collect it) ends its
//! entry, and an approval of a freed session says so instead of reading
//! freed memory.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};

use wasm_bindgen::prelude::*;

use super::js_error;
use crate::session::ApprovalSession as Session;

/// The last number given out, and the live sessions by number.
type Sessions = (u32, HashMap<u32, Weak<RefCell<Session>>>);

thread_local! {
    static SESSIONS: RefCell<Sessions> = RefCell::new((0, HashMap::new()));
    /// One JS function for all approvals: `(session, approvalId) → graph JSON text | Error`.
    static GRAPH_SOURCE: JsValue = Closure::<dyn Fn(u32, String) -> JsValue>::new(graph_text).into_js_value();
}

pub(super) fn register(session: Session) -> (Rc<RefCell<Session>>, u32) {
    let session = Rc::new(RefCell::new(session));
    let id = SESSIONS.with(|s| {
        let mut s = s.borrow_mut();
        s.0 = s.0.wrapping_add(1);
        let id = s.0;
        s.1.insert(id, Rc::downgrade(&session));
        id
    });
    (session, id)
}

pub(super) fn forget(id: u32) {
    SESSIONS.with(|s| s.borrow_mut().1.remove(&id));
}

/// Runs `f` on a live session.
pub(super) fn with<T>(id: u32, f: impl FnOnce(&Session) -> T) -> Option<T> {
    let session = SESSIONS.with(|s| s.borrow().1.get(&id).and_then(Weak::upgrade))?;
    // A session busy in a call cannot be read; JS never re-enters one.
    let session = session.try_borrow().ok()?;
    Some(f(&session))
}

pub(super) fn graph_source() -> JsValue {
    GRAPH_SOURCE.with(JsValue::clone)
}

fn graph_text(session: u32, approval_id: String) -> JsValue {
    let freed = || {
        super::make_error(
            "graph_unavailable",
            "the session that made this approval was freed; its graph is no longer held",
            None,
            "approved",
            Vec::new(),
        )
    };
    match with(session, |s| s.approved_graph_json(&approval_id)) {
        Some(Ok(text)) => JsValue::from_str(&text),
        Some(Err(e)) => js_error(e, "approved"),
        None => freed(),
    }
}
