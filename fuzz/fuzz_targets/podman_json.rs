//! podman's JSON output, through every podman parser: input format and checks in `podup::fuzzing::podman_json`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| podup::fuzzing::podman_json(data));
