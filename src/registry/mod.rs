//! Asking an image's registry, cheaply and politely, for the current digest of a tag,
//! resolved and authenticated as podman would: which endpoints (`conf`, from
//! `registries.conf`), which credentials (`auth`, from podman's auth files and
//! credential helpers), and one HEAD per endpoint (`client`); and, for `Follow=` policies
//! that move the tag, the repository's tag list (`tags`). Comparing the answer with the
//! image a unit runs, and choosing a tag, is the caller's job.

pub mod auth;
pub mod client;
pub mod conf;
/// The fuzz target's door (`crate::fuzzing`).
pub mod fuzz;

mod base64;
mod challenge;
mod conf_files;
mod conf_raw;
mod helper;
mod outcome;
mod pace;
mod retry;
mod tags;
mod token;
mod transport;

#[cfg(test)]
mod auth_tests;
#[cfg(test)]
mod client_tests;
#[cfg(test)]
mod conf_tests;
#[cfg(test)]
mod tags_tests;
#[cfg(test)]
mod testing;

pub use auth::{AuthError, AuthFiles, Credential};
pub use client::{CheckError, Client, ClientOptions, Counts, Remote};
pub use conf::{ConfError, Endpoint, Env, Registries};
pub use tags::{TagLimits, TagList};

/// An HTTP date (`Last-Modified`, IMF-fixdate) as ms since the epoch; None for another form.
pub fn http_date_ms(text: &str) -> Option<i64> {
    retry::imf_fixdate_ms(text.trim())
}
