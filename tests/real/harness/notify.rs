//! Real notification targets for the real-component tests: a real ntfy server, a loopback
//! HTTP receiver that records what reaches it (the webhook sink, apprise's `json://`), and
//! the real `apprise` CLI run where podup runs.
//!
//! Where each runs, and why:
//! - Both beds share the host's network namespace (each bed only unshares mounts, and the
//!   trixie bed cgroups), so a server on the host's 127.0.0.1 is reachable from podup inside
//!   either bed.
//! - [`Ntfy`]: `ntfy serve`, a child of the test process on the host. Debian 12 has no ntfy
//!   package, so both beds use the trixie root file system's (`ntfy` is in
//!   `trixie-harness.sh`'s package list: `make test` builds it, and so does [`Ntfy::start`]
//!   when it is missing). The binary is dynamically linked (libc, libsqlite3), so it runs
//!   through that root's own dynamic loader and libraries, never the host's.
//! - apprise runs where podup runs (an `exec:` sink): the host's `apprise` (Debian 12's
//!   package, `tests/packages.txt`) on bookworm, the trixie root's on trixie.
//! - [`Receiver`]: a thread of the test process on 127.0.0.1.
//!
//! tests/real/notify.rs uses them on both beds.

use super::{TRIXIE_SCRIPT, check, shout, stdout_of, wait_until};
use serde_json::Value;
use std::fs;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long `ntfy serve` may take to listen and answer `/v1/health`.
const NTFY_START_TIMEOUT: Duration = Duration::from_secs(20);

/// How long one HTTP exchange of these helpers may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Numbers the temporary directories of this test process.
static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

// ------------------------------------------------------------------ ntfy ----

/// A running `ntfy serve` on 127.0.0.1 (a port the kernel picks), with its own cache and
/// auth databases and an empty config file in its own temporary directory (never
/// `/etc/ntfy/server.yml`, and none of the caller's `NTFY_*` variables). Stopped, and its
/// directory removed, on drop. Start it on the thread of the test that uses it.
pub struct Ntfy {
    child: Child,
    dir: TempDir,
    port: u16,
    token: Option<String>,
}

impl Ntfy {
    /// An open server: anyone may publish and read any topic.
    pub fn start() -> Ntfy {
        Ntfy::start_inner(false)
    }

    /// A server that denies everything to anonymous clients (`auth-default-access
    /// deny-all`) and has one admin user, `podup`, whose access token [`Ntfy::token`] gives
    /// (`Authorization: Bearer <token>`).
    pub fn start_with_token() -> Ntfy {
        Ntfy::start_inner(true)
    }

