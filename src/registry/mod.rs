//! Asking an image's registry, cheaply and politely, for the current digest of a tag,
//! resolved and authenticated as podman would: which endpoints (`conf`, from
//! `registries.conf`), which credentials (`auth`, from podman's auth files and
//! credential helpers), and one HEAD per endpoint (`client`). Comparing the answer with
//! the image a unit runs is the caller's job.

pub mod conf;

mod conf_raw;

#[cfg(test)]
mod conf_tests;

pub use conf::{ConfError, Endpoint, Env, Registries};
