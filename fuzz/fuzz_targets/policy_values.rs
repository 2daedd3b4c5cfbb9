//! Policy keys, windows and version tags: input format and checks in `podup::fuzzing::policy_values`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| podup::fuzzing::policy_values(data));