    fn start_inner(with_token: bool) -> Ntfy {
        let started = Instant::now();
        let root = trixie_root_with("usr/bin/ntfy");
        let tmp = TempDir::new("ntfy");
        let dir = tmp.0.clone();
        let config = dir.join("server.yml");
        fs::write(&config, "# podup real tests: everything is on the command line\n").unwrap();
        let auth = dir.join("auth.db");
        let log = fs::File::create(dir.join("ntfy.log")).unwrap();
        let mut serve = ntfy_command(&root, &dir);
        serve
            .args(["serve", "--config", path_str(&config), "--listen-http", "127.0.0.1:0"])
            .args(["--cache-file", path_str(&dir.join("cache.db"))])
            .args(["--auth-file", path_str(&auth)])
            .args([
                "--auth-default-access",
                if with_token { "deny-all" } else { "read-write" },
            ])
            // every request of a test comes from 127.0.0.1: no visitor rate limits for it
            .args(["--visitor-request-limit-exempt-hosts", "127.0.0.1"])
            .args(["--web-root", "disable", "--log-level", "info"])
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        // if the test process dies without dropping this, the server goes with it (the
        // signal follows the thread that started it: keep an Ntfy on the test's own thread)
        unsafe {
            serve.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = serve.spawn().unwrap_or_else(|e| panic!("cannot start ntfy serve: {e}"));
        let mut ntfy = Ntfy {
            child,
            dir: tmp,
            port: 0,
            token: None,
        };
        let pid = ntfy.child.id();
        let listening = wait_until(NTFY_START_TIMEOUT, || {
            if let Ok(Some(status)) = ntfy.child.try_wait() {
                panic!("ntfy serve exited ({status}): {}", ntfy.log());
            }
            match listen_port(pid) {
                Some(port) => {
                    ntfy.port = port;
                    true
                }
                None => false,
            }
        });
        assert!(
            listening,
            "ntfy serve did not listen in {NTFY_START_TIMEOUT:?}: {}",
            ntfy.log()
        );
        let listen_s = started.elapsed().as_secs_f64();
        let mut last = String::new();
        let healthy = wait_until(NTFY_START_TIMEOUT, || {
            match http("GET", &ntfy.url("/v1/health"), &[], b"") {
                Ok(a) => {
                    last = format!("{} {}", a.status, a.text());
                    a.status == 200 && a.json()["healthy"] == true
                }
                Err(e) => {
                    last = e.to_string();
                    false
                }
            }
        });
        assert!(healthy, "ntfy serve is not healthy: {last}\n{}", ntfy.log());
        let healthy_s = started.elapsed().as_secs_f64();
        // the auth database exists once the server has started: the user and its token go
        // in now (the server reads them from the database on each request)
        if with_token {
            let run = |args: &[&str]| {
                let mut c = ntfy_command(&root, &dir);
                c.args(args).env("NTFY_PASSWORD", "podup-real-test-only");
                let out = c.output().unwrap_or_else(|e| panic!("cannot run ntfy: {e}"));
                let out = check(out, &format!("ntfy {}", args.join(" ")));
                // it reports on stderr
                format!("{}{}", stdout_of(&out), String::from_utf8_lossy(&out.stderr))
            };
            let common = [
                "--config",
                path_str(&config),
                "--auth-file",
                path_str(&auth),
                "--auth-default-access",
                "deny-all",
            ];
            let mut add = vec!["user"];
            add.extend_from_slice(&common);
            add.extend_from_slice(&["add", "--role=admin", "podup"]);
            run(&add);
            let mut tok = vec!["token"];
            tok.extend_from_slice(&common);
            tok.extend_from_slice(&["add", "podup"]);
            // "token tk_... created for user podup, never expires"
            let said = run(&tok);
            let t = said
                .split_whitespace()
                .find(|w| w.starts_with("tk_"))
                .unwrap_or_else(|| panic!("ntfy token add said no token: {said}"))
                .to_string();
            ntfy.token = Some(t);
        }
        shout(&format!(
            "ntfy serve ({}) on {}: listening in {listen_s:.2}s, healthy in {healthy_s:.2}s{}",
            ntfy.version(),
            ntfy.base_url(),
            match ntfy.token {
                Some(_) => format!(", user and token in {:.2}s", started.elapsed().as_secs_f64()),
                None => String::new(),
            }
        ));
        ntfy
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `base_url` + `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url())
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The admin user's access token ([`Ntfy::start_with_token`] only).
    #[track_caller]
    pub fn token(&self) -> &str {
        self.token
            .as_deref()
            .expect("an open server has no token (Ntfy::start_with_token)")
    }

    /// The `Authorization` header this server wants, if any.
    fn auth(&self) -> Vec<(String, String)> {
        match &self.token {
            Some(t) => vec![("Authorization".into(), format!("Bearer {t}"))],
            None => vec![],
        }
    }

    /// Publishes `message` to `topic` with a `Title` header (as the token's user, if any);
    /// returns the message ntfy answers with.
    #[track_caller]
    pub fn publish(&self, topic: &str, title: &str, message: &str) -> Value {
        let mut headers = self.auth();
        headers.push(("Title".into(), title.into()));
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let a = http("POST", &self.url(&format!("/{topic}")), &headers, message.as_bytes())
            .unwrap_or_else(|e| panic!("publish to {topic}: {e}"));
        assert_eq!(a.status, 200, "publish to {topic}: {}", a.text());
        a.json()
    }

    /// Every cached message of `topic`, oldest first (only `"event":"message"` lines),
    /// read with ntfy's own subscribe API in poll mode: `GET /<topic>/json?poll=1&since=all`
    /// answers one JSON object per line and closes once the cached messages are sent
    /// (docs.ntfy.sh/subscribe/api/, "Polling" and "Fetching cached messages": `poll=1`
    /// ends the connection after all available messages; `since=all` reads every cached one).
    #[track_caller]
    pub fn messages(&self, topic: &str) -> Vec<Value> {
        let headers = self.auth();
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let a = http(
            "GET",
            &self.url(&format!("/{topic}/json?poll=1&since=all")),
            &headers,
            b"",
        )
        .unwrap_or_else(|e| panic!("poll {topic}: {e}"));
        assert_eq!(a.status, 200, "poll {topic}: {}", a.text());
        a.text()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("poll {topic}: {e}: {l}")))
            .filter(|m| m["event"] == "message")
            .collect()
    }

    /// Waits until `topic` holds at least `n` messages; returns them all (fewer on timeout).
    pub fn wait_messages(&self, topic: &str, n: usize, timeout: Duration) -> Vec<Value> {
        let mut got = Vec::new();
        wait_until(timeout, || {
            got = self.messages(topic);
            got.len() >= n
        });
        got
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.0.join("ntfy.log")).unwrap_or_default()
    }

    /// The version its start line names (`ntfy 2.11.0-2+b4`), or "".
    pub fn version(&self) -> String {
        self.log()
            .split(", ")
            .find(|p| p.starts_with("ntfy "))
            .unwrap_or("")
            .to_string()
    }
}

impl Drop for Ntfy {
    fn drop(&mut self) {
        // our own child, by its pid: SIGTERM, then SIGKILL if it lingers
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM);
        }
        let gone = wait_until(Duration::from_secs(3), || matches!(self.child.try_wait(), Ok(Some(_))));
        if !gone {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        // then the directory goes, with the TempDir
    }
}

/// `ntfy` of the trixie root, run through that root's dynamic loader and libraries, with a
/// clean environment (no `NTFY_*` of the caller), in `dir`.
fn ntfy_command(root: &Path, dir: &Path) -> Command {
    let mut c = Command::new(root.join("lib64/ld-linux-x86-64.so.2"));
    c.arg("--library-path")
        .arg(root.join("usr/lib/x86_64-linux-gnu"))
        .arg(root.join("usr/bin/ntfy"))
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("HOME", dir)
        .env("LANG", "C.UTF-8")
        .current_dir(dir)
        .stdin(Stdio::null());
    c
}

/// The trixie root file system, built first when it is missing or lacks `file` (a root of
/// an older package list): `trixie-harness.sh root` (flocked, a no-op once built).
fn trixie_root_with(file: &str) -> PathBuf {
    let rootfs = || {
        let out = Command::new(TRIXIE_SCRIPT)
            .arg("rootfs")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {TRIXIE_SCRIPT}: {e}"));
        PathBuf::from(stdout_of(&check(out, "trixie-harness.sh rootfs")))
    };
    let root = rootfs();
    if !root.join(file).exists() {
        let started = Instant::now();
        let out = Command::new(TRIXIE_SCRIPT)
            .arg("root")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {TRIXIE_SCRIPT}: {e}"));
        check(out, "trixie-harness.sh root");
        shout(&format!(
            "built the trixie root file system for {file} in {:.1}s",
            started.elapsed().as_secs_f64()
        ));
    }
    let root = rootfs();
    assert!(root.join(file).exists(), "no {file} in {}", root.display());
    root
}

/// The TCP port `pid` listens on (IPv4), from its socket fds and /proc/net/tcp (as the bed
/// scripts' `listen_port`), or `None` while it listens on none.
fn listen_port(pid: u32) -> Option<u16> {
    let inodes: Vec<String> = fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()?
        .flatten()
        .filter_map(|e| fs::read_link(e.path()).ok())
        .filter_map(|l| {
            l.to_str()
                .and_then(|s| s.strip_prefix("socket:["))
                .and_then(|s| s.strip_suffix(']'))
                .map(str::to_string)
        })
        .collect();
    let tcp = fs::read_to_string(format!("/proc/{pid}/net/tcp")).ok()?;
    tcp.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        // f[1] local address "0100007F:PORT", f[3] state (0A = LISTEN), f[9] inode
        if f.len() > 9 && f[3] == "0A" && inodes.iter().any(|i| i == f[9]) {
            let port = f[1].rsplit(':').next()?;
            u16::from_str_radix(port, 16).ok()
        } else {
            None
        }
    })
}

/// One request a [`Receiver`] got.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// The request target as sent: path and query.
    pub path: String,
    /// In the order sent, names as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// When its body was complete.
    pub at: Instant,
}

impl Request {
    /// The first header named `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{} {}: not JSON ({e}): {}", self.method, self.path, self.text()))
    }
}

/// A loopback HTTP server that records every request (method, target, headers, body) and
/// answers each with the status [`Receiver::answer_with`] set (200 at first) and a small
/// JSON body, then closes the connection. For the webhook sink and apprise's `json://`.
/// Stops on drop.
pub struct Receiver {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    status: Arc<AtomicU16>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    pub fn start() -> Receiver {
        Receiver::on(TcpListener::bind("127.0.0.1:0").unwrap())
    }

