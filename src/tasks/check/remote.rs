//! Where a check gets a tag's digest: the state database's cache while it is fresh,
//! else the registry, asked as podman would ask it (`crate::registry`): the same
//! registries.conf and credentials, a `HEAD` only, hosts that asked to be left alone
//! left alone. `podup demo` answers from its simulated registry instead.

use super::settings::Settings;
use crate::host::Host;
use crate::registry::{AuthFiles, CheckError, Client, ClientOptions, Env, Registries};
use crate::services::ImageRef;
use crate::store::updates::{self, Cached};
use rusqlite::Connection;
use std::time::Duration;

/// A tag's digest as a registry (or the cache) gave it.
#[derive(Clone)]
pub struct Got {
    pub digest: String,
    pub created: Option<String>,
    pub endpoint: String,
    pub fetched_ms: i64,
}

/// What asking found.
#[derive(Clone)]
pub enum Found {
    Digest(Got),
    Miss { reason: &'static str, message: String },
}

enum Source<'h> {
    Registry {
        client: Box<Client>,
        conf: Result<Registries, String>,
        auth: AuthFiles,
    },
    Simulated(&'h Host),
}

/// One check's way to the registries.
pub struct Remotes<'h> {
    source: Source<'h>,
    ttl_ms: i64,
    fresh: bool,
    cached: u32,
    /// How long asking the registries took.
    asked: std::time::Duration,
    /// What this check already found, by reference: several units on one image cost
    /// one request.
    seen: std::collections::HashMap<String, Found>,
}

