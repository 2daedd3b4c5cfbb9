//! Quadlet files and drop-ins, parsed and merged: input format and checks in `podup::fuzzing::quadlet`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| podup::fuzzing::quadlet(data));
