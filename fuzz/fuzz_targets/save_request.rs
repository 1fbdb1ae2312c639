#![no_main]

#[path = "../checks/server.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::save_request(data));
