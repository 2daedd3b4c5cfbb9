//! podup's own units under the real manager: `podup.socket` + `podup.service`
//! (Accept=no: activation, idle exit, re-activation, cold and warm first byte),
//! `podup-cgi.socket` + `podup-cgi@.service` (Accept=yes: an instance per request,
//! REMOTE_ADDR in the event log), and a flood that must not fail the Accept=yes socket
//! (floods against podup.socket are in `flood.rs`).

use crate::harness::{
    Harness, bed_bin, copy_binary, free_port, get, install_shipped, request_ids, shout, state_db, wait_until,
};
use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

fn podup_processes(bed: &Harness) -> usize {
    let out = bed.exec_ok(&["sh", "-c", &format!("pgrep -f -x '{} serve' | wc -l", bed_bin(bed))]);
    out.trim().parse().unwrap_or(0)
}

/// A bed with podup's binary in it, and a free loopback address for its socket.
fn bed_with_binary(name: &str) -> Option<(Harness, SocketAddr)> {
    let bed = Harness::up(name)?;
    copy_binary(&bed);
    Some((bed, SocketAddr::from(([127, 0, 0, 1], free_port()))))
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

on_kinds!(socket_activation_starts_serves_idles_out_and_restarts);
fn socket_activation_starts_serves_idles_out_and_restarts() {
    let Some((bed, addr)) = bed_with_binary("socket-accept-no") else {
        return;
    };
    let port = addr.port();
    install_shipped(&bed, "podup.socket", port, None);
    install_shipped(
        &bed,
        "podup.service",
        port,
        Some("[Service]\nEnvironment=PODUP_IDLE_EXIT_SECS=2\n"),
    );
    bed.systemctl_ok(&["start", "podup.socket"]);
    assert_eq!(bed.unit_property("podup.socket", "ActiveState"), "active");
    assert_eq!(bed.unit_property("podup.service", "ActiveState"), "inactive");
    assert_eq!(podup_processes(&bed), 0, "nothing runs before the first request");

    let cold = get(addr, "/health").unwrap();
    assert_eq!(cold.status, 200, "{}", cold.body);
    assert!(cold.body.contains("\"db\":{\"state\":\"ok\"}"), "{}", cold.body);
    assert_eq!(bed.unit_property("podup.service", "ActiveState"), "active");
    let first_pid = bed.unit_property("podup.service", "MainPID");
    let warm = get(addr, "/health").unwrap();
    assert_eq!(warm.status, 200);
    assert_eq!(
        bed.unit_property("podup.service", "MainPID"),
        first_pid,
        "a warm request reuses the process"
    );
    shout(&format!(
        "podup.socket first byte: cold {}, warm {}",
        ms(cold.first_byte),
        ms(warm.first_byte)
    ));

    let idled = wait_until(Duration::from_secs(10), || {
        bed.unit_property("podup.service", "ActiveState") == "inactive"
    });
    assert!(idled, "podup.service exits after its idle time");
    assert_eq!(bed.unit_property("podup.service", "Result"), "success");
    assert_eq!(podup_processes(&bed), 0);
    assert_eq!(bed.unit_property("podup.socket", "ActiveState"), "active");

    let again = get(addr, "/health").unwrap();
    assert_eq!(again.status, 200);
    let second_pid = bed.unit_property("podup.service", "MainPID");
    assert_ne!(second_pid, first_pid, "the next request started a new process");
    shout(&format!(
        "podup.socket first byte after idle exit: {}",
        ms(again.first_byte)
    ));

    let ids = request_ids(&state_db(&bed));
    for a in [&cold, &warm, &again] {
        assert!(ids.contains(&a.request_id), "event row for {}", a.request_id);
    }
    assert_eq!(ids.len(), 3);
}

on_kinds!(accept_yes_runs_one_instance_per_request_with_remote_addr);
fn accept_yes_runs_one_instance_per_request_with_remote_addr() {
    let Some((bed, addr)) = bed_with_binary("socket-accept-yes") else {
        return;
    };
    let port = addr.port();
    install_shipped(&bed, "podup-cgi.socket", port, None);
    install_shipped(&bed, "podup-cgi@.service", port, None);
    bed.systemctl_ok(&["start", "podup-cgi.socket"]);
    // Five connections held open before they send a byte: each has its own instance,
    // with its own process, already running.
    let mut conns: Vec<TcpStream> = (0..5).map(|_| TcpStream::connect(addr).unwrap()).collect();
    let mut pids = HashSet::new();
    let five = wait_until(Duration::from_secs(10), || {
        pids = cgi_main_pids(&bed);
        pids.len() == 5
    });
    assert!(five, "one instance per connection, each its own process: {pids:?}");
    let mut locals = Vec::new();
    let mut answers = Vec::new();
    for s in &mut conns {
        locals.push(s.local_addr().unwrap().to_string());
        s.write_all(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        assert!(out.starts_with("HTTP/1.1 200 "), "{out}");
        answers.push(out);
    }
    assert_eq!(bed.unit_property("podup-cgi.socket", "NAccepted"), "5");
    assert!(wait_until(Duration::from_secs(10), || bed
        .unit_property("podup-cgi.socket", "NConnections")
        == "0"));
    let conn = rusqlite::Connection::open(state_db(&bed)).unwrap();
    let rows: Vec<(String, String)> = conn
        .prepare("SELECT request_id, remote_addr FROM event_log ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 5);
    let ids: HashSet<&str> = rows.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids.len(), 5, "five request ids: {rows:?}");
    let remotes: Vec<&str> = rows.iter().map(|(_, r)| r.as_str()).collect();
    assert_eq!(
        remotes, locals,
        "REMOTE_ADDR:REMOTE_PORT of each connection reaches the event log"
    );
}

/// The main processes of the running `podup-cgi@` instances.
fn cgi_main_pids(bed: &Harness) -> HashSet<String> {
    let units = bed.systemctl_ok(&["list-units", "--plain", "--no-legend", "--state=active", "podup-cgi@*"]);
    units
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(|unit| bed.unit_property(unit, "MainPID"))
        .filter(|pid| pid != "0")
        .collect()
}

/// Opens `total` connections from `threads` threads as fast as they go; returns
/// the request ids of the answered ones and the count of unanswered ones.
fn flood(addr: SocketAddr, total: usize, threads: usize) -> (Vec<String>, usize) {
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            std::thread::spawn(move || {
                let mut ids = Vec::new();
                let mut failed = 0;
                for _ in 0..total / threads {
                    match get(addr, "/health") {
                        Ok(a) if a.status == 200 => ids.push(a.request_id),
                        _ => failed += 1,
                    }
                }
                (ids, failed)
            })
        })
        .collect();
    let mut ids = Vec::new();
    let mut failed = 0;
    for h in handles {
        let (i, f) = h.join().unwrap();
        ids.extend(i);
        failed += f;
    }
    (ids, failed)
}

