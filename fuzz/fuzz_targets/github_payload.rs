//! GitHub delivery classification and the signature check: input format and checks in `podup::fuzzing::github_payload`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| podup::fuzzing::github_payload(data));
