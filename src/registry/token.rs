//! Bearer tokens from a registry's token service (the distribution token-auth spec,
//! `docs/spec/auth/token.md`): `GET <realm>?service=...&scope=...`, with HTTP Basic
//! when there is a credential, answering JSON `token` (or OAuth2's `access_token`) and
//! `expires_in` (60 s when absent; containers/image also treats anything shorter as 60 s).
//! A realm must be https unless it is on a loopback host or the registry is configured
//! `insecure`: credentials are never sent to a plain-HTTP realm elsewhere.

use super::auth::Credential;
use std::net::IpAddr;

/// The lifetime assumed when `expires_in` is absent, and the least accepted.
pub(super) const MIN_TOKEN_LIFETIME_SECS: i64 = 60;
/// A token is not used in its last seconds, lest it expire on the way.
pub(super) const TOKEN_MARGIN_MS: i64 = 10_000;
/// The longest lifetime believed: a day.
const MAX_TOKEN_LIFETIME_SECS: i64 = 24 * 3600;

/// A token and when it stops being used. No `Debug`: the value is a secret.
pub(super) struct Token {
    pub value: String,
    pub expires_ms: i64,
}

impl Token {
    pub fn usable(&self, now_ms: i64) -> bool {
        now_ms < self.expires_ms.saturating_sub(TOKEN_MARGIN_MS)
    }
}

/// The host of `realm` when podup may ask it, given whether the registry is insecure;
/// otherwise why not.
pub(super) fn realm_host(realm: &str, insecure: bool) -> Result<String, String> {
    let (scheme, rest) = realm.split_once("://").ok_or("the token realm is not a URL")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') || realm.chars().any(|c| c.is_control() || c == ' ') {
        return Err("the token realm is not a URL podup accepts".into());
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(authority.to_string()),
        "http" if insecure || is_loopback(authority) => Ok(authority.to_string()),
        "http" => Err(format!(
            "the token realm on '{authority}' is plain http; podup sends no credentials there"
        )),
        _ => Err("the token realm is not an http(s) URL".into()),
    }
}

fn is_loopback(authority: &str) -> bool {
    let host = match authority.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => authority.split(':').next().unwrap_or(""),
    };
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The token request URL: the realm with `service`, `scope` and (with a credential)
/// `account` added to its query.
pub(super) fn request_url(realm: &str, service: &str, scope: &str, credential: Option<&Credential>) -> String {
    let mut url = realm.to_string();
    let mut sep = if realm.contains('?') { '&' } else { '?' };
    let mut add = |name: &str, value: &str| {
        url.push(sep);
        url.push_str(name);
        url.push('=');
        url.push_str(&encode(value));
        sep = '&';
    };
    if let Some(c) = credential.filter(|c| !c.username.is_empty()) {
        add("account", &c.username);
    }
    if !service.is_empty() {
        add("service", service);
    }
    add("scope", scope);
    url
}

/// Percent-encodes all but RFC 3986's unreserved characters.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The token in a token service's JSON answer, valid from `now_ms`; otherwise why not.
pub(super) fn from_body(body: &[u8], now_ms: i64) -> Result<Token, &'static str> {
    let json: serde_json::Value = serde_json::from_slice(body).map_err(|_| "the token service's answer is not JSON")?;
    let text = |key: &str| json.get(key).and_then(|v| v.as_str()).filter(|s| !s.is_empty());
    let value = text("token")
        .or_else(|| text("access_token"))
        .ok_or("the token service gave no token")?;
    // It goes into a header: visible ASCII only.
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("the token service gave a token that is not a header value");
    }
    let lifetime = json
        .get("expires_in")
        .and_then(|v| v.as_i64())
        .unwrap_or(MIN_TOKEN_LIFETIME_SECS)
        .clamp(MIN_TOKEN_LIFETIME_SECS, MAX_TOKEN_LIFETIME_SECS);
    Ok(Token {
        value: value.to_string(),
        expires_ms: now_ms.saturating_add(lifetime * 1000),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realms() {
        assert_eq!(
            realm_host("https://auth.docker.io/token", false).unwrap(),
            "auth.docker.io"
        );
        assert_eq!(
            realm_host("http://127.0.0.1:5000/token", false).unwrap(),
            "127.0.0.1:5000"
        );
        assert_eq!(realm_host("http://localhost/token", false).unwrap(), "localhost");
        assert_eq!(realm_host("http://[::1]:80/t", false).unwrap(), "[::1]:80");
        assert_eq!(realm_host("http://registry.lan/t", true).unwrap(), "registry.lan");
        assert!(
            realm_host("http://registry.lan/t", false)
                .unwrap_err()
                .contains("plain http")
        );
        for bad in [
            "",
            "auth.docker.io/token",
            "ftp://x/y",
            "https://user@host/t",
            "https:///t",
            "https://a b/",
        ] {
            assert!(realm_host(bad, true).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_and_bodies() {
        let c = Credential {
            username: "me@x".into(),
            secret: "s".into(),
        };
        assert_eq!(
            request_url("https://a/token?x=1", "reg svc", "repository:acme/app:pull", Some(&c)),
            "https://a/token?x=1&account=me%40x&service=reg%20svc&scope=repository%3Aacme%2Fapp%3Apull"
        );
        assert_eq!(request_url("https://a/t", "", "s", None), "https://a/t?scope=s");
        let t = from_body(br#"{"token":"abc","expires_in":300}"#, 1000).unwrap();
        assert_eq!((t.value.as_str(), t.expires_ms), ("abc", 301_000));
        let t = from_body(br#"{"access_token":"xyz","expires_in":5}"#, 0).unwrap();
        assert_eq!((t.value.as_str(), t.expires_ms), ("xyz", 60_000));
        assert!(t.usable(49_999) && !t.usable(50_000));
        assert_eq!(from_body(br#"{"token":"a"}"#, 0).unwrap().expires_ms, 60_000);
        for bad in [&b"not json"[..], br#"{"token":""}"#, br#"{"token":"a b"}"#, br#"[1]"#] {
            assert!(from_body(bad, 0).is_err());
        }
    }
}
