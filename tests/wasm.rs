//! The bindings, exercised inside WebAssembly (in Node, by
//! wasm-bindgen-test-runner): errors are JS `Error`s with a `code`, hostile
//! values are refused with a path, and the instance keeps working afterwards.
#![cfg(target_arch = "wasm32")]

use js_sys::{JSON, Reflect};
use kg_approval::bindings::{ApprovalSession, diff_text_js, review_proposal};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

fn js(text: &str) -> JsValue {
    JSON::parse(text).expect("test JSON")
}

fn get(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &key.into()).expect("property")
}

fn graph() -> JsValue {
    js(r#"{"metadata":{"version":4},"nodes":[{"id":"a","label":"A","info":"one two"},{"id":"h","visible":false}],"edges":[]}"#)
}

fn code_of(err: JsValue) -> String {
    assert!(err.is_instance_of::<js_sys::Error>(), "thrown value is an Error");
    get(&err, "code").as_string().expect("code is a string")
}

fn review(proposal: &str) -> Result<JsValue, JsValue> {
    review_proposal(graph().unchecked_into(), js(proposal).unchecked_into(), None)
}

#[wasm_bindgen_test]
fn review_returns_plain_objects() {
    let review = review(r#"{"nodes":[{"id":"a","label":"B"}]}"#).unwrap();
    let changes: js_sys::Array = get(&review, "changes").unchecked_into();
    assert_eq!(changes.length(), 1);
    assert_eq!(get(&changes.get(0), "old").as_string().as_deref(), Some("A"));
    assert!(Reflect::get_prototype_of(&review).unwrap() == Reflect::get_prototype_of(&js_sys::Object::new()).unwrap());
}

#[wasm_bindgen_test]
fn errors_are_js_errors_with_codes_and_the_module_keeps_working() {
    assert_eq!(code_of(review(r#"{"nodes":{}}"#).unwrap_err()), "invalid_proposal");
    assert_eq!(code_of(review(r#"{"searchReplace":[{"nodeId":"a","search":"zzz","replace":""}]}"#).unwrap_err()), "search_not_found");
    assert_eq!(code_of(review_proposal(js("[]").unchecked_into(), js("{}").unchecked_into(), None).unwrap_err()), "invalid_graph");
    assert!(review(r#"{"nodes":[{"id":"a","label":"still works"}]}"#).is_ok());
}

#[wasm_bindgen_test]
fn a_lone_surrogate_is_refused_not_replaced() {
    let lone = js(r#""\ud800 text""#);
    let err = diff_text_js(lone, "text".into(), None).unwrap_err();
    assert_eq!(code_of(err), "invalid_value");
    let proposal = js(r#"{"nodes":[{"id":"a","label":"\udc00"}]}"#);
    let err = review_proposal(graph().unchecked_into(), proposal.unchecked_into(), None).unwrap_err();
    assert_eq!(get(&err, "path").as_string().as_deref(), Some("nodes[0].label"));
}

#[wasm_bindgen_test]
fn a_cycle_is_refused_with_its_path() {
    let proposal = js(r#"{"nodes":[{"id":"a","meta":{}}]}"#);
    let meta = get(&js_sys::Array::from(&get(&proposal, "nodes")).get(0), "meta");
    Reflect::set(&meta, &"self".into(), &meta).unwrap();
    let err = review_proposal(graph().unchecked_into(), proposal.unchecked_into(), None).unwrap_err();
    assert_eq!(code_of(err.clone()), "invalid_value");
    assert_eq!(get(&err, "path").as_string().as_deref(), Some("nodes[0].meta.self"));
}

#[wasm_bindgen_test]
fn a_session_approves_only_accepted_changes_with_stamps() {
    let mut session = ApprovalSession::new(graph().unchecked_into(), None).unwrap();
    session.propose(js(r#"{"nodes":[{"id":"a","label":"B","info":"one three"}]}"#).unchecked_into(), None).unwrap();
    let changed = session.reject("node/a/info".into()).unwrap();
    assert_eq!(changed, ["node/a/info"]);
    assert_eq!(code_of(session.reject("node/zz/info".into()).unwrap_err()), "unknown_change");
    let approved = session
        .approve(js(r#"{"user":"ann@example.com","now":"2026-02-04T14:30:45.123Z","reason":"label only"}"#).unchecked_into())
        .unwrap();
    let nodes = js_sys::Array::from(&get(&get(&approved, "graph"), "nodes"));
    let a = nodes.get(0);
    assert_eq!(get(&a, "label").as_string().as_deref(), Some("B"));
    assert_eq!(get(&a, "info").as_string().as_deref(), Some("one two"));
    assert_eq!(get(&a, "updatedAt").as_string().as_deref(), Some("2026-02-04T14:30:45.123Z"));
    assert!(get(&nodes.get(1), "updatedAt").is_undefined(), "the hidden node is untouched");
    assert_eq!(get(&get(&approved, "audit"), "baseVersion").as_f64(), Some(4.0));
}

#[wasm_bindgen_test]
fn approve_defaults_now_to_the_current_time() {
    let mut session = ApprovalSession::new(graph().unchecked_into(), None).unwrap();
    session.propose(js(r#"{"nodes":[{"id":"a","label":"B"}]}"#).unchecked_into(), None).unwrap();
    let approved = session.approve(js(r#"{"user":"ann"}"#).unchecked_into()).unwrap();
    let at = get(&get(&approved, "audit"), "at").as_string().unwrap();
    let now = js_sys::Date::new_0().to_iso_string().as_string().unwrap();
    assert_eq!(at.len(), "2026-02-04T14:30:45.123Z".len());
    assert_eq!(&at[..15], &now[..15], "same day, hour and ten minutes");
}
