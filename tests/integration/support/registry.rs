//! A real `docker-registry` (Debian 12's distribution 2.8) on loopback for the update-check
//! tests: anonymous, behind htpasswd Basic auth, or behind a [`TokenService`]. The test
//! pushes content through the registry's HTTP API itself (podman is a fake on PATH in
//! these tests) and reads the registry's access log to see what podup asked. A registry
//! that misbehaves (429, 500, silence) is a scripted [`Receiver`](super::receiver), and
//! [`closed_port`] is one where nothing listens.
//!
//! The registry picks its own port (`http.addr: 127.0.0.1:0`) and logs it as `listening
//! on 127.0.0.1:PORT`, so there is no free-port race. Its access log (stdout) has one
//! line a request, in Apache's combined format:
//! `127.0.0.1 - - [07/Dec/2026:15:57:24 +0000] "HEAD /v2/x/manifests/y HTTP/1.1" 404 91 "" "curl/7.88.1"`.
//! The line is written before a small response leaves the registry's buffer, so a request
//! whose answer has arrived is already in the log.

use super::oci::{self, ACCEPT_ANY_MANIFEST, Blob, Image};
use super::token_service::{self, TokenService};
use super::{TempDir, wait_until};
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const DOCKER_REGISTRY: &str = "/usr/bin/docker-registry";
const START_LIMIT_SECS: u64 = 10;

/// How the registry lets clients in.
#[derive(Debug, Clone)]
pub enum RegistryAuth {
    None,
    /// `auth: htpasswd` with this one bcrypt entry (HTTP Basic).
    Htpasswd {
        user: String,
        password: String,
    },
    /// `auth: token` with a [`TokenService`] that wants these Basic credentials (`None`:
    /// anyone gets a token).
    Token {
        login: Option<(String, String)>,
    },
}

/// True when the programs the registry tests need are here; else says why the test
/// `name` is skipped (tests/setup.sh installs them as root), or fails it under `CI`.
pub fn available(name: &str) -> bool {
    let missing: Vec<&str> = [DOCKER_REGISTRY, "htpasswd", "openssl"]
        .into_iter()
        .filter(|p| {
            Command::new("sh")
                .args(["-c", &format!("command -v {p}")])
                .output()
                .map_or(true, |o| !o.status.success())
        })
        .collect();
    if !missing.is_empty() {
        let why = format!("needs {missing:?} (tests/packages.txt: docker-registry, apache2-utils, openssl)");
        // CI installs them (tests/setup.sh): there a skip would be a test that cannot fail.
        assert!(std::env::var_os("CI").is_none(), "{name} {why}");
        eprintln!("SKIPPED {name}: {why}");
    }
    missing.is_empty()
}

pub struct Registry {
    pub addr: SocketAddr,
    pub auth: RegistryAuth,
    dir: TempDir,
    child: Child,
    tokens: Option<TokenService>,
    agent: ureq::Agent,
}

