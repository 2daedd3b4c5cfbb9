//! A secret value (a webhook secret, the forward-auth proxy's secret): a string that
//! `Debug` never prints, so a logged `Config` or error shows `Secret(..)`.

use std::fmt;

/// A secret value: never printed by `Debug`.
#[derive(Clone, PartialEq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}
