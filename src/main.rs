//! `podup`: the one program. Everything it does lives in the library (`src/lib.rs`).

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(podup::run(std::env::args().skip(1).collect()))
}
