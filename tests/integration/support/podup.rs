//! Runs the built `podup` the way systemd does: a socket the test bound itself is
//! placed on fd 3 with `LISTEN_FDS=1` and `LISTEN_PID` set to podup's own pid (an
//! `exec` through `sh` keeps the pid), in a clean environment and a temp state dir.

use std::io::Read;
use std::net::{SocketAddr, TcpListener};
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
