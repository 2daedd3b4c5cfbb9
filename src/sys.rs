//! The few libc calls std does not wrap: whether an inherited socket is listening,
//! its address family, `poll`, an eventfd to wake it, and a SIGTERM/SIGINT flag. Each
//! `unsafe` block is small and says why it is sound.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

/// True when `fd` is a listening socket (SO_ACCEPTCONN), false when it is connected.
pub fn is_listening(fd: RawFd) -> io::Result<bool> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: value and len are valid for writes of the sizes passed.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ACCEPTCONN,
            (&raw mut value).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(value != 0)
}

/// The address family of socket `fd` (`libc::AF_INET`, `AF_INET6`, `AF_UNIX`, ...).
pub fn socket_family(fd: RawFd) -> io::Result<i32> {
    // SAFETY: sockaddr_storage is plain data; zeroed is a valid value.
    let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: addr and len are valid for writes of the sizes passed.
    let rc = unsafe { libc::getsockname(fd, (&raw mut addr).cast(), &mut len) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(i32::from(addr.ss_family))
}

/// Marks `fd` close-on-exec, so commands podup runs do not inherit its sockets.
pub fn set_cloexec(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl with F_SETFD only changes the descriptor's flags.
    if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A descriptor to wait on.
pub fn pollfd(fd: RawFd) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}

/// Waits until one of `fds` is readable or `timeout_ms` passes; an interrupting
/// signal counts as a timeout (the caller checks `stop_requested`).
pub fn poll(fds: &mut [libc::pollfd], timeout_ms: i32) -> io::Result<usize> {
    // SAFETY: fds is a valid, exclusively borrowed slice of pollfd of the given length.
    let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    if rc < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok(0);
        }
        return Err(e);
    }
    Ok(rc as usize)
}

/// An eventfd: other threads `wake` a thread that polls it.
pub struct Waker(OwnedFd);

impl Waker {
    pub fn new() -> io::Result<Waker> {
        // SAFETY: eventfd takes no pointers; a non-negative result is a new descriptor we own.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is open and owned by nothing else.
        Ok(Waker(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Makes the descriptor readable until `reset`.
    pub fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: writes the 8 bytes of a live u64 to our own descriptor. It can only
        // fail when the counter is near overflow, when it is readable anyway.
        let _ = unsafe { libc::write(self.0.as_raw_fd(), (&raw const one).cast(), 8) };
    }

    pub fn reset(&self) {
        let mut n: u64 = 0;
        // SAFETY: reads at most 8 bytes into a live u64; non-blocking, so it returns at once.
        let _ = unsafe { libc::read(self.0.as_raw_fd(), (&raw mut n).cast(), 8) };
    }
}

impl AsRawFd for Waker {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Makes SIGTERM and SIGINT set a flag (and interrupt `poll`) instead of killing
/// the process, so it can finish the requests in hand.
pub fn catch_stop_signals() -> io::Result<()> {
    for sig in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe;
        // the sigaction struct is fully initialised before use.
        let rc = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_stop_signal as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            action.sa_flags = 0; // no SA_RESTART: poll returns EINTR
            libc::sigaction(sig, &action, std::ptr::null_mut())
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// A stop signal arrived.
pub fn stop_requested() -> bool {
    STOP.load(Ordering::SeqCst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn tells_listening_from_connected_sockets() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        assert!(is_listening(l.as_raw_fd()).unwrap());
        assert!(!is_listening(c.as_raw_fd()).unwrap());
        assert_eq!(socket_family(c.as_raw_fd()).unwrap(), libc::AF_INET);
        let dir = crate::testing::scratch_dir("sys");
        let u = std::os::unix::net::UnixListener::bind(dir.join("s")).unwrap();
        assert_eq!(socket_family(u.as_raw_fd()).unwrap(), libc::AF_UNIX);
        assert!(is_listening(u.as_raw_fd()).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
        let f = std::fs::File::open("/dev/null").unwrap();
        assert!(is_listening(f.as_raw_fd()).is_err());
    }

    #[test]
    fn a_waker_wakes_a_poll_from_another_thread_until_reset() {
        let waker = Waker::new().unwrap();
        let readable = |ms| {
            let mut fds = [pollfd(waker.as_raw_fd())];
            poll(&mut fds, ms).unwrap() == 1
        };
        assert!(!readable(0));
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(std::time::Duration::from_millis(50));
                waker.wake();
            });
            assert!(readable(10_000), "woken by the other thread");
        });
        waker.wake();
        assert!(readable(0), "stays readable until reset");
        waker.reset();
        assert!(!readable(0));
    }
}

/// The systemd unit this process runs in (`….service` or `….scope`), from
/// `/proc/self/cgroup`; `None` outside systemd.
pub fn own_unit() -> Option<String> {
    unit_of_cgroup(&std::fs::read_to_string("/proc/self/cgroup").ok()?)
}

/// The innermost unit in a `/proc/<pid>/cgroup` text: the `name=systemd` hierarchy of a
/// hybrid (v1) host, else the unified one (`0::`).
pub fn unit_of_cgroup(text: &str) -> Option<String> {
    let path = text
        .lines()
        .find_map(|l| l.split_once(":name=systemd:").map(|(_, p)| p))
        .or_else(|| text.lines().find_map(|l| l.strip_prefix("0::")))?;
    path.rsplit('/')
        .find(|c| c.ends_with(".service") || c.ends_with(".scope"))
        .map(String::from)
}

#[cfg(test)]
mod cgroup_tests {
    use super::unit_of_cgroup;

    #[test]
    fn the_innermost_unit_of_either_hierarchy() {
        let v2 = "0::/system.slice/podup-task-7.service\n";
        assert_eq!(unit_of_cgroup(v2).as_deref(), Some("podup-task-7.service"));
        let user = "0::/user.slice/user-1000.slice/user@1000.service/app.slice/podup-recover.service\n";
        assert_eq!(unit_of_cgroup(user).as_deref(), Some("podup-recover.service"));
        let hybrid = "12:pids:/x\n1:name=systemd:/bed/podup-auto-update.service\n0::/bed\n";
        assert_eq!(unit_of_cgroup(hybrid).as_deref(), Some("podup-auto-update.service"));
        assert_eq!(unit_of_cgroup("0::/\n"), None);
        assert_eq!(unit_of_cgroup(""), None);
    }
}
