//! Plain JS data crossing into WASM packed, not as JSON text: `packData` in
//! `js/boundary.js` walks the value once and writes it straight into
//! chunks of WASM memory, and [`read`] builds the `serde_json::Value` from
//! it. The JSON path costs `JSON.stringify`, a copy of the text into WASM
//! and serde_json's parse; an editor hands us its store's objects, so this
//! is the path a session's graph usually takes.
//!
//! The value is exactly what serde_json makes of `JSON.stringify`'s text:
//! a safe integer becomes an integer (`-0` is `0`), any other finite number
//! the same `f64`, and keys keep their order.
//!
//! Layout, little-endian: a value is a tag byte and its body.
//!
//! | tag | value  | body                                                   |
//! |-----|--------|--------------------------------------------------------|
//! | 0   | null   |                                                        |
//! | 1/2 | false/true |                                                    |
//! | 3   | number | `f64`                                                  |
//! | 4   | string | text: `u32` byte length, UTF-8                         |
//! | 5   | array  | `u32` count, then the values                           |
//! | 6   | object | `u32` count, then (key as text, value) pairs           |

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::{Map, Number, Value};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(module = "/js/boundary.js")]
extern "C" {
    /// Bytes written in the last of `next`'s chunks, or -1 if `value` is
    /// not plain data.
    #[wasm_bindgen(js_name = packData)]
    fn pack_data(value: &JsValue, next: &JsValue) -> i32;
}

/// The first chunk: most values (options, a change's value) fit in it.
const FIRST_CHUNK: usize = 64 * 1024;
/// The least size of the chunks after it.
const CHUNK: usize = 1024 * 1024;

/// `value` read from its packed form, or `None` if it is not plain data
/// (the caller takes the JSON path, which says what is wrong and where).
///
/// JS writes into chunks, each value's tag and length and each text whole
/// inside one, so no buffer is ever copied to grow it, and each chunk is
/// freed as soon as it is read: the values built from it reuse its memory.
/// (One growing buffer made the first 100,000-node load in a process grow
/// WASM memory to 2.5 GB for 515 MB of JSON.)
pub(super) fn read(value: &JsValue) -> Option<Value> {
    let chunks = Rc::new(RefCell::new(Vec::<Vec<u8>>::new()));
    let next = {
        let chunks = Rc::clone(&chunks);
        Closure::<dyn FnMut(u32, u32) -> js_sys::Uint8Array>::new(move |used: u32, more: u32| {
            let mut chunks = chunks.borrow_mut();
            if let Some(last) = chunks.last_mut() {
                // SAFETY: JS wrote the first `used` bytes through this
                // chunk's view, which covered its capacity (any byte is a u8).
                unsafe { last.set_len((used as usize).min(last.capacity())) };
            }
            // Each chunk half the size of all before it: WASM memory grows
            // a few dozen times for a 500 MB graph, not once per megabyte.
            let before: usize = chunks.iter().map(Vec::capacity).sum();
            let size = if chunks.is_empty() { FIRST_CHUNK } else { CHUNK.max(before / 2) };
            let mut chunk = Vec::<u8>::with_capacity(size.max(more as usize));
            // SAFETY: the view covers this allocation only, which moving the
            // Vec into `chunks` does not move. If memory grows while JS holds
            // it (a getter that calls into WASM), the view is detached, not
            // left pointing elsewhere, and `packData` asks for a new chunk
            // before its next write.
            let view = unsafe { js_sys::Uint8Array::view_mut_raw(chunk.as_mut_ptr(), chunk.capacity()) };
            chunks.push(chunk);
            view
        })
    };
    let written = pack_data(value, next.as_ref());
    drop(next);
    let mut chunks = Rc::try_unwrap(chunks).ok()?.into_inner();
    let last = chunks.last_mut()?;
    if written < 0 || written as usize > last.capacity() {
        return None;
    }
    // SAFETY: as in `next`.
    unsafe { last.set_len(written as usize) };
    // The value takes about as many bytes as its packed form.
    super::memory::reserve(chunks.iter().map(Vec::len).sum());
    let mut reader = Reader { chunks: chunks.into_iter(), chunk: Vec::new(), at: 0 };
    let value = reader.value()?;
    reader.at_end().then_some(value)
}

/// Reads the chunks in order, dropping each once read.
struct Reader {
    chunks: std::vec::IntoIter<Vec<u8>>,
    chunk: Vec<u8>,
    at: usize,
}

impl Reader {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        while n > 0 && self.at == self.chunk.len() {
            self.chunk = self.chunks.next()?;
            self.at = 0;
        }
        let slice = self.chunk.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(slice)
    }

    fn at_end(&mut self) -> bool {
        self.at == self.chunk.len() && self.chunks.all(|c| c.is_empty())
    }

    fn count(&mut self) -> Option<usize> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize)
    }

    fn text(&mut self) -> Option<String> {
        let len = self.count()?;
        let bytes = self.take(len)?;
        // Checking the UTF-8 again was the largest cost of a load (18 % of
        // it for a 52 MB graph): the bytes are TextEncoder's, which writes
        // only UTF-8, as wasm-bindgen trusts for every `String` argument.
        // SAFETY: `packData` wrote each text as a length and then exactly
        // that many bytes, from `encodeInto` or (ASCII only) by unit.
        Some(unsafe { std::str::from_utf8_unchecked(bytes) }.to_owned())
    }

    fn value(&mut self) -> Option<Value> {
        let tag = *self.take(1)?.first()?;
        Some(match tag {
            0 => Value::Null,
            1 => Value::Bool(false),
            2 => Value::Bool(true),
            3 => Value::Number(number(f64::from_le_bytes(self.take(8)?.try_into().ok()?))?),
            4 => Value::String(self.text()?),
            5 => {
                let count = self.count()?;
                // A count is at most what JS wrote, but reserve no more
                // than a chunk's worth before the values are there.
                let mut items = Vec::with_capacity(count.min(CHUNK));
                for _ in 0..count {
                    items.push(self.value()?);
                }
                Value::Array(items)
            }
            6 => {
                let count = self.count()?;
                let mut map = Map::with_capacity(count.min(CHUNK));
                for _ in 0..count {
                    let key = self.text()?;
                    map.insert(key, self.value()?);
                }
                Value::Object(map)
            }
            _ => return None,
        })
    }
}

/// The number serde_json reads from `JSON.stringify`'s text of `n`: safe
/// integers as integers (`-0` prints as `0`), anything else as the `f64`.
fn number(n: f64) -> Option<Number> {
    const SAFE: f64 = 9_007_199_254_740_991.0;
    if n.fract() == 0.0 && n.abs() <= SAFE {
        return Some(if n >= 0.0 { Number::from(n as u64) } else { Number::from(n as i64) });
    }
    Number::from_f64(n)
}
