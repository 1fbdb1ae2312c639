//! Measurement only (feature `swb-bench`, used by `bench/boundary.js`): each
//! value that crosses the boundary, once as JSON text (what the bindings do)
//! and once with serde-wasm-bindgen, so the two can be timed on the same data.

use serde::Serialize;
use serde_json::Value;
use wasm_bindgen::prelude::*;

use super::{JsResult, parse_json, parse_option_value, to_js};
use crate::graph::Graph;
use crate::proposal::Proposal;

fn swb_error(e: serde_wasm_bindgen::Error) -> JsValue {
    JsValue::from(e)
}

fn swb_out<T: Serialize + ?Sized>(value: &T) -> JsValue {
    value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).unwrap_or(JsValue::NULL)
}

/// Graph in: JSON text (`toJson` + serde_json) or serde-wasm-bindgen; returns the node count.
#[wasm_bindgen(js_name = benchGraphIn)]
pub fn bench_graph_in(graph: JsValue, swb: bool) -> JsResult<usize> {
    let graph = if swb {
        Graph::from_value(serde_wasm_bindgen::from_value::<Value>(graph).map_err(swb_error)?).map_err(|e| super::js_error(e, "graph"))?
    } else {
        Graph::from_value(parse_json(&graph, "graph", false)?).map_err(|e| super::js_error(e, "graph"))?
    };
    Ok(graph.nodes().len())
}

/// Proposal in (the id hashed in neither).
#[wasm_bindgen(js_name = benchProposalIn)]
pub fn bench_proposal_in(proposal: JsValue, swb: bool) -> JsResult<usize> {
    let value =
        if swb { serde_wasm_bindgen::from_value::<Value>(proposal).map_err(swb_error)? } else { parse_json(&proposal, "proposal", false)? };
    Ok(Proposal::from_value_unhashed(value).map_err(|e| super::js_error(e, "proposal"))?.nodes.len())
}

/// Options / context in.
#[wasm_bindgen(js_name = benchOptionsIn)]
pub fn bench_options_in(options: JsValue, swb: bool) -> JsResult<bool> {
    let options =
        if swb { serde_wasm_bindgen::from_value::<Value>(options).map_err(swb_error)? } else { parse_option_value(&options, "context")? };
    let context = super::args::propose_context(&options, "context").map_err(|e| super::js_error(e, "context"))?;
    Ok(context.model.is_some())
}

thread_local! {
    static HELD: std::cell::RefCell<Value> = const { std::cell::RefCell::new(Value::Null) };
}

/// Keeps a value in WASM for `benchHeldOut`.
#[wasm_bindgen(js_name = benchHold)]
pub fn bench_hold(value: JsValue) -> JsResult<()> {
    let value = parse_json(&value, "value", false)?;
    HELD.with(|h| *h.borrow_mut() = value);
    Ok(())
}

/// The held value out: JSON text + `JSON.parse`, or serde-wasm-bindgen.
#[wasm_bindgen(js_name = benchHeldOut)]
pub fn bench_held_out(swb: bool) -> JsValue {
    HELD.with(|h| {
        let value = h.borrow();
        if swb { swb_out(&*value) } else { to_js(&*value) }
    })
}

/// Decisions out (the ids whose decision changed): wasm-bindgen's own
/// `Vec<String>` (what `accept` returns), JSON, or serde-wasm-bindgen.
#[wasm_bindgen(js_name = benchIdsOut)]
pub fn bench_ids_out(count: usize, how: u8) -> JsValue {
    let ids: Vec<String> = (0..count).map(|i| format!("node/00000000-0000-4000-8000-{i:012}/info")).collect();
    match how {
        0 => ids.into_iter().map(JsValue::from).collect::<js_sys::Array>().into(),
        1 => to_js(&ids),
        _ => swb_out(&ids),
    }
}
