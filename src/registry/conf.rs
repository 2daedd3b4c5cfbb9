//! Where podman would ask for a repository: `registries.conf` and its drop-ins, chosen
//! and merged as containers/image does (containers-registries.conf(5),
//! containers-registries.conf.d(5); `pkg/sysregistriesv2` of containers/image and
//! containers/container-libs), turned into the ordered endpoints for one repository.
//! Asking those endpoints is `client`'s job; credentials are `auth`'s.
//!
//! Short names: podup needs fully qualified repositories (`quay.io/acme/app`) or short
//! names that `[aliases]` maps. It does not search `unqualified-search-registries`
//! (podman may prompt or try several registries; a check must not guess), and a short
//! name with no alias is read as Docker Hub's (`app` → `docker.io/library/app`), which
//! is how podup's own image references are normalized. The user's
//! `short-name-aliases.conf` cache is not read.

use super::conf_files;
use super::conf_raw::{self, Mirror, PullFrom, Registry};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where the system-wide main file and drop-in directory live.
const SYSTEM_DIR: &str = "/etc/containers";

/// The process environment that decides which files are read, taken once at the edge
/// so that tests need no process environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    /// `$CONTAINERS_REGISTRIES_CONF` (or the older `$REGISTRIES_CONFIG_PATH`): when set,
    /// the only main file, and it must exist; drop-ins are still read.
    pub registries_conf: Option<PathBuf>,
    /// `$REGISTRY_AUTH_FILE`: when set, the only credentials file.
    pub auth_file: Option<PathBuf>,
    /// `$DOCKER_CONFIG`: when set (and `$REGISTRY_AUTH_FILE` is not), podman reads only
    /// `$DOCKER_CONFIG/config.json` (containers/common `pkg/auth` `GetDefaultAuthFile`).
    pub docker_config: Option<PathBuf>,
    pub xdg_runtime_dir: Option<PathBuf>,
    pub xdg_config_home: Option<PathBuf>,
    pub home: Option<PathBuf>,
    pub uid: u32,
}

impl Env {
    /// Reads the variables above; an empty variable counts as unset, as podman treats it.
    pub fn from_process() -> Env {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        Env {
            registries_conf: var("CONTAINERS_REGISTRIES_CONF").or_else(|| var("REGISTRIES_CONFIG_PATH")),
            auth_file: var("REGISTRY_AUTH_FILE"),
            docker_config: var("DOCKER_CONFIG"),
            xdg_runtime_dir: var("XDG_RUNTIME_DIR"),
            xdg_config_home: var("XDG_CONFIG_HOME"),
            home: var("HOME"),
            // SAFETY: getuid has no preconditions and cannot fail.
            uid: unsafe { libc::getuid() },
        }
    }
}

/// Why the configuration cannot be used, or a repository cannot be looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfError {
    /// A file that must be read could not be (never its content).
    Unreadable { path: PathBuf, reason: String },
    /// Not TOML; `line` when the parser says where.
    Syntax {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
    /// TOML, but not a configuration containers/image would accept.
    Invalid { path: PathBuf, message: String },
    /// `blocked = true` for the prefix that matches.
    Blocked {
        repository: String,
        prefix: String,
        path: PathBuf,
    },
    /// Not a repository name podup can resolve.
    Repository { repository: String, reason: &'static str },
}

impl ConfError {
    /// A stable tag for logs and the event log.
    pub fn kind(&self) -> &'static str {
        match self {
            ConfError::Unreadable { .. } => "registries_conf_unreadable",
            ConfError::Syntax { .. } => "registries_conf_syntax",
            ConfError::Invalid { .. } => "registries_conf_invalid",
            ConfError::Blocked { .. } => "registry_blocked",
            ConfError::Repository { .. } => "bad_repository",
        }
    }
}

impl fmt::Display for ConfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfError::Unreadable { path, reason } => {
                write!(f, "registries.conf: {}: cannot read: {reason}", path.display())
            }
            ConfError::Syntax {
                path,
                line: Some(line),
                message,
            } => write!(f, "registries.conf: {}: line {line}: {message}", path.display()),
            ConfError::Syntax { path, message, .. } => write!(f, "registries.conf: {}: {message}", path.display()),
            ConfError::Invalid { path, message } => write!(f, "registries.conf: {}: {message}", path.display()),
            ConfError::Blocked {
                repository,
                prefix,
                path,
            } => write!(
                f,
                "registries.conf: {}: '{repository}' is blocked (prefix '{prefix}')",
                path.display()
            ),
            ConfError::Repository { repository, reason } => {
                write!(f, "'{repository}' is not a repository podup can look up: {reason}")
            }
        }
    }
}