on_kinds!(a_flood_of_2000_connections_does_not_fail_the_accept_yes_socket);
fn a_flood_of_2000_connections_does_not_fail_the_accept_yes_socket() {
    let Some((bed, addr)) = bed_with_binary("socket-flood") else {
        return;
    };
    let port = addr.port();
    install_shipped(&bed, "podup-cgi.socket", port, None);
    install_shipped(&bed, "podup-cgi@.service", port, None);
    bed.systemctl_ok(&["start", "podup-cgi.socket"]);
    let start = Instant::now();
    let (ids, unanswered) = flood(addr, 2000, 40);
    let secs = start.elapsed().as_secs_f64();
    shout(&format!(
        "podup-cgi.socket: 2000 connections in {secs:.1} s: {} answered, {unanswered} not",
        ids.len()
    ));
    // An instance per connection: the manager, not podup, is the bottleneck, and
    // connections beyond what it starts in time go unanswered; the socket must not fail.
    assert_eq!(bed.unit_property("podup-cgi.socket", "ActiveState"), "active");
    assert!(!ids.is_empty());
    assert!(wait_until(Duration::from_secs(60), || get(addr, "/health")
        .is_ok_and(|a| a.status == 200)));
    let stored: HashSet<String> = request_ids(&state_db(&bed)).into_iter().collect();
    let missing = ids.iter().filter(|id| !stored.contains(*id)).count();
    assert_eq!(missing, 0, "every answered request has its event row");
    assert_eq!(bed.unit_property("podup-cgi.socket", "ActiveState"), "active");
}
