//! Each service's last good policy (`policies`): the policy and where its keys came from,
//! as JSON, from the last time they were read without an error. A service whose policy
//! files go bad keeps this one until they are fixed (docs/policy.md). Reading and
//! checking the files is `policy`'s.

use rusqlite::{Connection, OptionalExtension, params};

/// The table, as the schema migration creates it.
pub const POLICIES_DDL: &str = "CREATE TABLE IF NOT EXISTS policies (unit TEXT PRIMARY KEY, policy TEXT NOT NULL, sources TEXT NOT NULL, read_ms INTEGER NOT NULL) STRICT;";

/// Creates the table when it is missing (the migration calls this too).
pub fn ensure(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(POLICIES_DDL)
}

/// Keeps `unit`'s policy read without an error at `now_ms`. Only a change is written, so
/// that reading an unchanged policy (every `GET /api/v1/services`) writes nothing;
/// `read_ms` is then when this policy was first read.
pub fn save_good(
    conn: &Connection,
    unit: &str,
    policy_json: &str,
    sources_json: &str,
    now_ms: i64,
) -> rusqlite::Result<()> {
    if last_good(conn, unit)?.is_some_and(|(p, s)| p == policy_json && s == sources_json) {
        return Ok(());
    }
    // A database whose schema predates the table gets it with its first good policy.
    ensure(conn)?;
    conn.execute(
        "INSERT INTO policies (unit, policy, sources, read_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (unit) DO UPDATE SET policy = ?2, sources = ?3, read_ms = ?4",
        params![unit, policy_json, sources_json, now_ms],
    )?;
    Ok(())
}

/// Forgets `unit`'s last good policy (its policy is the default again, which is what a
/// service without a row falls back to); writes only when there is a row.
pub fn forget(conn: &Connection, unit: &str) -> rusqlite::Result<()> {
    if last_good(conn, unit)?.is_some() {
        conn.execute("DELETE FROM policies WHERE unit = ?1", [unit])?;
    }
    Ok(())
}

/// `unit`'s last good policy and sources, as saved; none when none was saved (or the
/// table does not exist yet).
pub fn last_good(conn: &Connection, unit: &str) -> rusqlite::Result<Option<(String, String)>> {
    let found = conn
        .query_row("SELECT policy, sources FROM policies WHERE unit = ?1", [unit], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional();
    match found {
        Err(rusqlite::Error::SqliteFailure(_, Some(m))) if m.starts_with("no such table") => Ok(None),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_reads_back_and_writes_only_a_change() {
        let conn = Connection::open_in_memory().unwrap();
        assert_eq!(last_good(&conn, "app.service").unwrap(), None, "no table yet");
        save_good(&conn, "app.service", "{\"p\":1}", "{}", 10).unwrap();
        assert_eq!(
            last_good(&conn, "app.service").unwrap(),
            Some(("{\"p\":1}".into(), "{}".into()))
        );
        let read_ms = || -> i64 {
            conn.query_row("SELECT read_ms FROM policies WHERE unit = 'app.service'", [], |r| {
                r.get(0)
            })
            .unwrap()
        };
        save_good(&conn, "app.service", "{\"p\":1}", "{}", 20).unwrap();
        assert_eq!(read_ms(), 10, "unchanged: not written");
        save_good(&conn, "app.service", "{\"p\":2}", "{}", 30).unwrap();
        assert_eq!(read_ms(), 30);
        assert_eq!(last_good(&conn, "other.service").unwrap(), None);
        forget(&conn, "app.service").unwrap();
        forget(&conn, "other.service").unwrap();
        assert_eq!(last_good(&conn, "app.service").unwrap(), None);
        ensure(&conn).unwrap();
    }

    #[test]
    fn the_table_is_strict() {
        let conn = Connection::open_in_memory().unwrap();
        ensure(&conn).unwrap();
        let e = conn
            .execute("INSERT INTO policies VALUES ('a.service', '{}', '{}', 'soon')", [])
            .unwrap_err();
        assert!(
            e.to_string().contains("cannot store TEXT value in INTEGER column"),
            "{e}"
        );
    }
}