    /// A receiver on `port` of 127.0.0.1 (one a test reserved while the sink was down).
    pub fn start_at(port: u16) -> Receiver {
        Receiver::on(TcpListener::bind(("127.0.0.1", port)).unwrap())
    }

    fn on(listener: TcpListener) -> Receiver {
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(200));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s, st) = (requests.clone(), status.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (r, s) = (r.clone(), s.clone());
                std::thread::spawn(move || serve_one(conn, &r, &s));
            }
        });
        Receiver {
            addr,
            requests,
            status,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT` + `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Answers later requests with `status` (e.g. 500 to make a sender retry).
    pub fn answer_with(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    /// Every request so far, in the order their bodies completed.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// Waits until at least `n` requests came; returns them all (fewer on timeout).
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Request> {
        wait_until(timeout, || self.requests.lock().unwrap().len() >= n);
        self.requests()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wakes the accept loop
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads one request from `conn` (Content-Length or chunked body; `Expect: 100-continue`
/// answered), records it, answers `status` and closes.
fn serve_one(mut conn: TcpStream, requests: &Mutex<Vec<Request>>, status: &AtomicU16) {
    let _ = conn.set_read_timeout(Some(HTTP_TIMEOUT));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let mut continued = false;
    let request = loop {
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf) {
            Ok(httparse::Status::Complete(head_len)) => {
                let heads: Vec<(String, String)> = req
                    .headers
                    .iter()
                    .map(|h| (h.name.to_string(), String::from_utf8_lossy(h.value).into_owned()))
                    .collect();
                let get = |n: &str| {
                    heads
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(n))
                        .map(|(_, v)| v.trim().to_ascii_lowercase())
                };
                if !continued && get("expect").as_deref() == Some("100-continue") {
                    continued = true;
                    let _ = conn.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
                }
                let rest = &buf[head_len..];
                let body = if get("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
                    dechunk(rest)
                } else {
                    let n: usize = get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
                    (rest.len() >= n).then(|| rest[..n].to_vec())
                };
                if let Some(body) = body {
                    break Some(Request {
                        method: req.method.unwrap_or("").to_string(),
                        path: req.path.unwrap_or("").to_string(),
                        headers: heads,
                        body,
                        at: Instant::now(),
                    });
                }
            }
            Ok(httparse::Status::Partial) => {}
            Err(_) => break None,
        }
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => break None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let Some(request) = request else {
        let _ = conn.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
    };
    requests.lock().unwrap().push(request);
    let code = status.load(Ordering::SeqCst);
    let body = format!("{{\"status\":{code}}}");
    let _ = write!(
        conn,
        "HTTP/1.1 {code} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        if code < 400 { "OK" } else { "Error" },
        body.len()
    );
    let _ = conn.flush();
    let _ = conn.shutdown(Shutdown::Write);
}

/// The body of a complete chunked encoding in `b`, or `None` while it is incomplete.
fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = b.windows(2).position(|w| w == b"\r\n")?;
        let size_text = String::from_utf8_lossy(&b[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        b = &b[line_end + 2..];
        if size == 0 {
            return Some(out); // trailers, if any, are not kept
        }
        if b.len() < size + 2 {
            return None;
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}

// ------------------------------------------------------------------ http ----

/// One answer of [`http`].
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// One HTTP/1.0 exchange with a loopback `url` (`http://127.0.0.1:PORT/path`): an HTTP/1.0
/// request makes the server send a plain body (no chunks) and close when done, so the
/// answer is everything up to the close.
pub fn http(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> std::io::Result<Answer> {
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{what}: {url}"));
    let rest = url.strip_prefix("http://").ok_or_else(|| bad("not an http URL"))?;
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let addr: SocketAddr = host.parse().map_err(|_| bad("not IP:PORT"))?;
    if !addr.ip().is_loopback() {
        return Err(bad("only loopback"));
    }
    let mut s = TcpStream::connect_timeout(&addr, HTTP_TIMEOUT)?;
    s.set_read_timeout(Some(HTTP_TIMEOUT))?;
    s.set_write_timeout(Some(HTTP_TIMEOUT))?;
    let mut req = format!(
        "{method} {path} HTTP/1.0\r\nHost: {host}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    s.write_all(body)?;
    let mut all = Vec::new();
    s.read_to_end(&mut all)?;
    let end = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no answer head"))?;
    let head = String::from_utf8_lossy(&all[..end]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| bad("no status"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    Ok(Answer {
        status,
        headers,
        body: all[end + 4..].to_vec(),
    })
}

// ----------------------------------------------------------------- misc -----

fn path_str(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

/// A fresh private directory `<tmp>/podup-<what>-<pid>-<n>` for one helper, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(what: &str) -> TempDir {
        use std::os::unix::fs::DirBuilderExt;
        let n = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("podup-{what}-{}-{n}", std::process::id()));
        if dir.exists() {
            fs::remove_dir_all(&dir).unwrap();
        }
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
