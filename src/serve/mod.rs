//! `podup serve`: one request handler behind three drivers, chosen by what the
//! process was given, not by a flag:
//! - listening sockets from systemd (Accept=no): the polling pool, idle exit;
//! - one connected socket from systemd (Accept=yes): answer it and exit;
//! - nothing inherited: bind `--listen` and serve until stopped.

mod exchange;
mod ids;
mod net;
mod pool;
mod queue;
mod recorder;

use crate::config::{Config, DEFAULT_LISTEN};
use crate::host::Backend;
use crate::http::framing::{FrameError, Framer, Progress};
use crate::store::Db;
use crate::sys;
use exchange::{Received, Worker};
use ids::RequestIds;
use net::{Listener, Stream};
use sd_notify::NotifyState;
use std::fmt;
use std::io::{self, Read, Write};
use std::os::fd::{FromRawFd, RawFd};
use std::time::{Duration, Instant};

/// Why serving could not start or went on.
#[derive(Debug)]
pub enum ServeError {
    Inherit(String),
    Bind { addr: String, error: io::Error },
    Io(io::Error),
}

impl ServeError {
    pub fn kind(&self) -> &'static str {
        match self {
            ServeError::Inherit(_) => "socket_inherit_failed",
            ServeError::Bind { .. } => "bind_failed",
            ServeError::Io(_) => "serve_failed",
        }
    }
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServeError::Inherit(why) => write!(f, "cannot use the sockets systemd passed: {why}"),
            ServeError::Bind { addr, error } => write!(
                f,
                "cannot listen on '{addr}': {error} (choose another address with --listen)"
            ),
            ServeError::Io(e) => write!(f, "serving failed: {e}"),
        }
    }
}

/// What `podup serve` was asked for, by whoever starts it (the command line).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Options {
    /// The address to bind when systemd passed no socket (`--listen`).
    pub listen: Option<String>,
    /// Exit after this many seconds without a request (`--idle-exit`).
    pub idle_exit_secs: Option<u64>,
}

/// What systemd handed over.
enum Inherited {
    Nothing,
    Listeners(Vec<Listener>),
    Connection(Stream),
}

pub fn run(config: Config, args: &Options) -> Result<(), ServeError> {
    let started = Instant::now();
    let inherited = inherit()?;
    // Task units run this very binary.
    let exe = std::env::current_exe().map_err(ServeError::Io)?;
    sys::catch_stop_signals().map_err(ServeError::Io)?;
    // Open (create, migrate) the database once before anything is served, so the
    // workers find it ready and READY=1 means it was tried; the first worker to get
    // a request keeps this handle instead of opening its own.
    let mut db = Db::open(&config.db_path());
    let mut db_state = "state database ok".to_string();
    if let Err(e) = db.get() {
        let mut e = e.clone();
        e.fix = format!("{} (the directory came from {})", e.fix, config.state_dir_source);
        log::error!(error_kind = e.kind(); "{e}");
        db_state = "state database unavailable: answering 503".into();
    }
    match inherited {
        Inherited::Connection(stream) => {
            let remote = remote_from_env(std::env::var("REMOTE_ADDR").ok(), std::env::var("REMOTE_PORT").ok())
                .or_else(|| stream.peer());
            let ids = RequestIds::new();
            let mut worker = Worker {
                config: &config,
                started,
                ids: &ids,
                db,
                host: crate::tasks::host_for(&config),
                exe: &exe,
            };
            serve_one(&mut worker, stream, remote);
            Ok(())
        }
        Inherited::Listeners(listeners) => {
            let idle_secs = args.idle_exit_secs.unwrap_or(config.idle_exit_secs);
            let idle = (idle_secs > 0).then(|| Duration::from_secs(idle_secs));
            let status = format!(
                "serving {} socket(s) from systemd; {db_state}; idle exit after {}",
                listeners.len(),
                idle.map_or("never".into(), |d| format!("{} s", d.as_secs()))
            );
            serve_pool(&listeners, &config, &Backend::real(), &exe, started, idle, &status, db)
        }
        Inherited::Nothing => {
            let addr = args.listen.clone().unwrap_or_else(|| DEFAULT_LISTEN.to_string());
            let listener = Listener::bind(&addr).map_err(|error| ServeError::Bind {
                addr: addr.clone(),
                error,
            })?;
            let idle = args.idle_exit_secs.filter(|s| *s > 0).map(Duration::from_secs);
            let status = format!("serving http://{}/; {db_state}", listener.describe());
            serve_pool(&[listener], &config, &Backend::real(), &exe, started, idle, &status, db)
        }
    }
}

/// Serves a TCP listener the caller bound (`podup demo`, which prints its address
/// first, and brings its own backend) until a stop signal.
pub fn serve_listener(config: &Config, backend: &Backend, listener: std::net::TcpListener) -> Result<(), ServeError> {
    let started = Instant::now();
    let exe = std::env::current_exe().map_err(ServeError::Io)?;
    sys::catch_stop_signals().map_err(ServeError::Io)?;
    let listener = Listener::Tcp(listener);
    let status = format!("serving http://{}/", listener.describe());
    let db = Db::open(&config.db_path());
    serve_pool(&[listener], config, backend, &exe, started, None, &status, db)
}

