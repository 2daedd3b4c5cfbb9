//! A token service for `docker-registry`'s `auth: token` mode, on loopback: `GET
//! /token?service=…&scope=…` answers with a signed JWT granting every scope asked for,
//! after checking HTTP Basic credentials when it was given some. It records each request
//! (scope and user) so tests can count token fetches. The key and a self-signed
//! certificate come from `openssl req` once per service; tokens are signed by `openssl
//! dgst`, so no crypto crate is needed.
//!
//! The tokens follow distribution's token spec (docs/spec/auth/jwt.md): header `alg`
//! `RS256` with the self-signed certificate in `x5c` (it is also the registry's
//! `rootcertbundle`); claims `iss` = `auth.token.issuer`, `aud` = `auth.token.service`,
//! `sub`, `iat`, `nbf` (10 s back), `exp` (5 min on), `jti`, and `access` as a list of
//! `{type, name, actions}`. Debian 12's docker-registry 2.8.2 accepts them, and refuses a
//! token whose `access` names another repository (tests/integration/registry_bed.rs).

use super::TempDir;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub const SERVICE: &str = "podup-test-registry";
pub const ISSUER: &str = "podup-test-token-service";
const TOKEN_LIFETIME_SECS: u64 = 300;

#[derive(Default)]
struct State {
    requests: Vec<(String, Option<String>)>,
    fail_with: Option<u16>,
}

pub struct TokenService {
    pub addr: SocketAddr,
    dir: TempDir,
    state: Arc<Mutex<State>>,
}

impl TokenService {
    /// Starts the service; with `login`, a request must carry these Basic credentials.
    pub fn start(login: Option<(String, String)>) -> TokenService {
        let dir = TempDir::new("token-service");
        let out = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"])
            .args(["-subj", "/CN=podup test token service", "-keyout"])
            .arg(dir.path().join("key.pem"))
            .arg("-out")
            .arg(dir.path().join("cert.pem"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl req: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let (shared, key) = (state.clone(), dir.path().to_path_buf());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (shared, key, login) = (shared.clone(), key.clone(), login.clone());
                std::thread::spawn(move || serve(stream, &shared, &key, login.as_ref()));
            }
        });
        TokenService { addr, dir, state }
    }

    /// The URL the registry names as `realm` in its `WWW-Authenticate: Bearer` challenge.
    pub fn realm(&self) -> String {
        format!("http://{}/token", self.addr)
    }

    /// The certificate for the registry's `rootcertbundle`.
    pub fn cert_path(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// Every token request so far: its scopes (space-separated, as sent; "" for none) and
    /// the Basic user it came with.
    pub fn requests(&self) -> Vec<(String, Option<String>)> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Answers every later request with `status` and no token (`None`: tokens again).
    pub fn fail_with(&self, status: Option<u16>) {
        self.state.lock().unwrap().fail_with = status;
    }

    /// A token for `scopes` without a request (not recorded): for the test's own pushes.
    pub fn mint(&self, scopes: &[&str]) -> String {
        mint(self.dir.path(), scopes, "podup-test")
    }
}

fn serve(mut stream: TcpStream, state: &Mutex<State>, dir: &Path, login: Option<&(String, String)>) {
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let target = head.split(' ').nth(1).unwrap_or_default();
    let query = target.split_once('?').map_or("", |(_, q)| q);
    let scopes: Vec<String> = query
        .split('&')
        .filter_map(|kv| kv.strip_prefix("scope="))
        .map(percent_decode)
        .collect();
    let sent = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        let v = v.trim();
        let encoded = v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic "))?;
        k.eq_ignore_ascii_case("authorization").then(|| decode_basic(encoded))?
    });
    let fail_with = {
        let mut s = state.lock().unwrap();
        s.requests
            .push((scopes.join(" "), sent.as_ref().map(|(u, _)| u.clone())));
        s.fail_with
    };
    let (status, body) = match (fail_with, login) {
        (Some(status), _) => (status, String::from("{\"details\":\"scripted failure\"}")),
        (None, Some(want)) if sent.as_ref() != Some(want) => (401, String::from("{\"details\":\"bad login\"}")),
        (None, _) => {
            let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
            let user = sent.map_or(String::new(), |(u, _)| u);
            let token = mint(dir, &scopes, &user);
            let issued_at = rfc3339(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs());
            let body = serde_json::json!({"token": token, "access_token": token,
                "expires_in": TOKEN_LIFETIME_SECS, "issued_at": issued_at});
            (200, body.to_string())
        }
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// A JWT for `scopes` (`type:name:action,action`), signed with the service's key.
fn mint(dir: &Path, scopes: &[&str], subject: &str) -> String {
    let cert = std::fs::read_to_string(dir.join("cert.pem")).unwrap();
    let der: String = cert.lines().filter(|l| !l.starts_with("-----")).collect();
    let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "x5c": [der]});
    let access: Vec<_> = scopes
        .iter()
        .filter_map(|s| {
            let (kind, rest) = s.split_once(':')?;
            let (name, actions) = rest.rsplit_once(':')?;
            Some(serde_json::json!({"type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>()}))
        })
        .collect();
    static JTI: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let claims = serde_json::json!({
        "iss": ISSUER, "sub": subject, "aud": SERVICE,
        "exp": now + TOKEN_LIFETIME_SECS, "nbf": now - 10, "iat": now,
        "jti": JTI.fetch_add(1, std::sync::atomic::Ordering::SeqCst).to_string(),
        "access": access,
    });
    let signed = format!(
        "{}.{}",
        base64url(header.to_string().as_bytes()),
        base64url(claims.to_string().as_bytes())
    );
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-binary", "-sign"])
        .arg(dir.join("key.pem"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(signed.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "openssl dgst -sign failed");
    format!("{signed}.{}", base64url(&out.stdout))
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (RFC 4648 section 4).
pub fn base64(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// URL-safe base64 without padding (RFC 4648 section 5), as JWTs use.
fn base64url(bytes: &[u8]) -> String {
    base64(bytes).trim_end_matches('=').replace('+', "-").replace('/', "_")
}

/// `user:password` from standard base64; `None` when it is not that.
fn decode_basic(encoded: &str) -> Option<(String, String)> {
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in encoded.trim().trim_end_matches('=').bytes() {
        bits = bits << 6 | ALPHABET.iter().position(|&a| a == c)? as u32;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    let text = String::from_utf8(out).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match (b[i], hex) {
            (b'%', Some(v)) => (out.push(v), i += 3),
            (b'+', _) => (out.push(b' '), i += 1),
            (c, _) => (out.push(c), i += 1),
        };
    }
    String::from_utf8_lossy(&out).to_string()
}

/// Seconds since the epoch as an RFC 3339 UTC time.
fn rfc3339(secs: u64) -> String {
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (the proleptic Gregorian calendar).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (rem / 3600, rem / 60 % 60, rem % 60);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z")
}

#[test]
fn codecs() {
    assert_eq!(base64(b"user:pa ss"), "dXNlcjpwYSBzcw==");
    assert_eq!(decode_basic("dXNlcjpwYSBzcw=="), Some(("user".into(), "pa ss".into())));
    assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    assert_eq!(
        percent_decode("repository%3Aa%2Fb%3Apull%2Cpush"),
        "repository:a/b:pull,push"
    );
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(1_709_210_096), "2024-02-29T12:34:56Z");
}
