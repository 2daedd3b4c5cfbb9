//! Running a Docker credential helper as podman does (docker-credential-helpers'
//! protocol): `docker-credential-<name> get`, the server (the registry host) on stdin,
//! JSON `{"ServerURL", "Username", "Secret"}` on stdout. A helper that does not know the
//! server exits non-zero printing `credentials not found in native keychain`; that is
//! "no credential", not an error. What a failing helper prints is not repeated unless
//! it is a short plain line (it could hold a secret otherwise).

use super::auth::{AuthError, Credential};
use serde::Deserialize;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a helper may take before it is killed.
pub(super) const TIMEOUT: Duration = Duration::from_secs(10);
/// What is read of a helper's stdout; the rest is ignored.
const MAX_OUTPUT_BYTES: u64 = 64 * 1024;
/// docker-credential-helpers' `credentials.errCredentialsNotFoundMessage`.
const NOT_FOUND: &str = "credentials not found in native keychain";
/// How much of a failing helper's first line may be quoted in an error.
const MAX_QUOTED_CHARS: usize = 120;

#[derive(Deserialize)]
struct Answer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// Asks helper `name` (from `dir`, else `$PATH`) for `server`'s credential.
pub(super) fn get(
    name: &str,
    server: &str,
    dir: Option<&Path>,
    timeout: Duration,
) -> Result<Option<Credential>, AuthError> {
    let fail = |reason: String| AuthError::Helper {
        helper: name.to_string(),
        reason,
    };
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) {
        return Err(fail("is not a valid helper name".into()));
    }
    let program = format!("docker-credential-{name}");
    let path = dir.map_or_else(|| PathBuf::from(&program), |d| d.join(&program));
    let mut cmd = Command::new(&path);
    cmd.arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .env_remove("NOTIFY_SOCKET");
    // podup's own settings (some of them secrets) are none of the helper's business.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PODUP_") {
            cmd.env_remove(key);
        }
    }
    let mut child = cmd.spawn().map_err(|e| fail(format!("cannot be run: {}", e.kind())))?;
    let (mut stdin, stdout) = match (child.stdin.take(), child.stdout.take()) {
        (Some(i), Some(o)) => (i, o),
        _ => return Err(fail("cannot be run: no pipes".into())),
    };
    let input = server.to_string();
    // A helper that does not read stdin must not hold podup past the deadline.
    std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let (sender, output) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stdout.take(MAX_OUTPUT_BYTES).read_to_end(&mut bytes);
        let _ = sender.send(bytes);
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(format!("did not answer within {} s", timeout.as_secs_f64())));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(fail(format!("cannot be waited for: {}", e.kind()))),
        }
    };
    // A grandchild may keep stdout open; wait for it no longer than the deadline.
    let remaining = timeout
        .saturating_sub(started.elapsed())
        .max(Duration::from_millis(100));
    let bytes = output.recv_timeout(remaining).unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    if !status.success() {
        if text.trim() == NOT_FOUND {
            return Ok(None);
        }
        let code = status.code().map_or("a signal".to_string(), |c| format!("status {c}"));
        return Err(fail(format!("failed (exit {code}){}", quoted(&text))));
    }
    let answer: Answer =
        serde_json::from_str(text.trim()).map_err(|_| fail("answered with something that is not its JSON".into()))?;
    if answer.username == "<token>" {
        log::warn!("credential helper 'docker-credential-{name}' gave an identity token, which podup does not support");
        return Ok(None);
    }
    if answer.username.is_empty() && answer.secret.is_empty() {
        return Ok(None);
    }
    Ok(Some(Credential {
        username: answer.username,
        secret: answer.secret,
    }))
}

/// `: '<first line>'` when the output is a short line of plain text that does not look
/// like the credential JSON; nothing otherwise.
fn quoted(text: &str) -> String {
    let line = text.trim().lines().next().unwrap_or("").trim();
    let plain = line.chars().all(|c| c.is_ascii_graphic() || c == ' ');
    if line.is_empty() || !plain || line.starts_with('{') || line.chars().count() > MAX_QUOTED_CHARS {
        return String::new();
    }
    format!(": '{line}'")
}
