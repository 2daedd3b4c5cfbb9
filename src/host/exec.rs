//! Running one command, knowing nothing of what it means: the child's environment (the
//! process's minus systemd's activation variables and anything secret-looking), finding the
//! program on that PATH, stdin from /dev/null, stdout and stderr read together with poll(2)
//! until they close, and a deadline after which the child's whole process group is killed.

use std::ffi::{OsStr, OsString};
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Removed by name: systemd's notify and socket-activation protocol belongs to podup alone,
/// and a child has no business reading podup's credentials.
const REMOVED_VARIABLES: &[&str] = &[
    "NOTIFY_SOCKET",
    "LISTEN_FDS",
    "LISTEN_PID",
    "LISTEN_FDNAMES",
    "CREDENTIALS_DIRECTORY",
    // Notification sinks hold tokens in their URLs (docs/notifications.md).
    "PODUP_NOTIFY",
];
/// How much of stderr a record keeps (the tail: errors come last).
pub const STDERR_EXCERPT_BYTES: usize = 2048;
/// stdout beyond this is dropped (`podman ps -a` on a big host is far below it).
const MAX_STDOUT_BYTES: usize = 16 * 1024 * 1024;
/// How long to keep reading after the child exited while a process it left behind holds
/// its stdout or stderr open.
const PIPE_GRACE_MS: u64 = 1000;
/// Reads of what is left in the pipes once waiting is over (64 x 16 KiB: four times a
/// default pipe buffer on each).
const DRAIN_READS: usize = 64;
/// Longest single wait, so that the child's exit and the deadline are noticed promptly.
const POLL_TICK_MS: u64 = 100;

/// What happened to a command that started.
#[derive(Debug)]
pub struct Outcome {
    pub status: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub timed_out: bool,
    pub duration: Duration,
}

/// The environment for children: `vars` without `REMOVED_VARIABLES` and without any
/// variable whose name contains SECRET, TOKEN or PASSWORD (in any case).
pub fn child_env(vars: impl IntoIterator<Item = (OsString, OsString)>) -> Vec<(OsString, OsString)> {
    vars.into_iter()
        .filter(|(name, _)| !REMOVED_VARIABLES.iter().any(|r| name == r) && !super::is_secret_name(name))
        .collect()
}

