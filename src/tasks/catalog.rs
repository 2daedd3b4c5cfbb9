//! The services podup may touch, as `GET /api/v1/services` answers them and
//! `podup services` prints them: one builder for both (docs/api.md).

use crate::model::TaskKind;
use crate::store::tasks::{self, ListFilter};
use crate::tasks::dispatch::Dispatcher;
use rusqlite::Connection;
use serde_json::{Value, json};

/// `{"services": [...], "counts", "updates", "auto_discover"}`: each service (declared,
/// then discovered when discovery is on) with its image, running digest, last task,
/// update verdict, the tasks waiting for it and its policy, at `now_ms`.
pub fn services(d: &Dispatcher<'_>, conn: &Connection, now_ms: i64) -> rusqlite::Result<Value> {
    let config = d.config;
    let resolved = d.resolve(Some(conn), None).unwrap_or_default();
    let verdicts = crate::tasks::check::view::verdicts(conn)?;
    let mut list = Vec::new();
    for r in resolved {
        let last = tasks::list(
            conn,
            &ListFilter {
                unit: Some(r.unit.clone()),
                // A check changes nothing: the last task is the last that could have.
                kinds: Some(TaskKind::ALL.into_iter().filter(|k| *k != TaskKind::Check).collect()),
                limit: 1,
                ..Default::default()
            },
        )
        .ok()
        .and_then(|mut l| l.pop());
        let running_digest = crate::store::stats::last_known_digest(conn, &r.unit).ok().flatten();
        let verdict = verdicts.iter().find(|v| v.unit == r.unit);
        let update = crate::tasks::check::view::update_json(verdict, running_digest.as_deref());
        let waiting = crate::tasks::approval::waiting_json(conn, &r.unit)?;
        // A few small files per service: cheap enough for every request (docs/policy.md).
        let mut policy = serde_json::to_value(crate::policy::effective(Some(conn), config, &r.unit, now_ms))
            .expect("a policy serializes");
        if let Some(o) = policy.as_object_mut() {
            o.remove("unit");
        }
        list.push(json!({
            "unit": r.unit,
            "running_digest": running_digest,
            "image": r.image.map(|i| i.to_string()),
            "image_source": r.image_source,
            "source": r.source,
            "scope": config.scope(),
            "last_task": last.map(|t| json!({"id": t.id, "kind": t.kind, "status": t.status, "created_ms": t.created_ms})),
            "update": update,
            "waiting": waiting,
            "policy": policy,
        }));
    }
    let count = |src: &str| list.iter().filter(|s| s["source"] == src).count();
    let counts = json!({"declared": count("declared"), "discovered": count("discovered")});
    let updates = |status: &str| list.iter().filter(|s| s["update"]["status"] == status).count();
    let summary = json!({
        "available": updates("available"),
        "up_to_date": updates("up_to_date"),
        "unknown": updates("unknown"),
        "waiting": list.iter().map(|s| s["waiting"].as_array().map_or(0, Vec::len)).sum::<usize>(),
        "last_check": crate::tasks::check::view::last_check(conn)?,
    });
    Ok(json!({"services": list, "counts": counts, "updates": summary, "auto_discover": config.auto_discover}))
}
