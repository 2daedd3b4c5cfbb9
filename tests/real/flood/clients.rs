//! The flood's clients: non-blocking sockets driven by `poll` on a few threads, each
//! sending its script (as fast as the socket takes it, or paced) and reading one answer.

use super::*;
/// What one flood client sends, and how fast.
#[derive(Clone)]
pub(super) struct Script {
    pub(super) bytes: Arc<Vec<u8>>,
    /// `None`: as fast as the socket takes them. `Some((every, n))`: `n` bytes each `every`.
    pub(super) pace: Option<(Duration, usize)>,
}

/// What came back on one connection; `status` 0 when nothing did.
#[derive(Debug, Clone, Default)]
pub(super) struct Outcome {
    pub(super) status: u16,
    pub(super) request_id: String,
    pub(super) elapsed: Duration,
    pub(super) error: Option<String>,
}

/// One connection of a flood, driven by `drive`.
pub(super) struct Client {
    pub(super) stream: Option<TcpStream>,
    pub(super) script: Script,
    pub(super) connected: bool,
    pub(super) sent: usize,
    pub(super) next_byte: Instant,
    pub(super) response: Vec<u8>,
    pub(super) started: Instant,
    pub(super) outcome: Option<Outcome>,
}

impl Client {
    pub(super) fn new(addr: SocketAddr, script: Script) -> Client {
        let started = Instant::now();
        let mut client = Client {
            stream: None,
            script,
            connected: false,
            sent: 0,
            next_byte: started,
            response: Vec::new(),
            started,
            outcome: None,
        };
        match connect_nonblocking(addr) {
            Ok(s) => client.stream = Some(s),
            Err(e) => client.end(Some(format!("connect: {e}"))),
        }
        client
    }

    pub(super) fn done(&self) -> bool {
        self.outcome.is_some()
    }

    /// Bytes still to send: none once an answer began.
    pub(super) fn to_send(&self) -> usize {
        if !self.response.is_empty() {
            return 0;
        }
        self.script.bytes.len() - self.sent
    }

    pub(super) fn wants_write(&self, now: Instant) -> bool {
        !self.connected || (self.to_send() > 0 && (self.script.pace.is_none() || now >= self.next_byte))
    }

    pub(super) fn end(&mut self, error: Option<String>) {
        let (status, request_id) = parse_head(&self.response);
        self.outcome = Some(Outcome {
            status,
            request_id,
            elapsed: self.started.elapsed(),
            error: if status == 0 { error } else { None },
        });
        self.stream = None;
    }

    pub(super) fn on_writable(&mut self, now: Instant) {
        let Some(stream) = self.stream.as_ref() else { return };
        if !self.connected {
            match stream.take_error() {
                Ok(None) => self.connected = true,
                Ok(Some(e)) | Err(e) => return self.end(Some(format!("connect: {e}"))),
            }
        }
        while self.to_send() > 0 {
            if self.script.pace.is_some() && now < self.next_byte {
                return;
            }
            let end = match self.script.pace {
                Some((_, n)) => (self.sent + n).min(self.script.bytes.len()),
                None => self.script.bytes.len(),
            };
            let Some(mut stream) = self.stream.as_ref() else { return };
            match stream.write(&self.script.bytes[self.sent..end]) {
                Ok(n) => {
                    self.sent += n;
                    if let Some((every, _)) = self.script.pace {
                        self.next_byte = now + every;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // podup answered and closed while we were still sending: read the answer.
                Err(_) => {
                    self.sent = self.script.bytes.len();
                    return;
                }
            }
        }
    }

    pub(super) fn on_readable(&mut self) {
        let Some(stream) = self.stream.as_mut() else { return };
        let mut buf = [0u8; 8192];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => return self.end(Some("closed without an answer".into())),
                Ok(n) => {
                    // The head is all we look at; the body of an error is small anyway.
                    if self.response.len() < 64 * 1024 {
                        self.response.extend_from_slice(&buf[..n]);
                    }
                    // A whole answer on a connection podup keeps: done, as an HTTP
                    // client would be, without waiting for a close that need not come.
                    if answer_complete(&self.response) {
                        return self.end(None);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.end(Some(format!("read: {e}"))),
            }
        }
    }
}

/// `connect(2)` on a non-blocking socket: returns at once, the connection completes (or
/// fails) when the socket turns writable.
pub(super) fn connect_nonblocking(addr: SocketAddr) -> io::Result<TcpStream> {
    let SocketAddr::V4(v4) = addr else {
        return Err(io::Error::other("IPv4 only"));
    };
    // SAFETY: plain system calls on a descriptor this function owns until it is wrapped.
    unsafe {
        let fd = libc::socket(
            libc::AF_INET,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        );
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let stream = TcpStream::from_raw_fd(fd);
        let sa = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: v4.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(*v4.ip()).to_be(),
            },
            sin_zero: [0; 8],
        };
        let rc = libc::connect(
            fd,
            (&sa as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINPROGRESS) {
                return Err(e);
            }
        }
        Ok(stream)
    }
}

