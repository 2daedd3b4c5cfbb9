//! The same binary under systemd's own `systemd-socket-activate`, Accept=no and
//! `--accept`, so the handover is systemd's and not the test's imitation.

use crate::support::*;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn activate(podup: &Podup, accept: bool) -> Server {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut cmd = Command::new("systemd-socket-activate");
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PODUP_STATE_DIR", podup.state.path().join("state"))
        .env("PODUP_IDLE_EXIT_SECS", "30");
    cmd.arg("--listen").arg(&addr);
    if accept {
        cmd.arg("--accept");
    }
    cmd.arg("-E")
        .arg("PODUP_STATE_DIR")
        .arg("-E")
        .arg("PODUP_IDLE_EXIT_SECS")
        .arg(PODUP)
        .arg("serve");
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let sock = addr.parse().unwrap();
    assert!(
        wait_until(Duration::from_secs(5), || std::net::TcpStream::connect(sock).is_ok()),
        "activator listens"
    );
    Server {
        child,
        addr: sock,
        db: podup.db_path(),
    }
}

#[test]
fn under_systemd_socket_activate_accept_no() {
    let podup = Podup::new("ssa-no");
    let server = activate(&podup, false);
    let r = get(server.addr, "/health");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(get(server.addr, "/x").status, 404);
    let rows = wait_until(Duration::from_secs(5), || {
        podup.db_path().exists() && event_count(&podup.db_path()) >= 2
    });
    assert!(rows);
    // The readiness probe connection sent nothing: it is not a request and has no row.
    assert_eq!(event_count(&podup.db_path()), 2);
}

#[test]
fn under_systemd_socket_activate_accept_yes() {
    let podup = Podup::new("ssa-yes");
    let server = activate(&podup, true);
    for _ in 0..3 {
        assert_eq!(get(server.addr, "/health").status, 200);
    }
    assert!(wait_until(Duration::from_secs(5), || event_count(&podup.db_path()) == 3));
    let rows = events(&podup.db_path());
    assert!(
        rows.iter()
            .all(|r| r.5.as_deref().is_some_and(|a| a.starts_with("127.0.0.1"))),
        "{rows:?}"
    );
}
