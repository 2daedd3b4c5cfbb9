//! HTTP/1.1 request framing, fed in pieces: input format and checks in `podup::fuzzing::http_framing`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| podup::fuzzing::http_framing(data));
