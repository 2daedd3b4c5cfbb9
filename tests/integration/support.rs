//! Runs the built `podup` the way systemd does: a socket the test bound itself is
//! placed on fd 3 with `LISTEN_FDS=1` and `LISTEN_PID` set to podup's own pid (an
//! `exec` through `sh` keeps the pid), in a clean environment and a temp state dir.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub const PODUP: &str = env!("CARGO_BIN_EXE_podup");

/// A fresh directory under the target dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let dir = base.join(format!(
            "{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A `podup` command with a clean environment and its own state directory.
pub struct Podup {
    pub state: TempDir,
    envs: Vec<(String, String)>,
}

impl Podup {
    pub fn new(name: &str) -> Podup {
        Podup {
            state: TempDir::new(name),
            envs: Vec::new(),
        }
    }

    pub fn env(mut self, k: &str, v: &str) -> Podup {
        self.envs.push((k.into(), v.into()));
        self
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(PODUP);
        self.prepare(&mut c);
        c.args(args);
        c
    }

    fn prepare(&self, c: &mut Command) {
        c.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.state.path())
            .env("PODUP_STATE_DIR", self.state.path().join("state"));
        for (k, v) in &self.envs {
            c.env(k, v);
        }
    }

    /// Runs `podup ARGS` to completion (no stdin).
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).stdin(Stdio::null()).output().unwrap()
    }

    /// Starts `podup serve` with `fd` as its only inherited socket (fd 3).
    pub fn spawn_with_fd(&self, fd: RawFd, extra: &[&str]) -> Child {
        let mut c = Command::new("/bin/sh");
        self.prepare(&mut c);
        c.arg("-c")
            .arg("LISTEN_PID=$$ exec \"$0\" serve \"$@\"")
            .arg(PODUP)
            .args(extra);
        c.env("LISTEN_FDS", "1").env("LISTEN_FDNAMES", "web");
        c.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        pass_as_fd3(&mut c, fd);
        c.spawn().unwrap()
    }

    /// Binds a loopback listener and starts `podup serve` on it (Accept=no).
    pub fn serve(&self, extra: &[&str]) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let child = self.spawn_with_fd(listener.as_raw_fd(), extra);
        drop(listener);
        Server {
            child,
            addr,
            db: self.db_path(),
        }
    }

    /// A new API token for `name` with `role` (`podup token add`).
    pub fn token(&self, name: &str, role: &str) -> String {
        let out = self.run(&["token", "add", name, "--role", role]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    pub fn db_path(&self) -> PathBuf {
        self.state.path().join("state/podup.db")
    }
}

/// Makes `fd` the child's fd 3, inheritable, as systemd passes the first socket.
pub fn pass_as_fd3(c: &mut Command, fd: RawFd) {
    // SAFETY: dup2 and fcntl are async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        c.pre_exec(move || {
            // dup2(3, 3) is a no-op that would leave close-on-exec set: clear it instead.
            let rc = if fd == 3 {
                libc::fcntl(3, libc::F_SETFD, 0)
            } else {
                libc::dup2(fd, 3)
            };
            if rc < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// A running `podup serve`; killed on drop.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub db: PathBuf,
}

impl Server {
    /// Waits for the process to exit by itself, up to `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub fn stderr(&mut self) -> String {
        let mut s = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut s);
        }
        s
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// Sends `raw` on a new connection and reads one answer.
pub fn exchange(addr: SocketAddr, raw: &[u8]) -> Resp {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(raw).unwrap();
    read_response(&mut s)
}

/// Reads one answer as an HTTP client does: the head, then the body its Content-Length
/// gives, without waiting for the connection to close (a kept-alive one stays open)
/// and without reading into the next answer (pipelined ones follow at once). An
/// answer cut short is returned as it is, for `parse_response` to refuse.
pub fn read_response(s: &mut impl Read) -> Resp {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    let failed = |e: std::io::Error, buf: &[u8]| -> ! {
        panic!("reading the answer: {e} (have {:?})", String::from_utf8_lossy(buf))
    };
    // The head a byte at a time: where it ends is known only once it has.
    while !buf.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(0) => return parse_response(&buf),
            Ok(_) => buf.push(byte[0]),
            // A read with SO_RCVTIMEO fails with EINTR when the process is stopped and
            // continued, even without a signal handler (signal(7)); clients read again.
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => failed(e, &buf),
        }
    }
    let len = parse_content_length(&buf).map_or(u64::MAX, |n| n as u64);
    if let Err(e) = s.take(len).read_to_end(&mut buf) {
        failed(e, &buf);
    }
    parse_response(&buf)
}

fn parse_content_length(head: &[u8]) -> Option<usize> {
    String::from_utf8_lossy(head)
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        })
        .and_then(|(_, v)| v.trim().parse().ok())
}

/// True when the server closes `s` within `limit` (reads nothing more first).
pub fn closes_within(mut s: &TcpStream, limit: Duration) -> bool {
    s.set_read_timeout(Some(limit)).unwrap();
    let mut byte = [0u8; 1];
    matches!(s.read(&mut byte), Ok(0))
}

pub fn parse_response(buf: &[u8]) -> Resp {
    let text = String::from_utf8_lossy(buf).to_string();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head in {text:?}"));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let resp = Resp {
        status,
        head: head.to_string(),
        body: body.to_string(),
    };
    let declared: usize = resp
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .expect("Content-Length");
    assert_eq!(declared, resp.body.len(), "Content-Length matches the body");
    resp
}

pub fn get(addr: SocketAddr, path: &str) -> Resp {
    exchange(addr, format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
}

/// Number of rows in the event log.
pub fn event_count(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("SELECT count(*) FROM event_log", [], |r| r.get(0))
        .unwrap()
}

/// Rows of the event log as (method, path, status, action, reason, remote).
pub fn events(db: &Path) -> Vec<(String, String, u16, String, String, Option<String>)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut st = conn
        .prepare("SELECT method, path, status, action, reason, remote_addr FROM event_log ORDER BY id")
        .unwrap();
    st.query_map([], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// Runs `f(i)` for `i` in `0..n`, all at once, each on a thread of its own; the results
/// in order.
pub fn at_once<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = (0..n).map(|i| s.spawn(move || f(i))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Polls `f` until it is true or `limit` passes.
pub fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}
