//! The forward-auth secret (`PODUP_FORWARD_AUTH_SECRET`, `_FILE`, or the credential
//! `forward-auth-secret`): what a trusted proxy adds in `X-Podup-Proxy-Secret` to show
//! that the user it names was signed in by the proxy and not by any local process. It
//! is checked here against `PODUP_TRUSTED_PROXIES` once, at start.

use super::{ConfigError, err, secrets};
use crate::auth::proxy::TrustedProxies;
use crate::model::Secret;

/// The header (lower case) the proxy's secret travels in.
pub const PROXY_SECRET_HEADER: &str = "x-podup-proxy-secret";
/// Shortest secret accepted: it only has to resist guessing, not a dictionary.
pub const MIN_SECRET_BYTES: usize = 16;

/// The secrets (several while rotating). Forward-auth that trusts a peer any local
/// process can be (loopback, `unix`) must have one: without it `curl -H
/// 'X-Forwarded-User: admin'` on the host would be an admin sign-in.
pub fn secrets_for(
    get: &impl Fn(&str) -> Option<String>,
    proxies: &TrustedProxies,
    forward_auth: bool,
) -> Result<Vec<Secret>, ConfigError> {
    let list = secrets(
        get,
        "PODUP_FORWARD_AUTH_SECRET",
        "forward-auth-secret",
        MIN_SECRET_BYTES,
    )?;
    if forward_auth && list.is_empty() && proxies.trusts_local() {
        return Err(err(
            "PODUP_FORWARD_AUTH_HEADER",
            format!(
                "PODUP_TRUSTED_PROXIES '{}' lets any local process connect as the proxy, so the \
                 forward-auth header alone would sign anyone in: set PODUP_FORWARD_AUTH_SECRET \
                 (or _FILE, or the credential 'forward-auth-secret') and have the proxy send it \
                 in X-Podup-Proxy-Secret",
                proxies.describe()
            ),
        ));
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, String> {
        Config::from_pairs(pairs, 0).map_err(|e| e.to_string())
    }

    #[test]
    fn local_proxies_need_a_secret_for_forward_auth() {
        let fwd = ("PODUP_FORWARD_AUTH_HEADER", "X-Forwarded-User");
        for local in ["127.0.0.1", "unix", "::1, 10.0.0.0/8"] {
            let e = config(&[fwd, ("PODUP_TRUSTED_PROXIES", local)]).unwrap_err();
            assert!(
                e.contains("PODUP_FORWARD_AUTH_SECRET") && e.contains("PODUP_TRUSTED_PROXIES"),
                "{e}"
            );
        }
        let c = config(&[fwd, ("PODUP_TRUSTED_PROXIES", "10.0.0.0/8")]).unwrap();
        assert!(c.forward_auth_secrets.is_empty());
        let secret = ("PODUP_FORWARD_AUTH_SECRET", "0123456789abcdef");
        let c = config(&[fwd, ("PODUP_TRUSTED_PROXIES", "127.0.0.1"), secret]).unwrap();
        assert_eq!(c.forward_auth_secrets.len(), 1);
        // Without forward-auth, loopback proxies only vouch for X-Forwarded-Proto.
        assert!(config(&[("PODUP_TRUSTED_PROXIES", "127.0.0.1")]).is_ok());
    }

    #[test]
    fn a_short_secret_is_refused_without_showing_it() {
        let e = config(&[("PODUP_FORWARD_AUTH_SECRET", "hunter2")]).unwrap_err();
        assert!(
            e.starts_with("PODUP_FORWARD_AUTH_SECRET") && !e.contains("hunter2"),
            "{e}"
        );
    }
}
