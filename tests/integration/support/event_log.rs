//! For the probe tests of the event log: a kept-alive connection, and what the state
//! database takes and accounts for.

use super::{Resp, read_response};
use rusqlite::Connection;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

pub const MB: u64 = 1024 * 1024;

pub fn keep_alive(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s
}

pub fn send(s: &mut TcpStream, raw: &[u8]) -> Resp {
    s.write_all(raw).unwrap();
    read_response(s)
}

/// What the database takes once its write-ahead log is folded in: the data, not the
/// journal SQLite reuses (it grows to about 4 MB, then starts over).
pub fn data_bytes(db: &Path) -> u64 {
    let conn = Connection::open(db).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    let wal = db.with_extension("db-wal");
    std::fs::metadata(db).unwrap().len() + std::fs::metadata(wal).map_or(0, |m| m.len())
}

/// Rows and the requests they account for (`count`; 1 per row before the fix).
pub fn accounted(db: &Path, filter: &str) -> (i64, i64) {
    let conn = Connection::open(db).unwrap();
    let has_count: bool = conn
        .query_row(
            "SELECT count(*) FROM pragma_table_info('event_log') WHERE name = 'count'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
        > 0;
    let sum = if has_count {
        "coalesce(sum(count), 0)"
    } else {
        "count(*)"
    };
    conn.query_row(
        &format!("SELECT count(*), {sum} FROM event_log WHERE {filter}"),
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

pub fn used_bytes(db: &Path) -> i64 {
    Connection::open(db)
        .unwrap()
        .query_row(
            "SELECT (page_count - freelist_count) * page_size FROM pragma_page_count, pragma_freelist_count, pragma_page_size",
            [],
            |r| r.get(0),
        )
        .unwrap()
}

pub fn bad_token_guesses(addr: SocketAddr, n: usize) {
    let mut s = keep_alive(addr);
    for i in 0..n {
        let raw = format!("GET /api/v1/services HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer podup_{i:064}\r\n\r\n");
        assert_eq!(send(&mut s, raw.as_bytes()).status, 401);
    }
}
