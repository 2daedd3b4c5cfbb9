//! `podup notify`: `--flush` delivers what waits in the outbox (the flush timer and
//! the timer job run it), `list` shows the sinks (secrets masked) with how each has
//! fared and the newest deliveries, `test [SINK]` sends a test message now.

use super::{Error, UsageError, open_db, options};
use crate::config::Config;
use crate::model::DeliveryStatus;
use crate::notify::{self, compose, deliver};
use crate::store::outbox;

#[derive(Debug, Clone, PartialEq)]
pub enum NotifyArgs {
    Flush {
        db: Option<String>,
    },
    List {
        json: bool,
    },
    /// A sink by its number in `list` or its key; every sink when None.
    Test {
        sink: Option<String>,
    },
}

pub fn parse(rest: &[String]) -> Result<NotifyArgs, UsageError> {
    let m = options("notify")
        .parse(rest)
        .map_err(|e| UsageError(format!("notify: {e}")))?;
    let free: Vec<&str> = m.free.iter().map(String::as_str).collect();
    match (m.opt_present("flush"), free.as_slice()) {
        (true, []) => Ok(NotifyArgs::Flush { db: m.opt_str("db") }),
        (false, ["list"]) => Ok(NotifyArgs::List {
            json: m.opt_present("json"),
        }),
        (false, ["test"]) => Ok(NotifyArgs::Test { sink: None }),
        (false, ["test", sink]) => Ok(NotifyArgs::Test {
            sink: Some(sink.to_string()),
        }),
        (true, [extra, ..]) => Err(UsageError(format!("notify --flush: unexpected argument '{extra}'"))),
        (false, []) => Err(UsageError("notify: expected --flush, list or test [SINK]".into())),
        (false, [other, ..]) => Err(UsageError(format!(
            "notify: unknown verb '{other}' (expected --flush, list or test [SINK])"
        ))),
    }
}

pub fn run(config: &Config, args: &NotifyArgs) -> Result<(), Error> {
    match args {
        NotifyArgs::Flush { db } => {
            let conn = match db {
                Some(p) => crate::store::open(std::path::Path::new(p))?,
                None => open_db(config)?,
            };
            let Some(n) = notify::installed() else {
                eprintln!("podup: no notification sink is configured; nothing to deliver");
                return Ok(());
            };
            let done = deliver::flush(&conn, n, None)?;
            println!(
                "delivered {}, failed {} (to be retried), given up {}, waiting {}",
                done.delivered, done.failed, done.given_up, done.waiting
            );
            Ok(())
        }
        NotifyArgs::List { json } => list(config, *json),
        NotifyArgs::Test { sink } => test(config, sink.as_deref()),
    }
}

fn list(config: &Config, json: bool) -> Result<(), Error> {
    let conn = open_db(config)?;
    if json {
        return super::print_json(&crate::notify::view::answer(&conn, &config.notify.sinks)?);
    }
    let sinks = crate::notify::view::sinks(&conn, &config.notify.sinks)?;
    let recent = outbox::recent(&conn, 20)?;
    if sinks.is_empty() {
        println!("no notification sink is configured (PODUP_NOTIFY, PODUP_NOTIFY_FILE or the credential notify)");
    }
    for s in &sinks {
        let state = &s.state;
        let last = match (&state.last_error, state.last_status) {
            (Some(e), _) => format!("failing: {e}"),
            (None, Some(DeliveryStatus::Delivered)) => "ok".into(),
            (None, Some(DeliveryStatus::GivenUp)) => "given up".into(),
            _ => "no delivery yet".into(),
        };
        let events: Vec<&str> = s.events.iter().map(|e| e.as_str()).collect();
        println!(
            "{}  {}  events={}  {}  (delivered {}, waiting {}, given up {})",
            s.number,
            s.sink,
            events.join(","),
            last,
            state.delivered,
            state.pending,
            state.given_up
        );
    }
    if !recent.is_empty() {
        println!("\nnewest deliveries:");
    }
    for r in recent {
        println!(
            "  {}  task {}  {}  {}  {}  attempts {}{}",
            r.id,
            r.task_id.map_or("-".into(), |t| t.to_string()),
            r.event,
            r.status,
            r.sink_name,
            r.attempts,
            r.last_error.map(|e| format!("  ({e})")).unwrap_or_default()
        );
    }
    Ok(())
}

fn test(config: &Config, sink: Option<&str>) -> Result<(), Error> {
    let Some(n) = notify::installed() else {
        return Err(Error::NoSinks);
    };
    let key = match sink {
        None => None,
        Some(s) => Some(resolve_sink(config, s)?),
    };
    let conn = open_db(config)?;
    let now = crate::clock::now_ms();
    compose::enqueue_test(&conn, n, key.as_deref(), None, now)?;
    let mut failed = 0;
    for s in n.sinks.iter().filter(|s| key.as_deref().is_none_or(|k| k == s.key)) {
        let row = outbox::due(&conn, now, None, deliver::FLUSH_ROWS)?
            .into_iter()
            .find(|r| r.sink == s.key && r.event == crate::model::NotifyEvent::Test);
        let Some(row) = row else { continue };
        let result = deliver::deliver_once(&conn, n, &row)?;
        match result {
            Ok(()) => println!("{}: delivered", s.display),
            Err(e) => {
                failed += 1;
                println!("{}: failed: {e}", s.display);
            }
        }
    }
    if failed > 0 {
        return Err(Error::NotifyFailed { failed });
    }
    Ok(())
}

/// A sink named by its number in `notify list`, or its key.
fn resolve_sink(config: &Config, text: &str) -> Result<String, Error> {
    let sinks = &config.notify.sinks;
    if let Ok(n) = text.parse::<usize>() {
        if let Some(s) = n.checked_sub(1).and_then(|i| sinks.get(i)) {
            return Ok(s.key.clone());
        }
    }
    match sinks.iter().find(|s| s.key == text) {
        Some(s) => Ok(s.key.clone()),
        None => Err(Error::Usage(UsageError(format!(
            "notify test: no sink '{text}' (give its number or key from 'podup notify list'; {} configured)",
            sinks.len()
        )))),
    }
}