#[allow(clippy::too_many_arguments)]
fn serve_pool(
    listeners: &[Listener],
    config: &Config,
    backend: &Backend,
    exe: &std::path::Path,
    started: Instant,
    idle: Option<Duration>,
    status: &str,
    opened: Db,
) -> Result<(), ServeError> {
    log::info!("{status}");
    notify(&[NotifyState::Ready, NotifyState::Status(status)]);
    let result = pool::serve(listeners, config, backend, exe, started, idle, opened).map_err(ServeError::Io);
    notify(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
    result
}

fn notify(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        log::warn!("sd_notify failed: {e}");
    }
}

/// Takes the sockets systemd passed (LISTEN_FDS), telling listening sockets from a
/// connected one: listenfd alone would accept a connected socket as a listener.
fn inherit() -> Result<Inherited, ServeError> {
    let mut fds = listenfd::ListenFd::from_env();
    if fds.len() == 0 {
        return Ok(Inherited::Nothing);
    }
    let mut listeners = Vec::new();
    for i in 0..fds.len() {
        let fd: RawFd = match fds.take_raw_fd(i) {
            Ok(Some(fd)) => fd,
            Ok(None) => continue,
            Err(e) => return Err(ServeError::Inherit(format!("descriptor {}: {e}", i + 3))),
        };
        let bad = |e: io::Error| ServeError::Inherit(format!("descriptor {fd} is not a socket: {e}"));
        sys::set_cloexec(fd).map_err(bad)?;
        let listening = sys::is_listening(fd).map_err(bad)?;
        let family = sys::socket_family(fd).map_err(bad)?;
        if !matches!(family, libc::AF_INET | libc::AF_INET6 | libc::AF_UNIX) {
            return Err(ServeError::Inherit(format!(
                "descriptor {fd} has address family {family}; podup serves TCP and Unix stream sockets"
            )));
        }
        let unix = family == libc::AF_UNIX;
        if !listening {
            if fds.len() != 1 {
                return Err(ServeError::Inherit(format!(
                    "descriptor {fd} is a connection, but {} descriptors were passed; Accept=yes passes one",
                    fds.len()
                )));
            }
            // SAFETY: systemd passed us this descriptor and nothing else owns it.
            let stream = unsafe {
                if unix {
                    Stream::Unix(FromRawFd::from_raw_fd(fd))
                } else {
                    Stream::Tcp(FromRawFd::from_raw_fd(fd))
                }
            };
            return Ok(Inherited::Connection(stream));
        }
        // SAFETY: as above; it is a listening socket of the checked family.
        let listener = unsafe {
            if unix {
                Listener::Unix(FromRawFd::from_raw_fd(fd))
            } else {
                Listener::Tcp(FromRawFd::from_raw_fd(fd))
            }
        };
        listeners.push(listener);
    }
    Ok(Inherited::Listeners(listeners))
}

/// The peer as systemd describes it to an Accept=yes instance (`REMOTE_ADDR`,
/// `REMOTE_PORT`), written like a socket address.
fn remote_from_env(addr: Option<String>, port: Option<String>) -> Option<String> {
    let addr = addr.filter(|a| !a.is_empty())?;
    Some(match port.filter(|p| !p.is_empty()) {
        Some(port) if addr.contains(':') => format!("[{addr}]:{port}"),
        Some(port) => format!("{addr}:{port}"),
        None => addr,
    })
}

/// The Accept=yes driver: read one request within the deadline, answer, done.
fn serve_one(worker: &mut Worker<'_>, mut stream: Stream, remote: Option<String>) {
    let accepted = Instant::now();
    let deadline = accepted + Duration::from_millis(worker.config.request_timeout_ms);
    let mut framer = Framer::new(worker.config.max_body_bytes);
    let _ = stream.set_nonblocking(false);
    let mut buf = [0u8; 16 * 1024];
    let outcome = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break Err(FrameError::Timeout);
        }
        let _ = stream.set_read_timeout(Some(left));
        match stream.read(&mut buf) {
            Ok(0) if framer.received() == 0 => return,
            Ok(0) => break Err(FrameError::Incomplete),
            Ok(n) => match framer.feed(&buf[..n]) {
                Ok(Progress::Done(req)) => break Ok(*req),
                Ok(Progress::NeedMore) => {
                    if framer.take_continue() {
                        let _ = stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
                    }
                }
                Err(e) => break Err(e),
            },
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                break Err(FrameError::Timeout);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) if framer.received() == 0 => return,
            Err(_) => break Err(FrameError::Incomplete),
        }
    };
    let head = framer
        .head()
        .map(|r| (r.method.clone(), r.path.clone(), r.query.clone()));
    exchange::finish(
        worker,
        stream,
        &Received {
            outcome,
            head,
            remote,
            accepted,
        },
    );
}

#[cfg(test)]
mod tests {
    use super::remote_from_env;

    #[test]
    fn remote_address_from_systemd_variables() {
        let s = |v: &str| Some(v.to_string());
        assert_eq!(remote_from_env(s("127.0.0.1"), s("4000")), s("127.0.0.1:4000"));
        assert_eq!(remote_from_env(s("::1"), s("4000")), s("[::1]:4000"));
        assert_eq!(remote_from_env(s("10.0.0.1"), None), s("10.0.0.1"));
        assert_eq!(remote_from_env(None, s("4000")), None);
    }
}