impl std::error::Error for ConfError {}

/// One place to ask: `https://<host>/v2/<name>/manifests/<tag>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `host[:port]` as configured; `docker.io` is asked as `registry-1.docker.io`.
    pub host: String,
    /// The repository path on that host, as used in `/v2/<name>/`.
    pub name: String,
    /// TLS without certificate verification, falling back to plain HTTP.
    pub insecure: bool,
    /// A mirror rather than the registry's own location.
    pub mirror: bool,
}

/// The merged configuration: registries by prefix, and aliases.
#[derive(Debug, Clone, Default)]
pub struct Registries {
    registries: BTreeMap<String, Registry>,
    /// Short name → fully qualified repository; `None` where a later file removed it.
    aliases: BTreeMap<String, Option<String>>,
    unqualified_search: Vec<String>,
}

impl Registries {
    /// Reads the files podman would: `$CONTAINERS_REGISTRIES_CONF` when set, else
    /// `$HOME/.config/containers/registries.conf` when it exists (then only the user's
    /// drop-ins are read), else `/etc/containers/registries.conf`; then `*.conf` in
    /// `/etc/containers/registries.conf.d/` and `$HOME/.config/containers/registries.conf.d/`,
    /// each directory in lexical order. Missing default files are empty.
    pub fn load(env: &Env) -> Result<Registries, ConfError> {
        Registries::parse(&conf_files::read_files(env, Path::new(SYSTEM_DIR))?)
    }

    /// Merges `files` in order: the first is the main file (which may use the V1 format),
    /// the rest are drop-ins (V2 only). A later `[[registry]]` with the same prefix
    /// replaces an earlier one, aliases merge by name (`""` removes one), and
    /// `unqualified-search-registries` is replaced when a file sets it.
    pub fn parse(files: &[(PathBuf, String)]) -> Result<Registries, ConfError> {
        let mut out = Registries::default();
        for (i, (path, text)) in files.iter().enumerate() {
            let file = conf_raw::parse_file(path, text, i == 0)?;
            for registry in file.registries {
                out.registries.insert(registry.prefix.clone(), registry);
            }
            out.aliases.extend(file.aliases);
            if let Some(search) = file.unqualified_search {
                out.unqualified_search = search;
            }
        }
        Ok(out)
    }

    /// `unqualified-search-registries` as merged; podup does not search them.
    pub fn unqualified_search_registries(&self) -> &[String] {
        &self.unqualified_search
    }

    /// For a fully qualified repository (`docker.io/library/app`, `localhost:5000/acme/app`)
    /// or a short name that `[aliases]` maps: where podman would ask for a tag, in order:
    /// the mirrors (less those with `pull-from-mirror = "digest-only"`, or all of them under
    /// `mirror-by-digest-only`), then the location, each after prefix rewriting. The
    /// longest matching prefix wins; `*.example.com` prefixes match subdomains.
    pub fn endpoints(&self, repository: &str) -> Result<Vec<Endpoint>, ConfError> {
        let name = self.qualify(repository)?;
        let Some((registry, matched)) = self.find(&name) else {
            return Ok(vec![endpoint(&name, false, false).map_err(|r| bad(repository, r))?]);
        };
        if registry.blocked {
            return Err(ConfError::Blocked {
                repository: name,
                prefix: registry.prefix.clone(),
                path: registry.origin.clone(),
            });
        }
        let mirrors = registry
            .mirrors
            .iter()
            .filter(|m| !registry.mirror_by_digest_only && m.pull_from != PullFrom::DigestOnly);
        let mut out = Vec::new();
        for Mirror { location, insecure, .. } in mirrors {
            out.push(rewritten(registry, &name, matched, location, *insecure, true)?);
        }
        out.push(rewritten(
            registry,
            &name,
            matched,
            &registry.location,
            registry.insecure,
            false,
        )?);
        Ok(out)
    }

    /// The repository, fully qualified and normalized as a reference is.
    fn qualify(&self, repository: &str) -> Result<String, ConfError> {
        let repo = repository.trim();
        if repo.is_empty() || repo.contains(['@', ' ', '\t', '\n']) {
            return Err(bad(repository, "expected a repository without a tag or digest"));
        }
        match repo.split_once('/') {
            Some((host, path)) if is_host(host) => Ok(normalize(host, path)),
            _ if repo.contains(':') => Err(bad(repository, "expected a repository without a tag")),
            _ => match self.aliases.get(repo) {
                Some(Some(target)) => Ok(target.clone()),
                _ => Ok(match repo.split_once('/') {
                    Some(_) => format!("docker.io/{repo}"),
                    None => format!("docker.io/library/{repo}"),
                }),
            },
        }
    }

