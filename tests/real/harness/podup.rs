//! podup inside a bed: its binary and shipped units installed into the real manager
//! (with a test drop-in for the environment), HTTP calls, tokens, signed webhooks.

use super::{Harness, wait_until};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const UNITS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/units");
/// Where the built binary is copied inside the bed (its private /run): visible to a
/// unit with ProtectHome= and PrivateTmp=, wherever the checkout lives. The bed's
/// name is in the path so that counting processes by it counts only this bed's.
pub fn bed_bin(bed: &Harness) -> String {
    format!(
        "/run/podup-test/{}/podup",
        bed.dir().file_name().unwrap().to_str().unwrap()
    )
}

/// Reads one answer after the bytes already in `have`, as an HTTP client does: the
/// head, then the body its Content-Length gives, or up to the close when there is none.
/// podup keeps connections alive, so reading to the end would wait for its idle time.
pub fn read_answer(s: &mut impl Read, mut have: Vec<u8>) -> std::io::Result<Vec<u8>> {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if answer_complete(&have) {
            return Ok(have);
        }
        match s.read(&mut chunk)? {
            0 => return Ok(have),
            n => have.extend_from_slice(&chunk[..n]),
        }
    }
}

/// True once `buf` holds a head and the body its Content-Length gives.
pub fn answer_complete(buf: &[u8]) -> bool {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    String::from_utf8_lossy(&buf[..end])
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        })
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .is_some_and(|n| buf.len() - end - 4 >= n)
}

/// Status and `X-Request-Id` of a response head (0 and "" when there is none).
pub fn parse_head(response: &[u8]) -> (u16, String) {
    let text = String::from_utf8_lossy(response);
    let head = text.split("\r\n\r\n").next().unwrap_or("");
    let status = head
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let id = head
        .lines()
        .find_map(|l| l.strip_prefix("X-Request-Id: "))
        .unwrap_or_default()
        .to_string();
    (status, id)
}

