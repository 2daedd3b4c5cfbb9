//! TCP and Unix sockets behind one type each, so the drivers need not care which
//! one systemd handed over.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::Duration;

pub enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl Listener {
    /// Binds `addr`: `unix:/path` for a Unix socket, otherwise `host:port`.
    pub fn bind(addr: &str) -> io::Result<Listener> {
        match addr.strip_prefix("unix:") {
            Some(path) => Ok(Listener::Unix(UnixListener::bind(path)?)),
            None => Ok(Listener::Tcp(TcpListener::bind(addr)?)),
        }
    }

    pub fn set_nonblocking(&self) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => l.set_nonblocking(true),
            Listener::Unix(l) => l.set_nonblocking(true),
        }
    }

    /// Accepts one connection: the stream and the peer address as text.
    pub fn accept(&self) -> io::Result<(Stream, Option<String>)> {
        match self {
            Listener::Tcp(l) => l.accept().map(|(s, a)| (Stream::Tcp(s), Some(a.to_string()))),
            Listener::Unix(l) => l.accept().map(|(s, _)| (Stream::Unix(s), None)),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Listener::Tcp(l) => l.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| "tcp".into()),
            Listener::Unix(l) => l
                .local_addr()
                .ok()
                .and_then(|a| a.as_pathname().map(|p| format!("unix:{}", p.display())))
                .unwrap_or_else(|| "unix".into()),
        }
    }
}

impl AsRawFd for Listener {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            Listener::Tcp(l) => l.as_raw_fd(),
            Listener::Unix(l) => l.as_raw_fd(),
        }
    }
}

pub enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_nonblocking(on),
            Stream::Unix(s) => s.set_nonblocking(on),
        }
    }

    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_read_timeout(t),
            Stream::Unix(s) => s.set_read_timeout(t),
        }
    }

    pub fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_write_timeout(t),
            Stream::Unix(s) => s.set_write_timeout(t),
        }
    }

    /// Sends small answers at once on a kept-alive TCP connection (no Nagle delay).
    pub fn set_nodelay(&self) {
        if let Stream::Tcp(s) = self {
            let _ = s.set_nodelay(true);
        }
    }

    /// Caps the kernel's send buffer of a TCP connection at about `bytes` (Linux
    /// doubles the value for its bookkeeping, socket(7)) instead of letting it grow to
    /// `tcp_wmem`'s maximum: what a client that does not read can make the host hold.
    pub fn limit_send_buffer(&self, bytes: usize) {
        if let Stream::Tcp(s) = self {
            let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
            set_int_option(s.as_raw_fd(), libc::SOL_SOCKET, libc::SO_SNDBUF, value);
        }
    }

    /// Drops the connection with a reset, discarding what the kernel still holds for
    /// it (SO_LINGER of zero, socket(7)): for a client that did not read its answer in
    /// time, whose unsent bytes would otherwise stay queued after the close.
    pub fn abort(self) {
        if let Stream::Tcp(s) = &self {
            let linger = libc::linger {
                l_onoff: 1,
                l_linger: 0,
            };
            // SAFETY: a valid socket, and a linger struct of the size given.
            unsafe {
                libc::setsockopt(
                    s.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_LINGER,
                    (&linger as *const libc::linger).cast(),
                    std::mem::size_of::<libc::linger>() as libc::socklen_t,
                );
            }
        }
    }

    /// Bytes a TCP connection's kernel still holds to send or to see acknowledged
    /// (SIOCOUTQ, tcp(7); the same request as TIOCOUTQ): what closing it now would
    /// leave orphaned. Zero for a Unix socket, whose buffers go with its close.
    pub fn unsent(&self) -> usize {
        let Stream::Tcp(s) = self else { return 0 };
        let mut queued: libc::c_int = 0;
        // SAFETY: a valid socket, and a c_int for the ioctl to fill.
        let ok = unsafe { libc::ioctl(s.as_raw_fd(), libc::TIOCOUTQ, &mut queued as *mut libc::c_int) } == 0;
        if ok { usize::try_from(queued).unwrap_or(0) } else { 0 }
    }

    pub fn shutdown_write(&self) {
        let _ = match self {
            Stream::Tcp(s) => s.shutdown(Shutdown::Write),
            Stream::Unix(s) => s.shutdown(Shutdown::Write),
        };
    }

    pub fn peer(&self) -> Option<String> {
        match self {
            Stream::Tcp(s) => s.peer_addr().ok().map(|a| a.to_string()),
            Stream::Unix(_) => None,
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.flush(),
            Stream::Unix(s) => s.flush(),
        }
    }
}

impl AsRawFd for Stream {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            Stream::Tcp(s) => s.as_raw_fd(),
            Stream::Unix(s) => s.as_raw_fd(),
        }
    }
}

fn set_int_option(fd: RawFd, level: libc::c_int, name: libc::c_int, value: libc::c_int) {
    // SAFETY: a valid socket, and a c_int option of the size given.
    unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}
