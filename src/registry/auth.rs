//! Credentials for a registry, found where and in the order podman finds them
//! (containers-auth.json(5); containers/image `pkg/docker/config`, containers/common
//! `pkg/auth` `GetDefaultAuthFile`):
//!
//! - `$REGISTRY_AUTH_FILE` when set, and then no other file; else
//! - `$DOCKER_CONFIG/config.json` when `$DOCKER_CONFIG` is set, and no other file; else
//! - `$XDG_RUNTIME_DIR/containers/auth.json` (unset: `/run/containers/0/auth.json` for
//!   root, `/run/user/<uid>/containers/auth.json` otherwise, where rootless podman puts
//!   its runtime directory), then `$XDG_CONFIG_HOME/containers/auth.json` (`~/.config`
//!   when unset), `~/.docker/config.json` and the legacy `~/.dockercfg`.
//!
//! In each file: `credHelpers[host]` runs that helper; else `auths` keys from the most
//! specific (`host/ns/repo`, `host/ns`, `host`), else keys written as URLs
//! (`https://index.docker.io/v1/`). The first file with an answer wins. Like podman,
//! podup ignores `credsStore` and does not consult the `credential-helpers` of
//! registries.conf (only their default, the auth files, is supported). Entries with an
//! `identitytoken` (an OAuth2 refresh token) are not supported: skipped, with a warning.

use super::base64;
use super::conf::Env;
use super::helper;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// An auth file larger than this is skipped with a warning.
const MAX_AUTH_FILE_BYTES: u64 = 1024 * 1024;

/// A user name and its password or token. Neither `Debug` nor `Display` shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub username: String,
    pub secret: String,
}

impl Credential {
    /// The value of an `Authorization: Basic` header.
    pub fn basic(&self) -> String {
        format!(
            "Basic {}",
            base64::encode(format!("{}:{}", self.username, self.secret).as_bytes())
        )
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credential {{ username: {:?}, secret: *** }}", self.username)
    }
}

impl fmt::Display for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "user '{}'", self.username)
    }
}

/// Why credentials could not be looked up (never with a secret in it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// A credential helper could not be run, failed or answered nonsense.
    Helper { helper: String, reason: String },
    /// An `auths` entry whose `auth` is not base64, as podman also refuses.
    Entry { path: PathBuf, key: String },
}

impl AuthError {
    /// A stable tag for logs and the event log.
    pub fn kind(&self) -> &'static str {
        match self {
            AuthError::Helper { .. } => "credential_helper_failed",
            AuthError::Entry { .. } => "bad_auth_entry",
        }
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::Helper { helper, reason } => {
                write!(f, "credential helper 'docker-credential-{helper}' {reason}")
            }
            AuthError::Entry { path, key } => {
                write!(f, "{}: the 'auth' of entry '{key}' is not base64", path.display())
            }
        }
    }
}

impl std::error::Error for AuthError {}

/// The auth files podman would read, parsed once; helpers run on lookup.
pub struct AuthFiles {
    files: Vec<AuthFile>,
    warnings: Vec<String>,
    /// Where `docker-credential-*` programs are; `None`: on `$PATH`.
    helper_dir: Option<PathBuf>,
}

struct AuthFile {
    path: PathBuf,
    /// `~/.dockercfg`: the `auths` map is the whole file, keys are registries.
    legacy: bool,
    auths: BTreeMap<String, Entry>,
    cred_helpers: BTreeMap<String, String>,
}

/// An `auths` entry; `identitytoken` entries are dropped when read.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Entry {
    auth: Option<String>,
    identitytoken: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawFile {
    auths: Option<BTreeMap<String, Entry>>,
    #[serde(rename = "credHelpers")]
    cred_helpers: Option<BTreeMap<String, String>>,
}

impl fmt::Debug for AuthFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let files: Vec<_> = self.files.iter().map(|a| a.path.display().to_string()).collect();
        f.debug_struct("AuthFiles")
            .field("files", &files)
            .field("warnings", &self.warnings)
            .finish_non_exhaustive()
    }
}

impl AuthFiles {
    /// Reads the files of `env` in podman's order. Missing files are skipped quietly;
    /// unreadable or invalid ones are skipped and remembered in `warnings`.
    pub fn load(env: &Env) -> AuthFiles {
        let mut texts = Vec::new();
        let mut warnings = Vec::new();
        for path in paths(env) {
            match read(&path) {
                Ok(Some(text)) => texts.push((path, text)),
                Ok(None) => {}
                Err(reason) => warnings.push(format!("{}: {reason}; skipped", path.display())),
            }
        }
        let mut files = AuthFiles::from_texts(texts);
        warnings.append(&mut files.warnings);
        files.warnings = warnings;
        files
    }

    /// Parses files given with their text, in lookup order; a file named `.dockercfg`
    /// is read in the legacy format.
    pub fn from_texts(files: Vec<(PathBuf, String)>) -> AuthFiles {
        let mut out = AuthFiles {
            files: Vec::new(),
            warnings: Vec::new(),
            helper_dir: None,
        };
        for (path, text) in files {
            let legacy = path.file_name().is_some_and(|n| n == ".dockercfg");
            let parsed = if legacy {
                serde_json::from_str::<BTreeMap<String, Entry>>(&text).map(|auths| (auths, BTreeMap::new()))
            } else {
                serde_json::from_str::<RawFile>(&text)
                    .map(|raw| (raw.auths.unwrap_or_default(), raw.cred_helpers.unwrap_or_default()))
            };
            let (mut auths, cred_helpers) = match parsed {
                Ok(parsed) => parsed,
                Err(e) => {
                    // Line and column only: serde_json's message may quote the text.
                    let at = format!("line {} column {}", e.line(), e.column());
                    out.warnings
                        .push(format!("{}: not valid JSON ({at}); skipped", path.display()));
                    continue;
                }
            };
            auths.retain(|key, entry| {
                let token = entry.identitytoken.as_ref().is_some_and(|t| !t.is_empty());
                if token {
                    out.warnings.push(format!(
                        "{}: entry '{key}' uses an identity token, which podup does not support; skipped",
                        path.display()
                    ));
                }
                !token
            });
            out.files.push(AuthFile {
                path,
                legacy,
                auths,
                cred_helpers,
            });
        }
        out
    }

