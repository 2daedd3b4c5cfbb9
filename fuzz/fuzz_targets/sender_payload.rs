//! Every sender's delivery parser through `providers::read`: input format and checks in `podup::fuzzing::sender_payload`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| podup::fuzzing::sender_payload(data));
