//! The state database under concurrency: six processes opening a new database at
//! the same moment all succeed.

use crate::support::*;
use std::ffi::CString;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::Duration;

#[test]
fn six_processes_opening_a_fresh_db_at_once_all_succeed() {
    let podup = Podup::new("six");
    let fifo = podup.state.path().join("gate");
    let c = CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut children = Vec::new();
    let mut clients = Vec::new();
    for _ in 0..6 {
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (conn, _) = listener.accept().unwrap();
        // Each waits on the FIFO, then execs podup (Accept=yes) on its connection.
        let mut cmd = std::process::Command::new("/bin/sh");
        let gate = fifo.to_str().unwrap().to_string();
        let script = format!("read _ < '{gate}'; LISTEN_PID=$$ exec \"$0\" serve");
        let c = podup.command(&[]);
        cmd.env_clear()
            .envs(c.get_envs().filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned()))));
        cmd.arg("-c").arg(script).arg(PODUP).env("LISTEN_FDS", "1");
        pass_as_fd3(&mut cmd, conn.as_raw_fd());
        children.push(cmd.stdin(std::process::Stdio::null()).spawn().unwrap());
        drop(conn);
        clients.push(client);
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(!podup.db_path().exists(), "nobody opened the database before the gate");
    // Opening the FIFO for writing and closing it releases all six readers at once.
    drop(std::fs::OpenOptions::new().write(true).open(&fifo).unwrap());
    for client in &mut clients {
        client.write_all(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
        client.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    }
    for client in &mut clients {
        let r = read_response(client);
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["db"]["state"], "ok");
    }
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    assert_eq!(event_count(&podup.db_path()), 6);
}
