//! What makes a replayed GitHub delivery recognizable: the SHA-256 of each signed body
//! that made or joined a task, kept for the redelivery window (the delivery id is not
//! signed, so a captured body can come back under any id), and whether a digest is one
//! a later verified deploy replaced on a unit (a downgrade). A verified body that made
//! no task (a ping, an ignored event) is remembered too, as task 0 (no task has that
//! id), so its replay is known for the repeat it is and filed as one (`store::fold`).

use rusqlite::{Connection, OptionalExtension, params};

/// How long a body is remembered: GitHub lets a delivery be redelivered for 3 days
/// (GitHub Enterprise Server: 7), docs.github.com "Redelivering webhooks".
pub const REDELIVERY_WINDOW_MS: i64 = 7 * 86_400_000;

/// The task the same body made or joined within the window.
pub fn task_for_body(conn: &Connection, sha256: &str, now_ms: i64) -> rusqlite::Result<Option<i64>> {
    conn.query_row(
        "SELECT task_id FROM webhook_bodies WHERE sha256 = ?1 AND received_ms >= ?2",
        params![sha256, now_ms - REDELIVERY_WINDOW_MS],
        |r| r.get(0),
    )
    .optional()
}

/// Remembers `sha256` for `task_id`, and forgets bodies older than the window.
pub fn remember(conn: &Connection, sha256: &str, task_id: i64, now_ms: i64) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM webhook_bodies WHERE received_ms < ?1",
        [now_ms - REDELIVERY_WINDOW_MS],
    )?;
    conn.execute(
        "INSERT OR REPLACE INTO webhook_bodies (sha256, task_id, received_ms) VALUES (?1, ?2, ?3)",
        params![sha256, task_id, now_ms],
    )?;
    Ok(())
}

/// Remembers a verified body that made no task, unless it is known already.
pub fn remember_seen(conn: &Connection, sha256: &str, now_ms: i64) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM webhook_bodies WHERE received_ms < ?1",
        [now_ms - REDELIVERY_WINDOW_MS],
    )?;
    conn.execute(
        "INSERT OR IGNORE INTO webhook_bodies (sha256, task_id, received_ms) VALUES (?1, 0, ?2)",
        params![sha256, now_ms],
    )?;
    Ok(())
}

/// True when `digest` ran on `unit` and a deploy that succeeded (verified) replaced it,
/// and the unit does not run it again since (a rollback or a later deploy back to it).
pub fn is_stale_digest(conn: &Connection, unit: &str, digest: &str) -> rusqlite::Result<bool> {
    let replaced: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM task_units WHERE unit = ?1 AND status = 'succeeded'
             AND from_digest = ?2 AND to_digest IS NOT NULL AND to_digest <> ?2)",
        params![unit, digest],
        |r| r.get(0),
    )?;
    if !replaced {
        return Ok(false);
    }
    Ok(super::stats::last_known_digest(conn, unit)?.as_deref() != Some(digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        crate::testing::migrated_db()
    }

    #[test]
    fn a_body_is_remembered_for_the_window_only() {
        let c = db();
        remember(&c, "abc", 7, 1_000).unwrap();
        assert_eq!(task_for_body(&c, "abc", 2_000).unwrap(), Some(7));
        assert_eq!(
            task_for_body(&c, "abc", 1_000 + REDELIVERY_WINDOW_MS + 1).unwrap(),
            None
        );
        remember(&c, "new", 8, 1_000 + REDELIVERY_WINDOW_MS + 1).unwrap();
        let left: i64 = c
            .query_row("SELECT count(*) FROM webhook_bodies", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 1, "the old body was forgotten");
        // A body that made no task is known as task 0, and a task replaces that.
        let now = 2_000 + REDELIVERY_WINDOW_MS;
        remember_seen(&c, "ping", now).unwrap();
        assert_eq!(task_for_body(&c, "ping", now).unwrap(), Some(0));
        remember(&c, "ping", 9, now).unwrap();
        remember_seen(&c, "ping", now).unwrap();
        assert_eq!(task_for_body(&c, "ping", now).unwrap(), Some(9));
    }

    #[test]
    fn a_digest_a_verified_deploy_replaced_is_stale_until_it_runs_again() {
        let c = db();
        let unit = |task: i64, from: &str, to: &str, status: &str| {
            c.execute(
                "INSERT INTO tasks (id, kind, created_ms, source, spec) VALUES (?1, 'webhook', 0, 'github', '{}')",
                [task],
            )
            .unwrap();
            c.execute(
                "INSERT INTO task_units (task_id, unit, from_digest, to_digest, status) VALUES (?1, 'a.service', ?2, ?3, ?4)",
                params![task, from, to, status],
            )
            .unwrap();
        };
        unit(1, "sha256:a", "sha256:b", "succeeded");
        assert!(is_stale_digest(&c, "a.service", "sha256:a").unwrap());
        assert!(!is_stale_digest(&c, "a.service", "sha256:b").unwrap());
        assert!(!is_stale_digest(&c, "a.service", "sha256:new").unwrap());
        assert!(!is_stale_digest(&c, "other.service", "sha256:a").unwrap());
        // Deployed back on purpose (by hand): running again, no longer stale.
        unit(2, "sha256:b", "sha256:a", "succeeded");
        assert!(!is_stale_digest(&c, "a.service", "sha256:a").unwrap());
        // A replacement that was rolled back does not make a digest stale.
        unit(3, "sha256:a", "sha256:c", "rolled_back");
        assert!(!is_stale_digest(&c, "a.service", "sha256:c").unwrap());
    }
}
