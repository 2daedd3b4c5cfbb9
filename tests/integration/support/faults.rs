//! Faults of the machine, for the fault tests: root-only tmpfs and immutable-flag
//! guards, and the rows of the state database that must survive a fault.

use super::{Fakes, Podup, Resp, call, setup};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn root(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        eprintln!("SKIPPED {test}: needs root (mounts, chattr)");
    }
    root
}

pub fn sh(argv: &[&str]) {
    let out = Command::new(argv[0]).args(&argv[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{argv:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// As root only: podup whose state directory is a tmpfs of `size`, and an admin token.
pub fn on_tmpfs(name: &str, size: &str, extra: &[(&str, &str)]) -> Option<(Fakes, Podup, Tmpfs, String)> {
    if !root(name) {
        return None;
    }
    let (fakes, podup) = setup(name, extra);
    let mount = Tmpfs::mount(&podup.state.path().join("state"), size);
    let admin = podup.token("admin", "admin");
    Some((fakes, podup, mount, admin))
}

/// A small tmpfs on `dir`, unmounted (lazily, so a failing test never leaves it) on drop.
pub struct Tmpfs(pub PathBuf);

impl Tmpfs {
    pub fn mount(dir: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        sh(&[
            "mount",
            "-n",
            "-t",
            "tmpfs",
            "-o",
            &format!("size={size},mode=0750"),
            "podup-fault",
            dir.to_str().unwrap(),
        ]);
        Tmpfs(dir.to_path_buf())
    }

    /// Fills the file system to the last block; returns the file that holds it.
    pub fn fill(&self) -> PathBuf {
        let filler = self.0.join("filler");
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0x5au8; 4096];
        while std::io::Write::write_all(&mut f, &chunk).is_ok() {}
        filler
    }

    pub fn remount(&self, how: &str) {
        sh(&["mount", "-n", "-o", &format!("remount,{how}"), self.0.to_str().unwrap()]);
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").args(["-n", "-l"]).arg(&self.0).status();
    }
}

/// Clears the immutable flag on drop, so that the temp dir can be removed after a failure.
pub struct Immutable(pub PathBuf);

impl Immutable {
    pub fn set(path: &Path) -> Immutable {
        sh(&["chattr", "+i", path.to_str().unwrap()]);
        Immutable(path.to_path_buf())
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

/// What must survive a fault: every event row (by request id), every task with its
/// status, every token.
#[derive(Debug, PartialEq)]
pub struct Rows {
    pub events: Vec<String>,
    pub tasks: Vec<(i64, String)>,
    pub tokens: Vec<String>,
}

pub fn rows(db: &Path) -> Rows {
    let conn = rusqlite::Connection::open(db).unwrap();
    let list = |sql: &str| -> Vec<String> {
        let mut st = conn.prepare(sql).unwrap();
        st.query_map([], |r| r.get(0)).unwrap().map(Result::unwrap).collect()
    };
    let events = list("SELECT request_id FROM event_log ORDER BY id");
    let tokens = list("SELECT name FROM tokens ORDER BY name");
    let mut st = conn.prepare("SELECT id, status FROM tasks ORDER BY id").unwrap();
    let tasks = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    Rows { events, tasks, tokens }
}

/// `PRAGMA integrity_check` is `ok` and every row of `before` is still there.
pub fn assert_intact(db: &Path, before: &Rows) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    drop(conn);
    let now = rows(db);
    for e in &before.events {
        assert!(now.events.contains(e), "event row {e} was lost");
    }
    for (id, _) in &before.tasks {
        assert!(now.tasks.iter().any(|(i, _)| i == id), "task {id} was lost");
    }
    for t in &before.tokens {
        assert!(now.tokens.contains(t), "token {t} was lost");
    }
}

pub fn task_row(db: &Path, id: i64) -> (String, String, String) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(
        "SELECT status, coalesce(reason, ''), coalesce(message, '') FROM tasks WHERE id = ?1",
        [id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .unwrap()
}

pub fn update(addr: SocketAddr, token: &str) -> Resp {
    call(addr, "POST", "/api/v1/services/app.service/update", Some(token), "")
}

/// A JSON error answer with a stable code and a sentence.
pub fn assert_error(r: &Resp, status: u16, codes: &[&str]) -> String {
    assert_eq!(r.status, status, "{}", r.body);
    let v = r.json();
    let code = v["error"].as_str().unwrap_or_default().to_string();
    assert!(
        codes.contains(&code.as_str()),
        "error {code:?} not in {codes:?}: {}",
        r.body
    );
    assert!(!v["message"].as_str().unwrap_or_default().is_empty(), "{}", r.body);
    code
}

pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn conn_exec(db: &Path, sql: &str) {
    rusqlite::Connection::open(db).unwrap().execute(sql, []).unwrap();
}