    /// Runs credential helpers from `dir` instead of `$PATH`.
    pub fn with_helper_dir(mut self, dir: PathBuf) -> AuthFiles {
        self.helper_dir = Some(dir);
        self
    }

    /// Files that were skipped, each with the reason (never their content).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The credential for `host` (as in the image reference: `docker.io`,
    /// `localhost:5000`) and `repository` (its path there), or `None` for anonymous.
    pub fn lookup(&self, host: &str, repository: &str) -> Result<Option<Credential>, AuthError> {
        let key = match repository {
            "" => host.to_string(),
            repo => format!("{host}/{repo}"),
        };
        for file in &self.files {
            let answer = match file.cred_helpers.get(host) {
                Some(name) => helper::get(name, host, self.helper_dir.as_deref(), helper::TIMEOUT)?,
                None => match file.find(&key, host) {
                    Some((key, entry)) => decode(&file.path, key, entry)?,
                    None => None,
                },
            };
            if answer.is_some() {
                return Ok(answer);
            }
        }
        Ok(None)
    }
}

impl AuthFile {
    /// The entry for `key`, most specific first, else one whose key is a URL of `host`.
    fn find(&self, key: &str, host: &str) -> Option<(&str, &Entry)> {
        let mut candidate = if self.legacy { host } else { key };
        loop {
            if let Some((k, e)) = self.auths.get_key_value(candidate) {
                return Some((k, e));
            }
            match candidate.rsplit_once('/') {
                Some((parent, _)) if !self.legacy => candidate = parent,
                _ => break,
            }
        }
        let wanted = docker_hub_alias(host);
        self.auths
            .iter()
            .find(|(k, _)| normalized_key(k, self.legacy) == wanted)
            .map(|(k, e)| (k.as_str(), e))
    }
}

/// `docker.io` and `registry-1.docker.io` are keyed as Docker's `index.docker.io`.
fn docker_hub_alias(host: &str) -> &str {
    match host {
        "docker.io" | "registry-1.docker.io" => "index.docker.io",
        other => other,
    }
}

/// A key as a registry host: a URL scheme and (for URLs and legacy files) the path removed.
fn normalized_key(key: &str, legacy: bool) -> &str {
    let stripped = key
        .strip_prefix("http://")
        .or_else(|| key.strip_prefix("https://"))
        .unwrap_or(key);
    let host = if legacy || stripped.len() != key.len() {
        stripped.split('/').next().unwrap_or(stripped)
    } else {
        stripped
    };
    docker_hub_alias(host)
}

/// `auth` as `user:password`; `None` for an empty entry (Docker writes those next to
/// helpers) or one without a colon (skipped, as podman does).
fn decode(path: &Path, key: &str, entry: &Entry) -> Result<Option<Credential>, AuthError> {
    let auth = entry.auth.as_deref().unwrap_or("");
    if auth.is_empty() {
        return Ok(None);
    }
    let bad = || AuthError::Entry {
        path: path.to_path_buf(),
        key: key.to_string(),
    };
    let decoded = base64::decode(auth).ok_or_else(bad)?;
    let text = String::from_utf8(decoded).map_err(|_| bad())?;
    let Some((username, password)) = text.split_once(':') else {
        log::warn!(
            "{}: the auth of entry '{key}' has no ':' between user and password; skipped",
            path.display()
        );
        return Ok(None);
    };
    Ok(Some(Credential {
        username: username.to_string(),
        secret: password.trim_matches('\0').to_string(),
    }))
}

/// The files podman reads for `env`, in order.
pub(super) fn paths(env: &Env) -> Vec<PathBuf> {
    if let Some(file) = &env.auth_file {
        return vec![file.clone()];
    }
    if let Some(dir) = &env.docker_config {
        return vec![dir.join("config.json")];
    }
    let primary = match (&env.xdg_runtime_dir, env.uid) {
        (Some(dir), _) => dir.join("containers/auth.json"),
        (None, 0) => PathBuf::from("/run/containers/0/auth.json"),
        (None, uid) => PathBuf::from(format!("/run/user/{uid}/containers/auth.json")),
    };
    let mut out = vec![primary];
    let config_home = env
        .xdg_config_home
        .clone()
        .or_else(|| env.home.as_ref().map(|h| h.join(".config")));
    out.extend(config_home.map(|c| c.join("containers/auth.json")));
    if let Some(home) = &env.home {
        out.push(home.join(".docker/config.json"));
        out.push(home.join(".dockercfg"));
    }
    out
}

fn read(path: &Path) -> Result<Option<String>, String> {
    use std::io::Read;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read: {}", e.kind())),
    };
    let mut bytes = Vec::new();
    file.take(MAX_AUTH_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {}", e.kind()))?;
    if bytes.len() as u64 > MAX_AUTH_FILE_BYTES {
        return Err(format!("larger than {MAX_AUTH_FILE_BYTES} bytes"));
    }
    String::from_utf8(bytes).map(Some).map_err(|_| "not UTF-8".to_string())
}
