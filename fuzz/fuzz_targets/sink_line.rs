//! Notification sink URLs, parsed and rendered: input format and checks in `podup::fuzzing::sink_line`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| podup::fuzzing::sink_line(data));