/// Where `program` is: a name with a slash as given, otherwise the first executable file of
/// that name in `path`. The error is the sentence for a `command_missing` error.
pub fn find_program(program: &str, path: Option<&OsStr>) -> Result<PathBuf, String> {
    if program.is_empty() {
        return Err("no program name configured".to_string());
    }
    if program.contains('/') {
        let candidate = PathBuf::from(program);
        return if is_executable(&candidate) {
            Ok(candidate)
        } else {
            Err(format!("'{program}' does not exist or is not an executable file"))
        };
    }
    let Some(path) = path.filter(|p| !p.is_empty()) else {
        return Err(format!("'{program}' was not found: PATH is not set"));
    };
    std::env::split_paths(path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| format!("'{program}' was not found in PATH '{}'", path.to_string_lossy()))
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Runs `path` with `args` and exactly `env`, in its own process group, until it exits and
/// its output pipes close, or until `timeout` (then the group is killed with SIGKILL).
/// The error is the sentence for a command that could not be started.
pub fn execute(
    path: &Path,
    args: &[String],
    env: &[(OsString, OsString)],
    timeout: Duration,
) -> Result<Outcome, String> {
    let started = Instant::now();
    let mut command = Command::new(path);
    command
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut attempt = 0;
    let mut child = loop {
        match command.spawn() {
            Ok(child) => break child,
            // Another thread's fork briefly holds a just-written executable open for writing.
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && attempt < 20 => {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(format!("'{}' could not be started: {e}", path.display())),
        }
    };
    let collected = collect(&mut child, started + timeout);
    let (status, stdout, stderr, timed_out) = match collected {
        Ok(collected) => collected,
        Err(e) => {
            kill_group(&child);
            let _ = child.wait();
            return Err(format!("reading the output of '{}' failed: {e}", path.display()));
        }
    };
    Ok(Outcome {
        status: status.code(), // None: killed by a signal
        stdout,
        stderr,
        timed_out,
        duration: started.elapsed(),
    })
}

/// Exit status, stdout, the tail of stderr, and whether the deadline killed it.
type Collected = (ExitStatus, Vec<u8>, Vec<u8>, bool);

/// The child's two pipes while they are open, and what was read from them.
struct Pipes {
    out: Option<ChildStdout>,
    err: Option<ChildStderr>,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Pipes {
    /// Takes the child's stdout and stderr pipes, nothing read yet.
    fn of(child: &mut Child) -> Pipes {
        Pipes {
            out: child.stdout.take(),
            err: child.stderr.take(),
            stdout: Vec::new(),
            stderr: Vec::new(),
        }
    }

    fn open(&self) -> bool {
        self.out.is_some() || self.err.is_some()
    }

    /// Waits up to `wait` for either pipe, then reads once from each that is ready.
    /// Returns whether anything happened (bytes read or a pipe closed).
    fn pump(&mut self, wait: Duration, buf: &mut [u8]) -> io::Result<bool> {
        let mut fds: Vec<libc::pollfd> = Vec::with_capacity(2);
        fds.extend(self.out.as_ref().map(|o| crate::sys::pollfd(o.as_raw_fd())));
        fds.extend(self.err.as_ref().map(|e| crate::sys::pollfd(e.as_raw_fd())));
        if fds.is_empty() {
            std::thread::sleep(wait.max(Duration::from_millis(1)));
            return Ok(false);
        }
        crate::sys::poll(&mut fds, wait.as_millis() as i32)?;
        let mut any = false;
        for fd in fds.iter().filter(|fd| fd.revents != 0) {
            any = true;
            if self.out.as_ref().is_some_and(|o| o.as_raw_fd() == fd.fd) {
                match read_some(self.out.as_mut().expect("checked above"), buf) {
                    Some(n) => {
                        let room = MAX_STDOUT_BYTES.saturating_sub(self.stdout.len());
                        self.stdout.extend_from_slice(&buf[..n.min(room)]);
                    }
                    None => self.out = None,
                }
            } else if let Some(e) = self.err.as_mut() {
                match read_some(e, buf) {
                    Some(n) => {
                        self.stderr.extend_from_slice(&buf[..n]);
                        if self.stderr.len() > 2 * STDERR_EXCERPT_BYTES {
                            self.stderr.drain(..self.stderr.len() - STDERR_EXCERPT_BYTES);
                        }
                    }
                    None => self.err = None,
                }
            }
        }
        Ok(any)
    }

    /// Reads what is already in the pipes, without waiting for more (at most a few
    /// pipe buffers' worth, so a process left writing cannot keep us here).
    fn drain(&mut self, buf: &mut [u8]) -> io::Result<()> {
        for _ in 0..DRAIN_READS {
            if !self.open() || !self.pump(Duration::ZERO, buf)? {
                break;
            }
        }
        Ok(())
    }
}

/// Reads both pipes until they close, noticing the child's exit and the deadline.
/// Whatever the child wrote before it exited is read, however late this thread gets
/// to it: the grace period only ends the wait for a process it left behind.
fn collect(child: &mut Child, deadline: Instant) -> io::Result<Collected> {
    let mut pipes = Pipes::of(child);
    let mut exited: Option<(ExitStatus, Instant)> = None;
    let mut buf = [0u8; 16 * 1024];
    let tick = Duration::from_millis(POLL_TICK_MS);
    loop {
        if exited.is_none() {
            exited = child.try_wait()?.map(|status| (status, Instant::now()));
        }
        let now = Instant::now();
        let wait = match exited {
            Some((status, _)) if !pipes.open() => return Ok((status, pipes.stdout, pipes.stderr, false)),
            Some((status, at)) if now.duration_since(at) >= Duration::from_millis(PIPE_GRACE_MS) => {
                pipes.drain(&mut buf)?;
                return Ok((status, pipes.stdout, pipes.stderr, false));
            }
            Some(_) => tick,
            None if now >= deadline => {
                kill_group(child);
                pipes.drain(&mut buf)?;
                return Ok((child.wait()?, pipes.stdout, pipes.stderr, true));
            }
            None => deadline.duration_since(now).min(tick),
        };
        pipes.pump(wait, &mut buf)?;
    }
}

/// One read from a pipe poll(2) called ready: `Some(bytes)`, or `None` at end of file.
fn read_some(pipe: &mut impl Read, buf: &mut [u8]) -> Option<usize> {
    loop {
        match pipe.read(buf) {
            Ok(0) => return None,
            Ok(n) => return Some(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        }
    }
}

fn kill_group(child: &Child) {
    let pgid = child.id() as libc::pid_t;
    // SAFETY: kill(2) has no memory effects. The child leads its own process group
    // (process_group(0)) and has not been reaped, so its pid cannot have been reused:
    // the signal reaches only the child and what it started.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

/// The last `max` bytes of `bytes` as text, starting on a character boundary.
pub fn excerpt_tail(bytes: &[u8], max: usize) -> String {
    let mut start = bytes.len().saturating_sub(max);
    while start < bytes.len() && start > 0 && bytes[start] & 0b1100_0000 == 0b1000_0000 {
        start += 1;
    }
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect()
    }

    #[test]
    fn child_env_drops_activation_and_secret_variables() {
        let env = child_env(os(&[
            ("PATH", "/usr/bin"),
            ("NOTIFY_SOCKET", "/run/systemd/notify"),
            ("LISTEN_FDS", "1"),
            ("LISTEN_PID", "1"),
            ("LISTEN_FDNAMES", "podup"),
            ("PODUP_GITHUB_SECRET", "s"),
            ("github_token", "t"),
            ("DB_PASSWORD_FILE", "/x"),
            ("HOME", "/root"),
        ]));
        assert_eq!(env, os(&[("PATH", "/usr/bin"), ("HOME", "/root")]));
    }

    #[test]
    fn find_program_searches_absolute_path_entries_only() {
        let path = OsString::from("relative:/bin:/usr/bin");
        let sh = find_program("sh", Some(&path)).unwrap();
        assert!(sh.is_absolute() && sh.ends_with("sh"), "{}", sh.display());
        let e = find_program("podup-no-such-program", Some(&path)).unwrap_err();
        assert_eq!(
            e,
            "'podup-no-such-program' was not found in PATH 'relative:/bin:/usr/bin'"
        );
        assert!(find_program("sh", None).unwrap_err().contains("PATH is not set"));
        let not_executable = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
        assert!(
            find_program(not_executable, None)
                .unwrap_err()
                .contains("not an executable file")
        );
        assert_eq!(find_program("/bin/sh", None).unwrap(), PathBuf::from("/bin/sh"));
    }

    #[test]
    fn excerpt_keeps_the_tail_on_a_char_boundary() {
        assert_eq!(excerpt_tail(b"abcdef", 3), "def");
        assert_eq!(excerpt_tail(b"ab", 3), "ab");
        let text = "ééé"; // 2 bytes each: a cut at 5 bytes from the end lands mid-character
        assert_eq!(excerpt_tail(text.as_bytes(), 5), "éé");
    }

    /// `sh -c SCRIPT` with its stdout and stderr piped to us.
    fn piped_sh(script: &str) -> std::process::Command {
        let mut command = std::process::Command::new("sh");
        command
            .args(["-c", script])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    #[test]
    fn drain_reads_what_is_in_a_pipe_a_process_still_holds_open() {
        // The data is there and the pipe stays open (the process sleeps on): draining
        // reads it and returns at once instead of waiting for the end of the file.
        let mut child = piped_sh("echo 0123456789abcdef; exec sleep 5").spawn().unwrap();
        let mut pipes = Pipes::of(&mut child);
        let start = Instant::now();
        while pipes.stdout.is_empty() && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
            pipes.drain(&mut [0u8; 16]).unwrap();
        }
        assert_eq!(pipes.stdout, b"0123456789abcdef\n", "read in pieces of 16 bytes");
        assert!(pipes.open(), "the pipe is still open");
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "did not wait for the end of the file"
        );
        let _ = child.kill();
        let _ = child.wait();
    }

    #[test]
    fn a_command_killed_at_its_deadline_keeps_what_it_had_written() {
        use std::os::unix::process::CommandExt;
        // Written, then still running at the deadline: collect kills the group and
        // must still read what is in the pipe, without waiting for its end.
        let mut child = piped_sh("echo written; exec sleep 5").process_group(0).spawn().unwrap();
        // Until "written" is in the pipe, however busy the machine.
        use std::os::fd::AsRawFd;
        let out = child.stdout.as_ref().unwrap().as_raw_fd();
        assert_eq!(crate::sys::poll(&mut [crate::sys::pollfd(out)], 5_000).unwrap(), 1);
        let (_, stdout, _, killed) = collect(&mut child, Instant::now()).unwrap();
        assert!(killed);
        assert_eq!(stdout, b"written\n");
    }
}
