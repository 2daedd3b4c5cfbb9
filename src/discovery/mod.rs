//! Opt-in discovery of webhook-capable units (`PODUP_AUTO_DISCOVER=1`): Quadlet
//! files with `AutoUpdate=registry` or `X-PodUp-Webhook=yes`, plain unit files with
//! `X-PodUp-Webhook=yes`, and running containers labelled `io.containers.autoupdate`.
//! It runs in the timer job, on `podup discover` and from the panel, never inside a
//! request's time budget; what it finds is stored with when it was last seen.

pub mod scan;

use crate::config::Config;
use crate::host::Host;
use crate::services::{ImageRef, Service};
use crate::store::discovery as store;
use rusqlite::Connection;
use serde::Serialize;
use std::time::Instant;

/// A unit discovery found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Found {
    pub unit: String,
    /// `quadlet`, `unit-file` or `container`.
    pub source: &'static str,
    pub image: Option<String>,
    /// The file or container it was found in.
    pub detail: String,
}

/// What one discovery run did.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub found: Vec<Found>,
    pub excluded: Vec<String>,
    pub forgotten: usize,
    /// Failures, each naming the file or command and its error.
    pub errors: Vec<String>,
    pub elapsed_ms: u64,
}

/// Scans everything, stores what was found, forgets units gone too long.
pub fn run(
    conn: &Connection,
    host: &Host,
    config: &Config,
    unit_dirs: &[std::path::PathBuf],
    now_ms: i64,
) -> rusqlite::Result<Report> {
    let start = Instant::now();
    let mut report = Report::default();
    let mut found = Vec::new();
    for (list, errors) in [
        scan::quadlet(&config.quadlet_dirs),
        scan::unit_files(unit_dirs),
        scan::containers(host),
    ] {
        found.extend(list);
        report.errors.extend(errors);
    }
    host.drain_records();
    for e in &report.errors {
        log::warn!(error_kind = "discovery_failed"; "discovery: {e}");
    }
    let mut seen: Vec<String> = Vec::new();
    for f in found {
        if seen.contains(&f.unit) {
            continue; // the first source wins: Quadlet, then unit files, then containers
        }
        seen.push(f.unit.clone());
        if config.exclude.contains(&f.unit) {
            report.excluded.push(f.unit);
            continue;
        }
        store::upsert(conn, &f.unit, f.source, f.image.as_deref(), &f.detail, now_ms)?;
        report.found.push(f);
    }
    let cutoff = crate::duration::ms_before(now_ms, config.discovery_retention_secs);
    report.forgotten = store::forget_before(conn, cutoff)?;
    report.elapsed_ms = start.elapsed().as_millis() as u64;
    log::info!(
        "discovery: {} unit(s) found, {} excluded, {} forgotten, {} error(s) in {} ms",
        report.found.len(),
        report.excluded.len(),
        report.forgotten,
        report.errors.len(),
        report.elapsed_ms
    );
    Ok(report)
}

/// What a discovery run answers (`POST /api/v1/discover`, `podup discover --json`):
/// whether discovered units are updated (`PODUP_AUTO_DISCOVER`) and the report.
pub fn answer(config: &Config, report: &Report) -> serde_json::Value {
    serde_json::json!({"enabled": config.auto_discover, "report": report})
}

/// Every service podup may touch: the declared ones, then (with discovery on) the
/// discovered ones that are neither declared nor excluded.
pub fn services(config: &Config, conn: Option<&Connection>) -> Vec<(Service, &'static str)> {
    let mut out: Vec<(Service, &'static str)> = config.services.iter().map(|s| (s.clone(), "declared")).collect();
    if !config.auto_discover {
        return out;
    }
    let Some(found) = conn.and_then(|c| store::list(c).ok()) else {
        return out;
    };
    for d in found {
        if config.exclude.contains(&d.unit) || out.iter().any(|(s, _)| s.unit == d.unit) {
            continue;
        }
        let image = d.image.as_deref().and_then(|i| ImageRef::parse(i).ok());
        out.push((Service { unit: d.unit, image }, "discovered"));
    }
    out
}
