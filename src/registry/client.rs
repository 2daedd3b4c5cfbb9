//! The current digest of a tag, asked the way the OCI distribution spec allows most
//! cheaply: `HEAD /v2/<name>/manifests/<tag>` and its `Docker-Content-Digest`, never a
//! GET of the manifest. Endpoints are tried in order (mirrors, then the location); on
//! 401 the challenge is answered once (a Bearer token from the realm, cached per
//! realm, service and scope; or Basic), and the HEAD retried once.
//!
//! Politeness: one request at a time, a random pause between two requests to one host,
//! and a host that answered 429 is held until its `Retry-After`: later calls in the run
//! are answered `RateLimited` without a request. `insecure` endpoints are asked over
//! https without certificate checks, then over plain http when that fails at the
//! connection, as containers/image does for insecure registries (`detectPropertiesHelper`).
//!
//! Listing a repository's tags (`tags`, for `Follow=semver` and `regex`) goes through the
//! same endpoints, challenges, holds and pacing, with GETs.
//!
//! Not done: registries that omit `Docker-Content-Digest` on HEAD (podman would GET
//! the manifest and hash it) answer `BadAnswer`; identity tokens (OAuth2) are not used.

use super::auth::AuthFiles;
use super::challenge;
use super::conf::Endpoint;
pub use super::outcome::{CheckError, Counts, Remote};
use super::outcome::{failure, valid_digest, valid_tag};
use super::pace::Pacer;
use super::retry;
use super::tags::TagLimits;
use super::token::{self, Token};
use super::transport::{Answer, Failure, Transport};
use crate::build_info::VERSION;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

/// Every manifest type podman pulls, lists first.
const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json";
/// What is read of a token service's answer.
const MAX_TOKEN_BODY_BYTES: u64 = 64 * 1024;
const DEFAULT_TIMEOUT_SECS: u64 = 30;
const DEFAULT_SPACING_MS: (u64, u64) = (0, 25);

pub struct ClientOptions {
    /// For each request as a whole.
    pub timeout: Duration,
    /// The pause between two consecutive requests to one host, drawn at random in this range.
    pub spacing_ms: (u64, u64),
    pub user_agent: String,
}