/// Drives `clients` until each has its outcome or `limit` passed.
pub(super) fn drive(mut clients: Vec<Client>, limit: Duration) -> Vec<Outcome> {
    let deadline = Instant::now() + limit;
    let mut pfds: Vec<libc::pollfd> = Vec::new();
    let mut index: Vec<usize> = Vec::new();
    loop {
        let now = Instant::now();
        pfds.clear();
        index.clear();
        let mut wake = now + Duration::from_millis(200);
        for (i, c) in clients.iter().enumerate() {
            let Some(stream) = c.stream.as_ref() else { continue };
            let mut events = libc::POLLIN;
            if c.wants_write(now) {
                events |= libc::POLLOUT;
            } else if c.to_send() > 0 {
                wake = wake.min(c.next_byte);
            }
            pfds.push(libc::pollfd {
                fd: stream.as_raw_fd(),
                events,
                revents: 0,
            });
            index.push(i);
        }
        if pfds.is_empty() {
            break;
        }
        if now >= deadline {
            for i in index.iter().copied() {
                clients[i].end(Some("no answer within the client's limit".into()));
            }
            break;
        }
        let wait = wake.min(deadline).saturating_duration_since(now).as_millis() as i32 + 1;
        // SAFETY: pfds is a valid array of pollfd for the duration of the call.
        let rc = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, wait) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            assert_eq!(e.kind(), io::ErrorKind::Interrupted, "poll: {e}");
            continue;
        }
        let now = Instant::now();
        for (p, &i) in pfds.iter().zip(&index) {
            let c = &mut clients[i];
            if p.revents & (libc::POLLOUT | libc::POLLERR) != 0 && !c.done() {
                c.on_writable(now);
            }
            if p.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0 && !c.done() {
                c.on_readable();
            }
        }
    }
    clients.into_iter().map(|c| c.outcome.unwrap_or_default()).collect()
}

/// Runs one client per script on `FLOOD_THREADS` threads, every connection opened at once.
pub(super) fn flood(addr: SocketAddr, scripts: Vec<Script>) -> Vec<Outcome> {
    let per_thread = scripts.len().div_ceil(FLOOD_THREADS);
    let mut scripts = scripts.into_iter();
    let handles: Vec<_> = (0..FLOOD_THREADS)
        .map(|_| {
            let mine: Vec<Script> = scripts.by_ref().take(per_thread).collect();
            std::thread::spawn(move || {
                let clients = mine.into_iter().map(|s| Client::new(addr, s)).collect();
                drive(clients, CLIENT_LIMIT)
            })
        })
        .collect();
    handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
}

/// The test process holds thousands of sockets at once: raise its soft descriptor limit
/// to the hard one.
pub(super) fn raise_nofile(needed: u64) {
    // SAFETY: getrlimit/setrlimit on a local struct.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        if lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
        }
        assert!(
            lim.rlim_cur >= needed,
            "the flood needs {needed} descriptors; RLIMIT_NOFILE allows {}",
            lim.rlim_cur
        );
    }
}
