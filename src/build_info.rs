//! What this binary is: its version and the commit and date `make release` stamps in.
//! A leaf: it imports nothing, so the CLI, the HTTP routes and the panel can all name it.

/// The crate version from `Cargo.toml`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Set by `make release` (`git rev-parse HEAD`); `unknown` for a plain cargo build.
pub const BUILD_COMMIT: &str = match option_env!("PODUP_BUILD_COMMIT") {
    Some(c) => c,
    None => "unknown",
};
/// Set by `make release` from `SOURCE_DATE_EPOCH` (the last commit's date).
pub const BUILD_DATE: &str = match option_env!("PODUP_BUILD_DATE") {
    Some(d) => d,
    None => "unknown",
};