impl Registry {
    pub fn start(auth: RegistryAuth) -> Registry {
        let dir = TempDir::new("registry");
        let tokens = match &auth {
            RegistryAuth::Token { login } => Some(TokenService::start(login.clone())),
            _ => None,
        };
        let auth_conf = match (&auth, &tokens) {
            (RegistryAuth::Htpasswd { user, password }, _) => {
                let out = Command::new("htpasswd")
                    .args(["-nbB", user, password])
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "htpasswd: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let file = dir.path().join("htpasswd");
                std::fs::write(&file, &out.stdout).unwrap();
                format!(
                    "auth:\n  htpasswd:\n    realm: podup-test\n    path: {}\n",
                    file.display()
                )
            }
            (_, Some(t)) => format!(
                "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
                t.realm(),
                token_service::SERVICE,
                token_service::ISSUER,
                t.cert_path().display()
            ),
            _ => String::new(),
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n  \
             maintenance:\n    uploadpurging:\n      enabled: false\n\
             http:\n  addr: 127.0.0.1:0\n{auth_conf}",
            dir.path().join("storage").display()
        );
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let child = Command::new(DOCKER_REGISTRY)
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.path().join("access.log")).unwrap())
            .stderr(std::fs::File::create(dir.path().join("registry.log")).unwrap())
            .spawn()
            .unwrap();
        let agent = ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .timeout_global(Some(Duration::from_secs(10)))
                .build(),
        );
        let mut registry = Registry {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            auth,
            dir,
            child,
            tokens,
            agent,
        };
        let limit = Duration::from_secs(START_LIMIT_SECS);
        let found = wait_until(limit, || {
            registry.addr = registry.listening().unwrap_or(registry.addr);
            registry.addr.port() != 0
        });
        assert!(found, "docker-registry did not start: {}", registry.log());
        let url = registry.url("/v2/");
        let answers = wait_until(limit, || registry.agent.get(&url).call().is_ok());
        assert!(answers, "docker-registry does not answer on {url}: {}", registry.log());
        registry
    }

    fn listening(&self) -> Option<SocketAddr> {
        let log = self.log();
        let at = log.find("msg=\"listening on ")? + "msg=\"listening on ".len();
        log[at..].split('"').next()?.parse().ok()
    }

    /// The registry's own log (stderr): what went wrong when a test fails.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// `127.0.0.1:PORT`, as an image reference starts.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The token service of a `Token` registry.
    pub fn tokens(&self) -> &TokenService {
        self.tokens.as_ref().expect("not a token registry")
    }

    /// A containers-auth.json (`auths` → this host → base64 `user:password`) with the
    /// registry's credentials; `{"auths":{}}` when it has none.
    pub fn auth_json(&self) -> String {
        let auths = match self.login() {
            Some((u, p)) => {
                serde_json::json!({self.host(): {"auth": token_service::base64(format!("{u}:{p}").as_bytes())}})
            }
            None => serde_json::json!({}),
        };
        serde_json::json!({ "auths": auths }).to_string()
    }

    fn login(&self) -> Option<(String, String)> {
        match &self.auth {
            RegistryAuth::None => None,
            RegistryAuth::Htpasswd { user, password } => Some((user.clone(), password.clone())),
            RegistryAuth::Token { login } => login.clone(),
        }
    }

    /// The `Authorization` value the test's own requests on `repo` carry.
    fn authorization(&self, repo: &str) -> Option<String> {
        match &self.auth {
            RegistryAuth::None => None,
            RegistryAuth::Htpasswd { user, password } => Some(format!(
                "Basic {}",
                token_service::base64(format!("{user}:{password}").as_bytes())
            )),
            RegistryAuth::Token { .. } => Some(format!(
                "Bearer {}",
                self.tokens().mint(&[&format!("repository:{repo}:pull,push,delete")])
            )),
        }
    }

    /// Sends a request as the test itself (with credentials); status, headers, body.
    fn send(
        &self,
        method: &str,
        repo: &str,
        url: &str,
        content: Option<(&str, &[u8])>,
    ) -> (u16, ureq::http::HeaderMap, String) {
        let mut req = ureq::http::Request::builder().method(method).uri(url);
        if let Some(a) = self.authorization(repo) {
            req = req.header("Authorization", a);
        }
        req = req.header("Accept", ACCEPT_ANY_MANIFEST);
        let sent = match content {
            Some((kind, body)) => self.agent.run(req.header("Content-Type", kind).body(body).unwrap()),
            None => self.agent.run(req.body(()).unwrap()),
        };
        let mut resp = sent.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        (resp.status().as_u16(), resp.headers().clone(), text)
    }

    fn push_blob(&self, repo: &str, blob: &Blob) {
        let (status, headers, body) = self.send("POST", repo, &self.url(&format!("/v2/{repo}/blobs/uploads/")), None);
        assert_eq!(status, 202, "starting an upload to '{repo}': {body}");
        let location = headers["location"].to_str().unwrap();
        let location = if location.starts_with('/') {
            self.url(location)
        } else {
            location.to_string()
        };
        let sep = if location.contains('?') { '&' } else { '?' };
        let url = format!("{location}{sep}digest={}", blob.digest);
        let (status, _, body) = self.send("PUT", repo, &url, Some(("application/octet-stream", &blob.bytes)));
        assert_eq!(
            status, 201,
            "finishing the upload of {} to '{repo}': {body}",
            blob.digest
        );
    }

    fn push_manifest(&self, repo: &str, reference: &str, media_type: &str, manifest: &Blob) {
        let url = self.url(&format!("/v2/{repo}/manifests/{reference}"));
        let (status, headers, body) = self.send("PUT", repo, &url, Some((media_type, &manifest.bytes)));
        assert_eq!(status, 201, "PUT manifest '{repo}:{reference}': {body}");
        assert_eq!(headers["docker-content-digest"].to_str().unwrap(), manifest.digest);
    }

    fn push_platform(&self, repo: &str, reference: &str, image: &Image) {
        self.push_blob(repo, &image.layer);
        self.push_blob(repo, &image.config);
        self.push_manifest(repo, reference, oci::OCI_MANIFEST, &image.manifest);
    }

    /// Pushes a linux/amd64 image made from `seed` as `repo:tag`; its manifest digest.
    pub fn push_image(&self, repo: &str, tag: &str, seed: &str) -> String {
        let image = Image::new(seed, "amd64");
        self.push_platform(repo, tag, &image);
        image.manifest.digest
    }

    /// Pushes a linux/amd64 image from `seeds[0]` and a linux/arm64 one from `seeds[1]`
    /// (by digest, untagged) and an OCI image index over both as `repo:tag`; the index's
    /// digest and the two manifests' digests.
    pub fn push_index(&self, repo: &str, tag: &str, seeds: [&str; 2]) -> (String, [String; 2]) {
        let amd64 = Image::new(seeds[0], "amd64");
        let arm64 = Image::new(seeds[1], "arm64");
        for image in [&amd64, &arm64] {
            self.push_platform(repo, &image.manifest.digest, image);
        }
        let index = oci::index(&[(&amd64, "amd64"), (&arm64, "arm64")]);
        self.push_manifest(repo, tag, oci::OCI_INDEX, &index);
        (index.digest, [amd64.manifest.digest, arm64.manifest.digest])
    }

    /// `HEAD /v2/<repo>/manifests/<reference>` as the test (with credentials): status and
    /// `Docker-Content-Digest`.
    pub fn head_manifest(&self, repo: &str, reference: &str) -> (u16, Option<String>) {
        let url = self.url(&format!("/v2/{repo}/manifests/{reference}"));
        let (status, headers, _) = self.send("HEAD", repo, &url, None);
        let digest = headers
            .get("docker-content-digest")
            .map(|v| v.to_str().unwrap().to_string());
        (status, digest)
    }

    /// Deletes the manifest `repo:tag` points to, by digest. Registry 2.8 has no API to
    /// delete a tag alone: deleting the manifest removes it and every other tag on it
    /// (an index's platform manifests stay). Afterwards the tag answers 404.
    pub fn delete_tag(&self, repo: &str, tag: &str) {
        let (status, digest) = self.head_manifest(repo, tag);
        assert_eq!(status, 200, "no manifest '{repo}:{tag}' to delete");
        let url = self.url(&format!("/v2/{repo}/manifests/{}", digest.unwrap()));
        let (status, _, body) = self.send("DELETE", repo, &url, None);
        assert_eq!(status, 202, "DELETE '{repo}:{tag}': {body}");
    }

    /// Every request so far as (method, path with query, status), from the access log.
    pub fn access_log(&self) -> Vec<(String, String, u16)> {
        let log = std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default();
        log.lines().filter_map(parse_access_line).collect()
    }

    /// How many requests with `method` had a path containing `path_contains`.
    pub fn count(&self, method: &str, path_contains: &str) -> usize {
        self.access_log()
            .iter()
            .filter(|(m, p, _)| m == method && p.contains(path_contains))
            .count()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `… "METHOD PATH HTTP/1.1" STATUS SIZE …` → (method, path, status).
fn parse_access_line(line: &str) -> Option<(String, String, u16)> {
    let (_, rest) = line.split_once(" \"")?;
    let (request, rest) = rest.split_once("\" ")?;
    let mut request = request.split(' ');
    let (method, path) = (request.next()?, request.next()?);
    let status = rest.split(' ').next()?.parse().ok()?;
    Some((method.to_string(), path.to_string(), status))
}

/// A loopback address where nothing listens (bound, then let go of): connecting is
/// refused at once.
pub fn closed_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

#[test]
fn access_lines() {
    let line =
        r#"127.0.0.1 - - [07/Dec/2026:15:57:24 +0000] "HEAD /v2/x/manifests/y HTTP/1.1" 404 91 "" "curl/7.88.1""#;
    assert_eq!(
        parse_access_line(line),
        Some(("HEAD".into(), "/v2/x/manifests/y".into(), 404))
    );
    assert_eq!(parse_access_line("time=\"…\" level=info msg=\"x\""), None);
}
