//! Per-unit deploy locks (`unit_locks`): one deploy per unit at a time. Callers
//! use them inside an IMMEDIATE transaction, so checking and taking are one step.

use rusqlite::{Connection, OptionalExtension, params};

/// Takes the lock of every unit for `task_id`, or none of them: returns the task
/// that holds one of them, if any.
pub fn acquire_all(conn: &Connection, units: &[String], task_id: i64, now_ms: i64) -> rusqlite::Result<Option<i64>> {
    for unit in units {
        let holder: Option<i64> = conn
            .query_row("SELECT task_id FROM unit_locks WHERE unit = ?1", [unit], |r| r.get(0))
            .optional()?;
        if let Some(h) = holder.filter(|h| *h != task_id) {
            return Ok(Some(h));
        }
    }
    for unit in units {
        conn.execute(
            "INSERT OR IGNORE INTO unit_locks (unit, task_id, acquired_ms) VALUES (?1, ?2, ?3)",
            params![unit, task_id, now_ms],
        )?;
    }
    Ok(None)
}

/// Frees every lock `task_id` holds.
pub fn release(conn: &Connection, task_id: i64) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM unit_locks WHERE task_id = ?1", [task_id])
}

/// Clears the lock of `unit`, whichever task holds it (a stuck one, by hand);
/// how many were cleared (0 or 1).
pub fn clear(conn: &Connection, unit: &str) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM unit_locks WHERE unit = ?1", [unit])
}

/// A deploy task newer than `task_id` for one of `units` that is waiting, running or
/// has succeeded: then `task_id` must not deploy. (A recovery is no deploy.) (Its worker may start late, after the
/// newer one finished; deploying then would put an older image back.)
pub fn newer_for_units(conn: &Connection, units: &[String], task_id: i64) -> rusqlite::Result<Option<i64>> {
    let mut st = conn.prepare_cached(
        "SELECT max(t.id) FROM tasks t JOIN task_units u ON u.task_id = t.id
         WHERE u.unit = ?1 AND t.status IN ('pending', 'running', 'succeeded') AND t.id > ?2
             AND t.kind <> 'maintenance'",
    )?;
    for unit in units {
        if let Some(id) = st.query_row(params![unit, task_id], |r| r.get::<_, Option<i64>>(0))? {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(c: &Connection) -> i64 {
        c.query_row("SELECT count(*) FROM unit_locks", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_newer_task_that_waits_runs_or_succeeded_supersedes_an_older_one() {
        let c = crate::testing::migrated_db();
        let add = |status: &str| -> i64 {
            c.execute(
                "INSERT INTO tasks (kind, status, created_ms, source, units_text, spec)
                 VALUES ('webhook', ?1, 1, 'github', 'app.service', '{}')",
                [status],
            )
            .unwrap();
            let id = c.last_insert_rowid();
            c.execute(
                "INSERT INTO task_units (task_id, unit, status) VALUES (?1, 'app.service', 'pending')",
                [id],
            )
            .unwrap();
            id
        };
        let old = add("pending");
        let app = vec!["app.service".to_string()];
        assert_eq!(newer_for_units(&c, &app, old).unwrap(), None);
        for status in ["failed", "rolled_back", "skipped", "cancelled"] {
            add(status);
        }
        assert_eq!(
            newer_for_units(&c, &app, old).unwrap(),
            None,
            "a newer task that did not deploy"
        );
        // The newer one's worker started first and already deployed: the older one,
        // starting late, must not put its older image back.
        let done = add("succeeded");
        assert_eq!(newer_for_units(&c, &app, old).unwrap(), Some(done));
        let running = add("running");
        assert_eq!(newer_for_units(&c, &app, old).unwrap(), Some(running));
        let waiting = add("pending");
        assert_eq!(newer_for_units(&c, &app, old).unwrap(), Some(waiting));
        assert_eq!(newer_for_units(&c, &["other.service".to_string()], old).unwrap(), None);
        // A recovery (maintenance) of the same unit is no deploy: it supersedes nothing.
        let last = add("pending");
        c.execute(
            "INSERT INTO tasks (kind, status, created_ms, source, units_text, spec)
             VALUES ('maintenance', 'running', 1, 'worker', 'app.service', '{}')",
            [],
        )
        .unwrap();
        let recovery = c.last_insert_rowid();
        c.execute(
            "INSERT INTO task_units (task_id, unit, status) VALUES (?1, 'app.service', 'running')",
            [recovery],
        )
        .unwrap();
        assert_eq!(newer_for_units(&c, &app, last).unwrap(), None);
    }

    #[test]
    fn all_or_nothing_and_release() {
        let c = crate::testing::migrated_db();
        let ab = vec!["a.service".to_string(), "b.service".to_string()];
        let b = vec!["b.service".to_string()];
        assert_eq!(acquire_all(&c, &b, 1, 0).unwrap(), None);
        assert_eq!(acquire_all(&c, &ab, 2, 0).unwrap(), Some(1));
        assert_eq!(count(&c), 1, "task 2 took nothing");
        assert_eq!(acquire_all(&c, &b, 1, 0).unwrap(), None, "re-entrant for the holder");
        assert_eq!(release(&c, 1).unwrap(), 1);
        assert_eq!(acquire_all(&c, &ab, 2, 0).unwrap(), None);
        assert_eq!(count(&c), 2);
        assert_eq!(clear(&c, "a.service").unwrap(), 1);
        assert_eq!(clear(&c, "a.service").unwrap(), 0);
        assert_eq!(count(&c), 1);
    }
}
