//! What registries, token services and podman's registry files say: input and checks in `podup::fuzzing::registry_answer`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| podup::fuzzing::registry_answer(data));
