//! Prometheus's own linter on the real exposition: `promtool check metrics` (Debian's
//! `prometheus` package, in tests/packages.txt) reads it from stdin and exits 0 with no
//! complaint when names, types, units and HELP lines are as Prometheus wants them.

use super::{bed, sequence};
use crate::support::*;
use std::io::Write;
use std::process::{Command, Stdio};

#[test]
fn promtool_check_metrics_passes_on_a_real_scrape() {
    let (fakes, podup) = bed("metrics-promtool", &[]);
    let read = sequence(&fakes, &podup);
    let server = podup.serve(&[]);
    let r = call(server.addr, "GET", "/metrics", Some(&read), "");
    assert_eq!(r.status, 200, "{}", r.body);
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = child.unwrap_or_else(|e| {
        panic!("promtool is missing ({e}): install Debian's prometheus package (tests/packages.txt; make test does)")
    });
    child.stdin.take().unwrap().write_all(r.body.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool: {said}\non:\n{}",
        r.body
    );
}
