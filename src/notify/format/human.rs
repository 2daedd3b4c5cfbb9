//! The human text of a message: its title and plain-text body, as every chat service
//! shows them and as the Matrix HTML arranges them.

use crate::notify::message::{Event, Message, short_digest};

/// The title and the plain-text body every chat service shows, for `host`.
pub fn text(msg: &Message, host: &str) -> (String, String) {
    let p = parts(msg, host);
    let mut body = p.lines.join("\n");
    if let Some(url) = &msg.url {
        body = format!("{body}\n{url}");
    }
    if !p.log.is_empty() {
        body = format!("{body}\n\nlast log lines:\n{}", p.log.join("\n"));
    }
    (p.title, body.trim_start().to_string())
}

/// What `text` and the Matrix HTML are made of.
pub(super) struct Parts<'a> {
    pub(super) title: String,
    pub(super) lines: Vec<String>,
    pub(super) log: &'a [String],
}

pub(super) fn parts<'a>(msg: &'a Message, host: &str) -> Parts<'a> {
    let suffix = format!(" on {}", msg.host);
    let title = match msg.title.strip_suffix(&suffix) {
        _ if msg.title.is_empty() => format!("{} on {host}", msg.event.as_str().replace('_', " ")),
        Some(what) => format!("{what} on {host}"),
        None => msg.title.clone(),
    };
    let mut lines = Vec::new();
    if msg.event == Event::Test {
        lines.push(format!(
            "This is a test notification from podup on {host}: this sink works."
        ));
    }
    for u in &msg.units {
        let mut line = format!("{}:", u.unit);
        for piece in [u.image.as_deref(), u.from_digest.as_deref().map(short_digest)]
            .into_iter()
            .flatten()
        {
            line = format!("{line} {piece}");
        }
        if let Some(to) = &u.to_digest {
            line = format!("{line} → {}", short_digest(to));
        }
        match &u.message {
            Some(m) => line = format!("{line} ({}: {m})", u.status),
            None => line = format!("{line} ({})", u.status),
        }
        lines.push(line);
    }
    if let Some(t) = &msg.task {
        let mut line = format!("task {} ({}) {}", t.id, t.kind, t.status);
        if let Some(why) = t.message.as_ref().or(t.reason.as_ref()) {
            line = format!("{line}: {why}");
        }
        if let Some(ms) = t.duration_ms {
            line = format!("{line}; took {}", took(ms));
        }
        lines.push(line);
    }
    if let Some(tr) = &msg.trigger {
        let extra: Vec<String> = [("caller", &tr.caller), ("reason", &tr.reason)]
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}: {v}")))
            .collect();
        lines.push(match extra.is_empty() {
            true => format!("trigger: {}", tr.source),
            false => format!("trigger: {} ({})", tr.source, extra.join("; ")),
        });
    }
    if let Some(a) = &msg.auth_failures {
        lines.push(format!(
            "{} requests failed authentication within {} (first at {} UTC, last at {} UTC)",
            a.count,
            took(a.window_secs.saturating_mul(1000).try_into().unwrap_or(i64::MAX)),
            clock(a.first_ms),
            clock(a.last_ms)
        ));
        lines.extend(a.routes.iter().map(|(route, n)| format!("{route}: {n}")));
    }
    Parts {
        title,
        lines,
        log: &msg.log_tail,
    }
}

/// `12.3 s`, `4 min 5 s`, `5 min`, `2 h 3 min`, `2 h`.
pub(super) fn took(ms: i64) -> String {
    let ms = ms.max(0);
    let (big, small) = match ms {
        0..60_000 => return format!("{:.1} s", ms as f64 / 1000.0),
        60_000..3_600_000 => ((ms / 60_000, "min"), (ms % 60_000 / 1000, "s")),
        _ => ((ms / 3_600_000, "h"), (ms % 3_600_000 / 60_000, "min")),
    };
    match small.0 {
        0 => format!("{} {}", big.0, big.1),
        _ => format!("{} {} {} {}", big.0, big.1, small.0, small.1),
    }
}

/// The time of day of `ms` since the epoch, UTC: `13:04:05`.
fn clock(ms: i64) -> String {
    let s = ms.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
}