impl Default for ClientOptions {
    fn default() -> ClientOptions {
        ClientOptions {
            timeout: Duration::from_secs(DEFAULT_TIMEOUT_SECS),
            spacing_ms: DEFAULT_SPACING_MS,
            user_agent: format!("podup/{VERSION}"),
        }
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct TokenKey {
    realm: String,
    service: String,
    scope: String,
}

/// Asks registries for digests; meant for one thread and one run.
pub struct Client {
    transport: Transport,
    holds: BTreeMap<String, i64>,
    pacer: Pacer,
    /// Insecure hosts that answered only over plain http.
    plain_http: HashSet<String>,
    tokens: HashMap<TokenKey, Token>,
    /// The token that last served (host, scope).
    token_for: HashMap<(String, String), TokenKey>,
    /// Hosts that asked for Basic: the credential goes along from the first request.
    basic_hosts: HashSet<String>,
    pub(super) counts: Counts,
    /// Bounds of a tag listing (`tags`).
    pub(super) tag_limits: TagLimits,
}

impl Client {
    pub fn new(opts: ClientOptions) -> Client {
        let transport = Transport::new(opts.timeout, &opts.user_agent);
        let pacer = Pacer::new(opts.spacing_ms);
        Client {
            transport,
            holds: BTreeMap::new(),
            pacer,
            plain_http: HashSet::new(),
            tokens: HashMap::new(),
            token_for: HashMap::new(),
            basic_hosts: HashSet::new(),
            counts: Counts::default(),
            tag_limits: TagLimits::default(),
        }
    }

    /// A host known to refuse until `until_ms` (from an earlier run, stored by the
    /// caller): requests to it are not made, `RateLimited` is returned.
    pub fn hold(&mut self, host: &str, until_ms: i64) {
        let until = self.holds.entry(host.to_string()).or_insert(until_ms);
        *until = (*until).max(until_ms);
    }

    /// Every hold, for the caller to store.
    pub fn holds(&self) -> Vec<(String, i64)> {
        self.holds.iter().map(|(h, u)| (h.clone(), *u)).collect()
    }

    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// The host's hold until after `now_ms`, as the error to answer instead of asking it.
    pub(super) fn held(&self, host: &str, now_ms: i64) -> Option<CheckError> {
        let until_ms = self.holds.get(host).copied().filter(|u| *u > now_ms)?;
        Some(CheckError::RateLimited {
            host: host.to_string(),
            until_ms,
        })
    }

    /// HEAD `/v2/<name>/manifests/<tag>` on each endpoint in order until one answers 200
    /// with a valid `Docker-Content-Digest`; any failure of one falls through to the
    /// next, and the last endpoint's error is returned.
    pub fn digest(
        &mut self,
        endpoints: &[Endpoint],
        tag: &str,
        auth: &AuthFiles,
        now_ms: i64,
    ) -> Result<Remote, CheckError> {
        if !valid_tag(tag) {
            return Err(CheckError::Config(format!("'{tag}' is not a valid tag")));
        }
        let mut last = CheckError::Config("no registry endpoint to ask".into());
        for endpoint in endpoints {
            match self.ask(endpoint, tag, auth, now_ms) {
                Ok(remote) => return Ok(remote),
                Err(e) => {
                    log::debug!("registry '{}' gave no digest for '{tag}': {e}", endpoint.host);
                    last = e;
                }
            }
        }
        Err(last)
    }

    fn ask(&mut self, ep: &Endpoint, tag: &str, auth: &AuthFiles, now_ms: i64) -> Result<Remote, CheckError> {
        if let Some(held) = self.held(&ep.host, now_ms) {
            return Err(held);
        }
        let scope = format!("repository:{}:pull", ep.name);
        let mut sent = self.known_authorization(ep, &scope, auth, now_ms)?;
        let mut answer = self.head(ep, tag, sent.as_deref())?;
        if answer.status == 401 {
            sent = Some(self.authorize(ep, &scope, &answer, sent.as_deref(), auth, now_ms)?);
            self.counts.retries_after_401 += 1;
            answer = self.head(ep, tag, sent.as_deref())?;
        }
        self.interpret(ep, tag, &answer, sent.is_some(), now_ms)
    }

    /// What to send before any challenge: a cached token for this scope, or Basic for a
    /// host that asked for it.
    pub(super) fn known_authorization(
        &self,
        ep: &Endpoint,
        scope: &str,
        auth: &AuthFiles,
        now_ms: i64,
    ) -> Result<Option<String>, CheckError> {
        let key = (ep.host.clone(), scope.to_string());
        if let Some(token) = self.token_for.get(&key).and_then(|k| self.tokens.get(k)) {
            if token.usable(now_ms) {
                return Ok(Some(format!("Bearer {}", token.value)));
            }
        }
        if self.basic_hosts.contains(&ep.host) {
            return Ok(lookup(ep, auth)?.map(|c| c.basic()));
        }
        Ok(None)
    }

    /// Answers a 401's challenge: the `Authorization` value to retry with.
    pub(super) fn authorize(
        &mut self,
        ep: &Endpoint,
        scope: &str,
        answer: &Answer,
        sent: Option<&str>,
        auth: &AuthFiles,
        now_ms: i64,
    ) -> Result<String, CheckError> {
        let challenges = challenge::parse(&answer.joined("www-authenticate"));
        let unauthorized = |message: &str| CheckError::Unauthorized {
            host: ep.host.clone(),
            message: message.to_string(),
        };
        if let Some(bearer) = challenges.iter().find(|c| c.scheme == "bearer") {
            let bad = |message: String| CheckError::BadAnswer {
                host: ep.host.clone(),
                message,
            };
            let realm = bearer
                .param("realm")
                .ok_or_else(|| bad("a Bearer challenge without a realm".into()))?;
            let realm_host = token::realm_host(realm, ep.insecure).map_err(bad)?;
            let key = TokenKey {
                realm: realm.to_string(),
                service: bearer.param("service").unwrap_or("").to_string(),
                scope: bearer
                    .param("scope")
                    .filter(|s| !s.is_empty())
                    .unwrap_or(scope)
                    .to_string(),
            };
            let token = self.fetch_token(ep, &realm_host, &key, auth, now_ms)?;
            let value = format!("Bearer {}", token.value);
            self.tokens.insert(key.clone(), token);
            self.token_for.insert((ep.host.clone(), scope.to_string()), key);
            return Ok(value);
        }
        if challenges.iter().any(|c| c.scheme == "basic") {
            let credential = lookup(ep, auth)?
                .ok_or_else(|| unauthorized("it asks for a user name and password, and none is configured for it"))?;
            let basic = credential.basic();
            if sent == Some(basic.as_str()) {
                return Err(unauthorized(&format!("it refused the password of {credential}")));
            }
            self.basic_hosts.insert(ep.host.clone());
            return Ok(basic);
        }
        Err(unauthorized("it answered 401 without a Bearer or Basic challenge"))
    }

    fn fetch_token(
        &mut self,
        ep: &Endpoint,
        realm_host: &str,
        key: &TokenKey,
        auth: &AuthFiles,
        now_ms: i64,
    ) -> Result<Token, CheckError> {
        let credential = lookup(ep, auth)?;
        let url = token::request_url(&key.realm, &key.service, &key.scope, credential.as_ref());
        let basic = credential.as_ref().map(|c| c.basic());
        let mut headers = vec![("Accept", "application/json")];
        headers.extend(basic.as_deref().map(|b| ("Authorization", b)));
        self.pacer.wait(realm_host);
        self.counts.token_requests += 1;
        self.counts.gets += 1;
        let answer = self
            .transport
            .send(&url, !ep.insecure, &headers, Some(MAX_TOKEN_BODY_BYTES))
            .map_err(|f| failure(realm_host, f))?;
        match answer.status {
            200 => token::from_body(&answer.body, now_ms).map_err(|m| CheckError::BadAnswer {
                host: realm_host.to_string(),
                message: m.to_string(),
            }),
            401 | 403 => Err(CheckError::Unauthorized {
                host: ep.host.clone(),
                message: match &credential {
                    Some(c) => format!("its token service refused {c} (HTTP {})", answer.status),
                    None => format!("its token service refused anonymous access (HTTP {})", answer.status),
                },
            }),
            429 => Err(self.rate_limited(&ep.host, &answer, now_ms)),
            500..=599 => Err(CheckError::Server {
                host: realm_host.to_string(),
                status: answer.status,
            }),
            status => Err(CheckError::BadAnswer {
                host: realm_host.to_string(),
                message: format!("the token service answered HTTP {status}"),
            }),
        }
    }

    /// One HEAD of the tag's manifest.
    fn head(&mut self, ep: &Endpoint, tag: &str, authorization: Option<&str>) -> Result<Answer, CheckError> {
        let path = format!("/v2/{}/manifests/{tag}", ep.name);
        self.send_to(ep, &path, ACCEPT, authorization, None)
    }

    /// One request to `ep` for `path` (from `/v2/`, with its query): a HEAD, or a GET whose
    /// body is read up to `body_limit`. An insecure endpoint whose https fails at the
    /// connection is asked again over plain http, and keeps that for the rest of the run.
    pub(super) fn send_to(
        &mut self,
        ep: &Endpoint,
        path: &str,
        accept: &str,
        authorization: Option<&str>,
        body_limit: Option<u64>,
    ) -> Result<Answer, CheckError> {
        let mut headers = vec![("Accept", accept)];
        headers.extend(authorization.map(|a| ("Authorization", a)));
        let path = format!("{}{path}", ep.host);
        let plain = ep.insecure && self.plain_http.contains(&ep.host);
        self.pacer.wait(&ep.host);
        let scheme = if plain { "http" } else { "https" };
        let first = self
            .transport
            .send(&format!("{scheme}://{path}"), !ep.insecure, &headers, body_limit);
        let answer = match first {
            Err(Failure::Transport(reason)) if ep.insecure && !plain => {
                log::debug!("insecure registry '{}' over https: {reason}; trying http", ep.host);
                self.plain_http.insert(ep.host.clone());
                self.pacer.wait(&ep.host);
                self.transport
                    .send(&format!("http://{path}"), false, &headers, body_limit)
            }
            other => other,
        };
        self.pacer.answered(&ep.host);
        // A request counts once it reached the registry: an https handshake that an
        // insecure registry's plain port refused was no request of its.
        if !matches!(answer, Err(Failure::Transport(_))) {
            match body_limit {
                None => self.counts.heads += 1,
                Some(_) => self.counts.gets += 1,
            }
        }
        answer.map_err(|f| failure(&ep.host, f))
    }

    fn interpret(
        &mut self,
        ep: &Endpoint,
        tag: &str,
        answer: &Answer,
        authorized: bool,
        now_ms: i64,
    ) -> Result<Remote, CheckError> {
        let host = ep.host.clone();
        let endpoint = format!("{}/{}:{tag}", ep.host, ep.name);
        match answer.status {
            200 => {
                let Some(digest) = answer.header("docker-content-digest").map(str::trim) else {
                    let message = "no Docker-Content-Digest header in the answer to HEAD".into();
                    return Err(CheckError::BadAnswer { host, message });
                };
                if !valid_digest(digest) {
                    let shown: String = digest.chars().take(80).collect();
                    let message = format!("'{shown}' is not a sha256 or sha512 digest");
                    return Err(CheckError::BadAnswer { host, message });
                }
                Ok(Remote {
                    digest: digest.to_string(),
                    created: answer.header("last-modified").map(str::to_string),
                    endpoint,
                })
            }
            _ => Err(self.refused(ep, endpoint, answer, authorized, now_ms)),
        }
    }

    /// What an answer other than 200 means; `endpoint` names what was asked for.
    pub(super) fn refused(
        &mut self,
        ep: &Endpoint,
        endpoint: String,
        answer: &Answer,
        authorized: bool,
        now_ms: i64,
    ) -> CheckError {
        let host = ep.host.clone();
        match answer.status {
            404 => CheckError::NotFound { endpoint },
            401 | 403 => {
                let message = match (answer.status, authorized) {
                    (401, true) => "it refused the credentials or token podup sent".into(),
                    (401, false) => "it asks for authentication".into(),
                    _ => "access denied (HTTP 403)".into(),
                };
                CheckError::Unauthorized { host, message }
            }
            429 => self.rate_limited(&ep.host, answer, now_ms),
            status @ 500..=599 => CheckError::Server { host, status },
            status @ 300..=399 => {
                let message = format!("a redirect (HTTP {status}), which podup does not follow");
                CheckError::BadAnswer { host, message }
            }
            status => CheckError::BadAnswer {
                host,
                message: format!("unexpected HTTP {status}"),
            },
        }
    }

    /// Holds `host` until the answer's `Retry-After` and says so.
    pub(super) fn rate_limited(&mut self, host: &str, answer: &Answer, now_ms: i64) -> CheckError {
        let until_ms = retry::until(answer.header("retry-after"), now_ms);
        self.hold(host, until_ms);
        CheckError::RateLimited {
            host: host.to_string(),
            until_ms,
        }
    }
}

/// The credential for an endpoint, looked up under the host as a reference names it.
fn lookup(ep: &Endpoint, auth: &AuthFiles) -> Result<Option<super::Credential>, CheckError> {
    let host = if ep.host == "registry-1.docker.io" {
        "docker.io"
    } else {
        &ep.host
    };
    auth.lookup(host, &ep.name)
        .map_err(|e| CheckError::Config(e.to_string()))
}