impl<'h> Remotes<'h> {
    pub fn new(conn: &Connection, host: &'h Host, s: &Settings, fresh: bool, now_ms: i64) -> Remotes<'h> {
        let source = if host.simulated() {
            Source::Simulated(host)
        } else {
            let env = Env::from_process();
            let mut client = Client::new(ClientOptions {
                timeout: Duration::from_secs(s.timeout_secs),
                spacing_ms: (0, 25),
                user_agent: format!("podup/{}", env!("CARGO_PKG_VERSION")),
            });
            for (h, until) in updates::holds(conn, now_ms).unwrap_or_default() {
                client.hold(&h, until);
            }
            Source::Registry {
                client: Box::new(client),
                conf: Registries::load(&env).map_err(|e| e.to_string()),
                auth: AuthFiles::load(&env),
            }
        };
        Remotes {
            source,
            ttl_ms: i64::try_from(s.ttl_secs.saturating_mul(1000)).unwrap_or(i64::MAX),
            fresh,
            cached: 0,
            asked: std::time::Duration::ZERO,
            seen: std::collections::HashMap::new(),
        }
    }

    /// Finds the digest of every image's tag: from the cache while fresh (unless the
    /// check asks for fresh answers), else from its registry (and then cached). The
    /// registries are asked on a thread of their own while `meanwhile` runs on this
    /// one (the podman calls: neither waits for the other); its result is returned.
    pub fn find_all<T>(&mut self, conn: &Connection, images: &[ImageRef], meanwhile: impl FnOnce() -> T) -> T {
        let now_ms = crate::clock::now_ms();
        let mut ask: Vec<(String, &ImageRef)> = Vec::new();
        for image in images {
            let reference = image.to_string();
            if self.seen.contains_key(&reference) || ask.iter().any(|(r, _)| *r == reference) {
                continue;
            }
            if image.digest.is_some() {
                let message = "the image is pinned to a digest: its tag is not followed".into();
                self.seen.insert(
                    reference,
                    Found::Miss {
                        reason: "pinned",
                        message,
                    },
                );
                continue;
            }
            if !self.fresh {
                if let Ok(Some(c)) = updates::cached(conn, &reference, now_ms.saturating_sub(self.ttl_ms)) {
                    self.cached += 1;
                    let got = Got {
                        digest: c.digest,
                        created: c.created,
                        endpoint: c.endpoint,
                        fetched_ms: c.fetched_ms,
                    };
                    self.seen.insert(reference, Found::Digest(got));
                    continue;
                }
            }
            ask.push((reference, image));
        }
        let (answers, result) = match &mut self.source {
            Source::Simulated(host) => {
                let answers: Vec<_> = ask
                    .iter()
                    .map(|(r, _)| (r.clone(), simulated(host, r, now_ms)))
                    .collect();
                (answers, meanwhile())
            }
            Source::Registry { client, conf, auth } => std::thread::scope(|s| {
                let (client, conf, auth) = (&mut **client, &*conf, &*auth);
                let asking = s.spawn(move || {
                    let started = std::time::Instant::now();
                    let answers = ask
                        .iter()
                        .map(|(r, image)| (r.clone(), from_registry(client, conf, auth, image)))
                        .collect::<Vec<_>>();
                    (answers, started.elapsed())
                });
                let result = meanwhile();
                let (answers, took) = asking.join().expect("the registry thread does not panic");
                self.asked = took;
                (answers, result)
            }),
        };
        for (reference, got) in answers {
            let found = match got {
                Ok(g) => {
                    let c = Cached {
                        digest: g.digest.clone(),
                        created: g.created.clone(),
                        endpoint: g.endpoint.clone(),
                        fetched_ms: g.fetched_ms,
                    };
                    if let Err(e) = updates::cache(conn, &reference, &c) {
                        log::warn!("could not cache the digest of {reference}: {e}");
                    }
                    Found::Digest(g)
                }
                Err((reason, message)) => Found::Miss { reason, message },
            };
            self.seen.insert(reference, found);
        }
        result
    }

    /// The tags of `image`'s repository, for a `Follow=` policy (not cached: a check of
    /// such a service lists them each time; the pages count in the summary).
    pub fn tags(&mut self, image: &ImageRef) -> Result<Vec<String>, (&'static str, String)> {
        match &mut self.source {
            Source::Simulated(_) => Err(("registry_unreachable", "the demo lists no tags".into())),
            Source::Registry { client, conf, auth } => {
                let conf = conf.as_ref().map_err(|e| ("config", e.clone()))?;
                let endpoints = conf
                    .endpoints(&image.repository)
                    .map_err(|e| ("config", e.to_string()))?;
                let started = std::time::Instant::now();
                let listed = client.tags(&endpoints, auth, crate::clock::now_ms());
                self.asked += started.elapsed();
                listed.map(|l| l.tags).map_err(|e| (e.code(), miss_message(&e)))
            }
        }
    }

    /// What [`Remotes::find_all`] found for `image`.
    pub fn found(&self, image: &ImageRef) -> Option<Found> {
        self.seen.get(&image.to_string()).cloned()
    }

    /// What reading podman's files found wrong (never their content): for the log.
    pub fn warnings(&self) -> Vec<String> {
        match &self.source {
            Source::Registry { conf, auth, .. } => {
                let mut out: Vec<String> = auth.warnings().to_vec();
                if let Err(e) = conf {
                    out.push(e.clone());
                }
                out
            }
            Source::Simulated(_) => Vec::new(),
        }
    }

    /// Stores the holds registries asked for, for the next checks.
    pub fn save(&self, conn: &Connection) -> rusqlite::Result<()> {
        if let Source::Registry { client, .. } = &self.source {
            for (h, until) in client.holds() {
                updates::hold(conn, &h, until)?;
            }
        }
        Ok(())
    }

    /// The requests made, for the task's log.
    pub fn summary(&self) -> String {
        let asked = match &self.source {
            Source::Registry { client, .. } => {
                let c = client.counts();
                format!("{} HEAD, {} token, {} GET", c.heads, c.token_requests, c.gets)
            }
            Source::Simulated(_) => "simulated".into(),
        };
        format!(
            "{asked}; {} answered from the cache; the registries took {} ms",
            self.cached,
            self.asked.as_millis()
        )
    }
}

type Asked = Result<Got, (&'static str, String)>;

fn simulated(host: &Host, reference: &str, now_ms: i64) -> Asked {
    match host.simulated_registry(reference) {
        Some(Ok(digest)) => Ok(Got {
            digest,
            created: None,
            endpoint: reference.to_string(),
            fetched_ms: now_ms,
        }),
        Some(Err((reason, message))) => Err((reason, message)),
        None => Err(("registry_unreachable", "the demo has no such image".into())),
    }
}

fn from_registry(client: &mut Client, conf: &Result<Registries, String>, auth: &AuthFiles, image: &ImageRef) -> Asked {
    let conf = conf.as_ref().map_err(|e| ("config", e.clone()))?;
    let endpoints = conf
        .endpoints(&image.repository)
        .map_err(|e| ("config", e.to_string()))?;
    let now_ms = crate::clock::now_ms();
    client
        .digest(&endpoints, &image.tag, auth, now_ms)
        .map(|r| Got {
            digest: r.digest,
            created: r.created,
            endpoint: r.endpoint,
            fetched_ms: now_ms,
        })
        .map_err(|e| (e.code(), miss_message(&e)))
}

/// The sentence for a failed ask; a rate limit says until when.
fn miss_message(e: &CheckError) -> String {
    match e {
        CheckError::RateLimited { host, until_ms } => {
            format!("rate limited until {} by {host}", crate::clock::format_utc(*until_ms))
        }
        other => other.to_string(),
    }
}
