//! The sinks as `podup notify list` and `GET /api/v1/notify` show them: secrets masked,
//! filters, and how each has fared.

use super::message::Event;
use super::sink::Sink;
use crate::store::outbox::{self, SinkState};
use rusqlite::Connection;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct SinkView {
    /// Its place in the configuration, from 1 (what `podup notify test N` takes).
    pub number: usize,
    pub key: String,
    pub kind: &'static str,
    /// The URL with its secrets as `***`.
    pub sink: String,
    pub events: Vec<Event>,
    pub units: Vec<String>,
    pub host: Option<String>,
    pub state: SinkState,
}

/// How many of the newest deliveries the list shows.
pub const RECENT: usize = 30;

/// `{"sinks": [...], "deliveries": [...]}`: what `GET /api/v1/notify` answers and
/// `podup notify list --json` prints.
pub fn answer(conn: &Connection, sinks: &[Sink]) -> rusqlite::Result<serde_json::Value> {
    let out = self::sinks(conn, sinks)?;
    let deliveries = outbox::recent(conn, RECENT)?;
    Ok(serde_json::json!({"sinks": out, "deliveries": deliveries}))
}

pub fn sinks(conn: &Connection, sinks: &[Sink]) -> rusqlite::Result<Vec<SinkView>> {
    sinks
        .iter()
        .enumerate()
        .map(|(i, s)| {
            Ok(SinkView {
                number: i + 1,
                key: s.key.clone(),
                kind: s.kind.as_str(),
                sink: s.display.clone(),
                events: s.events.clone(),
                units: s.units.clone(),
                host: s.host.clone(),
                state: outbox::sink_state(conn, &s.key)?,
            })
        })
        .collect()
}
