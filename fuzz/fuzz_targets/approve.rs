#![no_main]

#[path = "../checks/core.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::approve(data));
