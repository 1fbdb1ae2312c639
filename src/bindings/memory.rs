//! How much WebAssembly memory the module uses: the bytes live on its heap
//! (counted by a thin wrapper around the system allocator) and the size of
//! its linear memory (which grows and never shrinks).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call forwards to `System` with the caller's arguments; the
// counter is bookkeeping only.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = unsafe { System.realloc(ptr, layout, new_size) };
        if !moved.is_null() {
            LIVE.fetch_add(new_size, Ordering::Relaxed);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Memory use of the module: `heapBytes` live on the Rust heap (what sessions
/// and results hold now) and `linearBytes`, the WebAssembly memory's size.
#[wasm_bindgen(js_name = wasmMemory, unchecked_return_type = "{ heapBytes: number; linearBytes: number }")]
pub fn wasm_memory() -> JsValue {
    let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
    let linear = memory.buffer().unchecked_into::<js_sys::ArrayBuffer>().byte_length();
    super::to_js(&serde_json::json!({ "heapBytes": LIVE.load(Ordering::Relaxed), "linearBytes": linear }))
}

/// Makes room for `bytes` more on the heap in one step, before building
/// something that large (a graph from its packed form or its text).
///
/// The allocator grows WASM memory only by what each allocation lacks, so
/// a graph built from many small allocations grows it hundreds of times,
/// and each grow makes V8 replace the memory's `ArrayBuffer` and can start
/// a full GC of the JS heap, which in an editor is large: the first load of
/// a 10,000-node graph in a process ran 20 mark-compacts and took 3–4× a
/// later load. Allocated and freed at once, the block stays free at the top
/// of the heap for what comes next; its pages cost nothing until written.
pub(crate) fn reserve(bytes: usize) {
    let block = Vec::<u8>::with_capacity(bytes);
    // Unused, the allocation and its free could be optimised away.
    std::hint::black_box(block.as_ptr());
}
