//! `GET /metrics` (read, or open with `PODUP_METRICS_OPEN=1`): the state database's
//! numbers (`store::metrics`) in the Prometheus text exposition format, written by
//! `prometheus-client` (names, escaping, `# TYPE` lines). podup does not stay resident,
//! so nothing is counted in memory: every scrape reads the rows kept, and a counter
//! falls when a prune removes rows (docs/operations.md, "Metrics").

use super::Response;
use super::context::{Call, Ctx};
use super::refusal::Refusal;
use super::webhooks::verdict;
use crate::providers::Sender;
use crate::store::metrics::{DEPLOY_BUCKETS_SECS, Durations, Snapshot, snapshot};
use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet, prometheus_text};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

type Labels = Vec<(&'static str, String)>;

/// A note every counter's HELP carries: they count rows, which prune removes.
const KEPT: &str = "counted from the rows kept, so a prune lowers it";

/// `GET /metrics`
pub fn metrics(ctx: &mut Ctx<'_>, _call: &Call<'_>) -> Result<Response, Refusal> {
    let actions: Vec<&str> = Sender::ALL.iter().map(|s| s.action()).collect();
    let snap = snapshot(ctx.db.get()?, &actions)?;
    let mut text = String::new();
    prometheus_text::encode(&mut text, &registry(&snap)).expect("writing to a String does not fail");
    let mut r = Response::json(200, "metrics", "ok", &serde_json::Value::Null);
    r.content_type = prometheus_text::CONTENT_TYPE;
    r.body = text.into_bytes();
    Ok(r)
}

/// A family of counters, one per label set.
fn counters(reg: &mut Registry, name: &str, help: String, rows: impl IntoIterator<Item = (Labels, i64)>) {
    let fam = Family::<Labels, Counter>::default();
    for (labels, n) in rows {
        fam.get_or_create(&labels).inc_by(n.max(0) as u64);
    }
    reg.register(name, help, fam);
}

/// A family of gauges, one per label set.
fn gauges(
    reg: &mut Registry,
    name: &str,
    help: &str,
    unit: Option<Unit>,
    rows: impl IntoIterator<Item = (Labels, i64)>,
) {
    let fam = Family::<Labels, Gauge>::default();
    for (labels, v) in rows {
        fam.get_or_create(&labels).set(v);
    }
    match unit {
        Some(u) => reg.register_with_unit(name, help, u, fam),
        None => reg.register(name, help, fam),
    }
}

fn label(pairs: &[(&'static str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
}

/// The metrics of `snap`, named and described.
pub fn registry(snap: &Snapshot) -> Registry {
    let mut reg = Registry::with_prefix("podup");
    // Deliveries by sender and verdict, folded over their reasons.
    let mut deliveries: Vec<(Labels, i64)> = Vec::new();
    for d in &snap.deliveries {
        let sender: &str = match Sender::from_action(&d.action) {
            Some(s) => s.name(),
            None => &d.action,
        };
        let labels = label(&[("sender", sender), ("verdict", verdict(d.status, &d.reason))]);
        match deliveries.iter_mut().find(|(l, _)| *l == labels) {
            Some((_, n)) => *n += d.requests,
            None => deliveries.push((labels, d.requests)),
        }
    }
    counters(
        &mut reg,
        "deliveries",
        format!("Webhook requests by sender and verdict (accepted, ignored, rejected) in the event log, {KEPT}"),
        deliveries,
    );
    counters(
        &mut reg,
        "tasks",
        format!("Finished tasks by kind and final status, {KEPT}"),
        snap.tasks
            .iter()
            .map(|(k, s, n, _)| (label(&[("kind", k), ("status", s)]), *n)),
    );
    gauges(
        &mut reg,
        "last_task_finished_timestamp",
        "When the newest finished task of a kind and final status ended (Unix time); unlike the counters, a prune leaves it",
        Some(Unit::Seconds),
        snap.tasks.iter().filter_map(|(k, s, _, last)| {
            Some((label(&[("kind", k), ("status", s)]), last.as_ref()?.div_euclid(1000)))
        }),
    );
    reg.register_with_unit(
        "deploy_duration",
        format!("Time from start to end of finished deploy tasks, {KEPT}"),
        Unit::Seconds,
        Fixed(snap.deploy_durations.clone()),
    );
    gauges(
        &mut reg,
        "last_successful_deploy_timestamp",
        "When the newest successful deploy of a service ended (Unix time)",
        Some(Unit::Seconds),
        snap.last_success_ms
            .iter()
            .map(|(u, ms)| (label(&[("service", u)]), ms.div_euclid(1000))),
    );
    gauges(
        &mut reg,
        "service_info",
        "The image and digest a service runs, as its newest finished deploy (else its update check) saw them; always 1",
        None,
        snap.running.iter().map(|r| {
            let l = label(&[("service", &r.unit), ("image", &r.image), ("digest", &r.digest)]);
            (l, 1)
        }),
    );
    gauges(
        &mut reg,
        "updates_waiting",
        "Updates of a service waiting: a check found a newer image (available), or a task awaits approval or its time",
        None,
        snap.waiting
            .iter()
            .map(|w| (label(&[("service", &w.unit), ("state", &w.state)]), w.count)),
    );
    gauges(
        &mut reg,
        "update_waiting_since_timestamp",
        "Since when the oldest waiting update of a service waits (Unix time): podup first heard of the digest, or the task was made",
        Some(Unit::Seconds),
        snap.waiting.iter().map(|w| {
            let l = label(&[("service", &w.unit), ("state", &w.state)]);
            (l, w.since_ms.div_euclid(1000))
        }),
    );
    counters(
        &mut reg,
        "rollbacks",
        format!("Deploys of a service that were rolled back, {KEPT}"),
        snap.rollbacks.iter().map(|(u, n, _)| (label(&[("service", u)]), *n)),
    );
    gauges(
        &mut reg,
        "last_rollback_timestamp",
        "When the newest rolled-back deploy of a service ended (Unix time)",
        Some(Unit::Seconds),
        snap.rollbacks
            .iter()
            .filter_map(|(u, _, last)| Some((label(&[("service", u)]), last.as_ref()?.div_euclid(1000)))),
    );
    counters(
        &mut reg,
        "rate_limit_refusals",
        format!("Requests refused with 429 (rate limits) by reason in the event log, {KEPT}"),
        snap.refusals.iter().map(|(r, n)| (label(&[("reason", r)]), *n)),
    );
    let rows = Gauge::<i64>::default();
    rows.set(snap.event_rows);
    reg.register("event_log_rows", "Rows in the event log", rows);
    let size = Gauge::<i64>::default();
    size.set(snap.db_bytes);
    reg.register_with_unit(
        "database_size",
        "Size of the state database's pages (its WAL not included)",
        Unit::Bytes,
        size,
    );
    reg
}

/// A histogram whose buckets were counted by the database.
#[derive(Debug)]
struct Fixed(Durations);

impl prometheus_client::metrics::TypedMetric for Fixed {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for Fixed {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        let d = &self.0;
        // The encoder takes each bucket's own count and adds them up itself.
        let mut below = 0;
        let buckets: Vec<(f64, u64)> = DEPLOY_BUCKETS_SECS
            .iter()
            .zip(&d.cumulative)
            .map(|(b, &c)| {
                let own = (c - below).max(0) as u64;
                below = c;
                (*b, own)
            })
            .collect();
        encoder.encode_histogram::<NoLabelSet>(d.sum_secs, d.count.max(0) as u64, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