/// `X-Hub-Signature-256` for `body` under the test secret.
pub fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Every event row's request id, oldest first.
pub fn request_ids(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut st = conn.prepare("SELECT request_id FROM event_log ORDER BY id").unwrap();
    st.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Installs a unit from `units/` as shipped, with only the address and the binary
/// path changed, plus a test drop-in.
pub fn install_shipped(bed: &Harness, name: &str, port: u16, dropin: Option<&str>) {
    install_shipped_with(bed, name, port, dropin, &bed_bin(bed));
}

/// [`install_shipped`] with the binary at `bin`.
pub fn install_shipped_with(bed: &Harness, name: &str, port: u16, dropin: Option<&str>, bin: &str) {
    let text = std::fs::read_to_string(format!("{UNITS}/{name}")).unwrap();
    let text = text
        .replace("ExecStart=/usr/local/bin/podup", &format!("ExecStart={bin}"))
        .replace("127.0.0.1:8777", &format!("127.0.0.1:{port}"))
        .replace("127.0.0.1:8778", &format!("127.0.0.1:{port}"));
    if let Some(conf) = dropin {
        let dir = bed.unit_dir().join(format!("{name}.d"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("test.conf"), conf).unwrap();
    }
    bed.install_unit(name, &text);
}

pub fn copy_binary(bed: &Harness) {
    bed.exec_ok(&[
        "install",
        "-D",
        "-m",
        "0755",
        env!("CARGO_BIN_EXE_podup"),
        &bed_bin(bed),
    ]);
}

/// The state database of a unit with `StateDirectory=podup` in this user manager.
pub fn state_db(bed: &Harness) -> PathBuf {
    let candidates = [
        PathBuf::from(bed.env_var("XDG_STATE_HOME")).join("podup/podup.db"),
        PathBuf::from(bed.env_var("XDG_CONFIG_HOME")).join("podup/podup.db"),
    ];
    candidates
        .iter()
        .find(|p| p.exists())
        .cloned()
        .unwrap_or_else(|| panic!("no state database in {candidates:?}"))
}

pub struct Answer {
    pub status: u16,
    pub first_byte: Duration,
    pub request_id: String,
    pub body: String,
}

/// One GET; the time is from connect to the first response byte.
pub fn get(addr: SocketAddr, path: &str) -> std::io::Result<Answer> {
    let start = Instant::now();
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
    s.set_read_timeout(Some(Duration::from_secs(15)))?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())?;
    let mut first = [0u8; 1];
    s.read_exact(&mut first)?;
    let first_byte = start.elapsed();
    let rest = read_answer(&mut s, first.to_vec())?;
    let (status, request_id) = parse_head(&rest);
    let text = String::from_utf8_lossy(&rest);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Ok(Answer {
        status,
        first_byte,
        request_id,
        body: body.to_string(),
    })
}

pub const SECRET: &str = "real-test-secret";

/// podup serving in a bed through the shipped podup.socket + podup.service.
pub struct Served {
    pub addr: SocketAddr,
    pub token: String,
}

/// Installs podup (binary, podup.socket, podup.service with `env` in a drop-in),
/// starts the socket, makes podup create its database, and adds an admin token.
pub fn serve(bed: &Harness, env: &[(&str, &str)]) -> Served {
    copy_binary(bed);
    serve_with(bed, env, &bed_bin(bed))
}

/// [`serve`] from the binary already installed at `bin` in the bed.
pub fn serve_with(bed: &Harness, env: &[(&str, &str)], bin: &str) -> Served {
    serve_on(bed, env, bin, free_port())
}

/// [`serve_with`] on `port` (one a test chose before the bed was up, to tell the
/// bed's registry where to send its notifications).
pub fn serve_on(bed: &Harness, env: &[(&str, &str)], bin: &str, port: u16) -> Served {
    let mut dropin = String::from("[Service]\n");
    for (k, v) in env {
        dropin += &format!("Environment=\"{k}={v}\"\n");
    }
    install_shipped_with(bed, "podup.socket", port, None, bin);
    install_shipped_with(bed, "podup.service", port, Some(&dropin), bin);
    bed.systemctl_ok(&["start", "podup.socket"]);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    assert_eq!(get(addr, "/health").unwrap().status, 200);
    let db = state_db(bed);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_podup"))
        .args(["token", "add", "tests", "--role", "admin"])
        .env("PODUP_STATE_DIR", db.parent().unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    Served { addr, token }
}

/// A parsed answer with its JSON body.
pub struct Json {
    pub status: u16,
    pub body: serde_json::Value,
}

/// One HTTP request; `headers` are extra header lines.
pub fn call(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Json {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(90))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head += &format!("{k}: {v}\r\n");
    }
    head += "\r\n";
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let out = String::from_utf8_lossy(&read_answer(&mut s, Vec::new()).unwrap()).to_string();
    let (h, b) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let status = h.split(' ').nth(1).and_then(|v| v.parse().ok()).unwrap_or(0);
    let body = serde_json::from_str(b).unwrap_or_else(|_| serde_json::json!({"raw": b}));
    Json { status, body }
}

impl Served {
    pub fn api(&self, method: &str, path: &str, body: &str) -> Json {
        let auth = format!("Bearer {}", self.token);
        call(
            self.addr,
            method,
            path,
            &[("Authorization", &auth), ("Content-Type", "application/json")],
            body.as_bytes(),
        )
    }

    /// Sends a signed GitHub `package` delivery saying `repository:tag` is `digest`.
    pub fn webhook(&self, repository: &str, tag: &str, digest: &str, delivery: &str) -> Json {
        let body = package_event(repository, tag, digest);
        let sig = sign(&body);
        let headers = [
            ("Content-Type", "application/json"),
            ("X-GitHub-Event", "package"),
            ("X-GitHub-Delivery", delivery),
            ("X-Hub-Signature-256", sig.as_str()),
        ];
        call(self.addr, "POST", "/hooks/github", &headers, &body)
    }

    /// The task as the API shows it.
    pub fn task(&self, id: i64) -> serde_json::Value {
        let r = self.api("GET", &format!("/api/v1/tasks/{id}"), "");
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    /// Waits for task `id` to end; returns it.
    pub fn wait_task(&self, id: i64, limit: Duration) -> serde_json::Value {
        let start = Instant::now();
        loop {
            let t = self.task(id);
            let status = t["task"]["status"].as_str().unwrap_or("").to_string();
            if !matches!(status.as_str(), "pending" | "running") {
                return t;
            }
            assert!(
                start.elapsed() < limit,
                "task {id} still {status} after {limit:?}: {t:#}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Waits until the task reaches `status` (pending/running), for stop tests.
    pub fn wait_status(&self, id: i64, status: &str, phase: Option<&str>) {
        let ok = wait_until(Duration::from_secs(60), || {
            let t = self.task(id);
            t["task"]["status"] == status && phase.is_none_or(|p| t["units"][0]["phase"] == p)
        });
        assert!(ok, "task {id} never reached {status} {phase:?}: {:#}", self.task(id));
    }
}

/// The real delivery shape (tests/fixtures), pointed at the bed's registry.
pub fn package_event(repository: &str, tag: &str, digest: &str) -> Vec<u8> {
    let text = include_str!("../../fixtures/github/package.published.container-tagged.json");
    let mut v: serde_json::Value = serde_json::from_str(text).unwrap();
    let (_, path) = repository.split_once('/').unwrap();
    let (owner, name) = path.split_once('/').unwrap();
    let p = &mut v["package"];
    p["name"] = name.into();
    p["owner"]["login"] = owner.into();
    let pv = &mut p["package_version"];
    pv["package_url"] = format!("{repository}:{tag}").into();
    pv["container_metadata"]["tag"]["name"] = tag.into();
    pv["container_metadata"]["tag"]["digest"] = digest.into();
    pv["version"] = digest.into();
    pv["name"] = digest.into();
    serde_json::to_vec(&v).unwrap()
}

/// `PRAGMA integrity_check` of the bed's state database.
fn integrity(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap()
}

/// Every task id and every event row's request id.
pub fn ids(db: &Path) -> (Vec<i64>, Vec<String>) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut st = conn.prepare("SELECT id FROM tasks ORDER BY id").unwrap();
    let tasks = st.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect();
    (tasks, request_ids(db))
}

/// Integrity is ok and every task and event row of `before` is still there.
pub fn assert_intact(db: &Path, before: &(Vec<i64>, Vec<String>)) {
    assert_eq!(integrity(db), "ok");
    let (tasks, events) = ids(db);
    for id in &before.0 {
        assert!(tasks.contains(id), "task {id} was lost");
    }
    for e in &before.1 {
        assert!(events.contains(e), "event row {e} was lost");
    }
}