    /// The registry with the longest matching prefix, and how much of `name` it matched.
    fn find(&self, name: &str) -> Option<(&Registry, usize)> {
        let mut best: Option<(&Registry, usize)> = None;
        for registry in self.registries.values() {
            if let Some(end) = prefix_match(name, &registry.prefix) {
                if best.is_none_or(|(b, _)| registry.prefix.len() > b.prefix.len()) {
                    best = Some((registry, end));
                }
            }
        }
        best
    }
}

/// True for a first path component that names a registry, as references tell them.
pub(super) fn is_host(first: &str) -> bool {
    first.contains(['.', ':']) || first == "localhost"
}

/// `index.docker.io` is `docker.io`; Docker Hub's one-component names live in `library/`.
pub(super) fn normalize(host: &str, path: &str) -> String {
    let host = if host == "index.docker.io" { "docker.io" } else { host };
    if host == "docker.io" && !path.contains('/') {
        format!("docker.io/library/{path}")
    } else {
        format!("{host}/{path}")
    }
}

/// Where `prefix` matches `name`, the length of `name` it covers: the whole prefix,
/// ending at the end of `name` or before `:`, `/` or `@`; a `*.example.com` prefix
/// matches a subdomain within the host part.
pub(super) fn prefix_match(name: &str, prefix: &str) -> Option<usize> {
    let boundary = |end: usize| name[end..].chars().next().is_none_or(|c| matches!(c, ':' | '/' | '@'));
    if let Some(domain) = prefix.strip_prefix('*') {
        let host_end = name.find('/').unwrap_or(name.len());
        let end = name[..host_end].find(domain)? + domain.len();
        return boundary(end).then_some(end);
    }
    (name.starts_with(prefix) && boundary(prefix.len())).then_some(prefix.len())
}

fn rewritten(
    registry: &Registry,
    name: &str,
    matched: usize,
    location: &str,
    insecure: bool,
    mirror: bool,
) -> Result<Endpoint, ConfError> {
    // An empty location (allowed for `*.` prefixes) asks the name's own host.
    let target = if location.is_empty() {
        name.to_string()
    } else {
        format!("{location}{}", &name[matched..])
    };
    endpoint(&target, insecure, mirror).map_err(|reason| ConfError::Invalid {
        path: registry.origin.clone(),
        message: format!("prefix '{}' rewrites '{name}' to '{target}': {reason}", registry.prefix),
    })
}

/// `target` (`host/path`) as an endpoint, checked so that it makes a sound URL.
fn endpoint(target: &str, insecure: bool, mirror: bool) -> Result<Endpoint, &'static str> {
    let (host, path) = target.split_once('/').ok_or("no repository path after the host")?;
    if !valid_host(host) {
        return Err("not a registry host[:port]");
    }
    let normalized = normalize(host, path);
    let (host, path) = normalized.split_once('/').unwrap_or((host, path));
    if !valid_path(path) {
        return Err("not a repository path (lower-case letters, digits, '.', '_', '-', '/')");
    }
    Ok(Endpoint {
        host: if host == "docker.io" {
            "registry-1.docker.io"
        } else {
            host
        }
        .to_string(),
        name: path.to_string(),
        insecure,
        mirror,
    })
}

fn valid_host(host: &str) -> bool {
    let valid_port = |p: &str| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit());
    if let Some(rest) = host.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return false;
        };
        let v6_ok = !v6.is_empty() && v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':');
        return v6_ok && (after.is_empty() || after.strip_prefix(':').is_some_and(valid_port));
    }
    let (name, port) = match host.split_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (host, None),
    };
    let label_ok =
        |l: &str| !l.is_empty() && !l.starts_with('-') && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    name.len() <= 253 && name.split('.').all(label_ok) && port.is_none_or(valid_port)
}

fn valid_path(path: &str) -> bool {
    path.len() <= 255
        && path.split('/').all(|c| {
            !c.is_empty()
                && c.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
                && c.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        })
}

fn bad(repository: &str, reason: &'static str) -> ConfError {
    ConfError::Repository {
        repository: repository.to_string(),
        reason,
    }
}
