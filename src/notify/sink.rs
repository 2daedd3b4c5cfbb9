//! A sink: one line of `PODUP_NOTIFY`, a URL saying where notifications go and which
//! ones (docs/notifications.md). The URL is parsed here by hand (scheme, user and
//! password, host as a name, IPv4 or `[IPv6]`, port, path, query with percent-decoding);
//! the credentials it carries stay in private fields, and `display`, `Debug` and every
//! error show them as `***` or not at all. Rendering a message for a sink is `format`'s
//! work, and sending it `send`'s.

mod kinds;
mod url;

use crate::model::{NotifyEvent, Secret};
use std::fmt;
use std::path::PathBuf;
use url::{Authority, Query};

/// What a secret is shown as.
const MASK: &str = "***";
/// Longest `host=` override, in characters.
const MAX_HOST_CHARS: usize = 64;
/// The schemes a line may start with, as an error lists them.
const SCHEMES: &str = "webhook+https://, webhook+http://, exec:, ntfy://, ntfy+http://, slack+https://, \
                       discord+https://, gotify://, gotify+http://, matrix://, matrix+http://";
/// Query parameters every kind takes, and the webhook strips from its target URL.
const COMMON: &[&str] = &["events", "units", "host"];

/// The kind of a sink: the service whose format it speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SinkKind {
    Webhook,
    Exec,
    Ntfy,
    Slack,
    Discord,
    Gotify,
    Matrix,
}

impl SinkKind {
    #[allow(dead_code)]
    pub const ALL: [SinkKind; 7] = [
        SinkKind::Webhook,
        SinkKind::Exec,
        SinkKind::Ntfy,
        SinkKind::Slack,
        SinkKind::Discord,
        SinkKind::Gotify,
        SinkKind::Matrix,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SinkKind::Webhook => "webhook",
            SinkKind::Exec => "exec",
            SinkKind::Ntfy => "ntfy",
            SinkKind::Slack => "slack",
            SinkKind::Discord => "discord",
            SinkKind::Gotify => "gotify",
            SinkKind::Matrix => "matrix",
        }
    }

    /// Query parameters of this kind besides `COMMON`.
    fn own_params(self) -> &'static [&'static str] {
        match self {
            SinkKind::Webhook => &["secret", "insecure"],
            SinkKind::Exec => &["arg"],
            SinkKind::Ntfy => &["token", "insecure"],
            SinkKind::Gotify | SinkKind::Matrix => &["insecure"],
            SinkKind::Slack | SinkKind::Discord => &[],
        }
    }
}

/// One configured sink. `Debug` prints `display` only.
#[derive(Clone)]
pub struct Sink {
    pub kind: SinkKind,
    /// Stable id: the first 16 hex digits of the SHA-256 of the line as written (trimmed).
    pub key: String,
    /// The URL with every secret shown as `***`.
    pub display: String,
    /// The events it takes (`events=`, else `NotifyEvent::DEFAULT`); `Test` passes anyway.
    pub events: Vec<NotifyEvent>,
    /// Globs on unit names (`units=`); empty takes every unit.
    pub units: Vec<String>,
    /// The host name shown instead of the message's (`host=`).
    pub host: Option<String>,
    pub(super) target: Target,
}

/// Where a sink sends, with its credentials. Deliberately not `Debug`.
#[derive(Clone)]
pub(super) enum Target {
    /// The URL to POST to (with the receiver's own query) and the HMAC key.
    Webhook {
        url: String,
        secret: Option<Secret>,
    },
    Exec {
        program: PathBuf,
        args: Vec<String>,
    },
    /// `base` is `https://host[:port][/prefix]`, no trailing slash.
    Ntfy {
        base: String,
        topic: String,
        auth: Option<Auth>,
    },
    /// The incoming-webhook URL itself, which is the credential.
    Slack {
        url: String,
    },
    Discord {
        url: String,
    },
    Gotify {
        base: String,
        token: Secret,
    },
    /// `room` decoded (`!id:server`).
    Matrix {
        base: String,
        room: String,
        token: Secret,
    },
}

#[derive(Clone)]
pub(super) enum Auth {
    Bearer(Secret),
    Basic { user: String, password: Secret },
}

impl fmt::Debug for Sink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Sink").field(&self.display).finish()
    }
}

impl Sink {
    /// Whether this sink takes a message about `event` for `units`: `Test` always; else
    /// the event must be one of `events`, and when both the sink names globs and the
    /// message names units, one unit must match one glob.
    pub fn takes(&self, event: NotifyEvent, units: &[&str]) -> bool {
        if event == NotifyEvent::Test {
            return true;
        }
        self.events.contains(&event)
            && (self.units.is_empty()
                || units.is_empty()
                || units.iter().any(|u| self.units.iter().any(|g| glob(g, u))))
    }
}

/// Why a line is not a sink. The message never repeats the line's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkError {
    kind: &'static str,
    message: String,
}

impl SinkError {
    /// Stable tag: `sink_syntax`, `sink_scheme`, `sink_parameter` or `sink_insecure`.
    #[allow(dead_code)]
    pub fn kind(&self) -> &'static str {
        self.kind
    }
}

impl fmt::Display for SinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SinkError {}

fn syntax(message: impl Into<String>) -> SinkError {
    SinkError {
        kind: "sink_syntax",
        message: message.into(),
    }
}

fn param_err(message: impl Into<String>) -> SinkError {
    SinkError {
        kind: "sink_parameter",
        message: message.into(),
    }
}

/// Every sink of `text`, one per line; blank lines and `#` comments are skipped. An
/// error carries its 1-based line number.
pub fn parse_list(text: &str) -> Result<Vec<Sink>, (usize, SinkError)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|(i, l)| parse(l).map_err(|e| (i + 1, e)))
        .collect()
}

/// One sink from its URL.
pub fn parse(line: &str) -> Result<Sink, SinkError> {
    let line = line.trim();
    if let Some(at) = line.find(|c: char| !c.is_ascii_graphic()) {
        return Err(syntax(format!(
            "character {} is whitespace, a control character or not ASCII; percent-encode it",
            line[..at].chars().count() + 1
        )));
    }
    if line.contains('#') {
        return Err(syntax("'#' is not allowed; percent-encode it as %23"));
    }
    let key = crate::hex::sha256_hex(line.as_bytes())[..16].to_string();
    let (kind, plain, rest) = scheme(line)?;
    let (main, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut q = Query::parse(query)?;
    let events = match q.one("events")? {
        None => NotifyEvent::DEFAULT.to_vec(),
        Some(v) => events(&v)?,
    };
    let units = match q.one("units")? {
        None => Vec::new(),
        Some(v) => globs(&v)?,
    };
    let host = q.one("host")?.map(|h| host_override(&h)).transpose()?;
    let insecure = match kind.own_params().contains(&"insecure") {
        true => q.one("insecure")?.map(|v| yes(&v)).transpose()?.is_some(),
        false => false,
    };
    let name = kind.as_str();
    let scheme = if plain { "http" } else { "https" };
    let remote = || {
        let a = Authority::parse(main, name)?;
        match plain && !a.loopback && !insecure {
            true => Err(SinkError {
                kind: "sink_insecure",
                message: format!(
                    "{name}: plain http is accepted only for loopback hosts (127.0.0.0/8, ::1, \
                     localhost); use https, or add insecure=yes to send in the clear anyway"
                ),
            }),
            false => Ok(a),
        }
    };
    let (target, shown) = match kind {
        SinkKind::Exec => kinds::exec(main, &mut q)?,
        SinkKind::Webhook => kinds::webhook(&remote()?, scheme, &mut q)?,
        SinkKind::Ntfy => kinds::ntfy(&remote()?, scheme, &mut q)?,
        SinkKind::Slack | SinkKind::Discord => kinds::chat(kind, &remote()?, scheme)?,
        SinkKind::Gotify => kinds::gotify(&remote()?, scheme)?,
        SinkKind::Matrix => kinds::matrix(&remote()?, scheme)?,
    };
    if kind != SinkKind::Webhook {
        if let Some(extra) = q.items.iter().find(|i| !i.used) {
            // A name is echoed only when it looks like one: a mangled query can put a
            // credential where a name belongs.
            let plain = extra.name.len() <= 32
                && extra
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-".contains(&b));
            let shown = if plain {
                format!(" '{}'", extra.name)
            } else {
                String::new()
            };
            return Err(param_err(format!(
                "{name} sinks take no parameter{shown} (they take {})",
                [COMMON, kind.own_params()].concat().join(", ")
            )));
        }
    }
    let query_shown = q.shown(kind);
    Ok(Sink {
        kind,
        key,
        display: if query_shown.is_empty() {
            shown
        } else {
            format!("{shown}?{query_shown}")
        },
        events,
        units,
        host,
        target,
    })
}

/// The kind, whether it is a plain-http form, and the text after `scheme://` (or `exec:`).
fn scheme(line: &str) -> Result<(SinkKind, bool, &str), SinkError> {
    if let Some(rest) = line.strip_prefix("exec:") {
        return Ok((SinkKind::Exec, false, rest));
    }
    let Some((scheme, rest)) = line.split_once("://") else {
        return Err(SinkError {
            kind: "sink_scheme",
            message: format!("no scheme; a sink starts with one of {SCHEMES}"),
        });
    };
    let (kind, plain) = match scheme.to_ascii_lowercase().as_str() {
        "webhook+https" => (SinkKind::Webhook, false),
        "webhook+http" => (SinkKind::Webhook, true),
        "ntfy" => (SinkKind::Ntfy, false),
        "ntfy+http" => (SinkKind::Ntfy, true),
        "slack+https" => (SinkKind::Slack, false),
        "discord+https" => (SinkKind::Discord, false),
        "gotify" => (SinkKind::Gotify, false),
        "gotify+http" => (SinkKind::Gotify, true),
        "matrix" => (SinkKind::Matrix, false),
        "matrix+http" => (SinkKind::Matrix, true),
        other => {
            let named =
                match other.len() <= 24 && other.bytes().all(|b| b.is_ascii_alphanumeric() || b"+.-".contains(&b)) {
                    true => format!(" '{other}'"),
                    false => String::new(),
                };
            return Err(SinkError {
                kind: "sink_scheme",
                message: format!("unknown scheme{named}; a sink starts with one of {SCHEMES}"),
            });
        }
    };
    Ok((kind, plain, rest))
}

fn events(v: &str) -> Result<Vec<NotifyEvent>, SinkError> {
    let mut out = Vec::new();
    for name in v.split(',') {
        let e = NotifyEvent::parse(name).ok_or_else(|| {
            let all: Vec<&str> = NotifyEvent::ALL.iter().map(|e| e.as_str()).collect();
            // Echoed only when it looks like a name (a mangled line can put a credential here).
            let plain = name.len() <= 32 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            let shown = if plain { format!(" '{name}'") } else { String::new() };
            param_err(format!(
                "events: unknown event{shown}; expected some of {}",
                all.join(", ")
            ))
        })?;
        if !out.contains(&e) {
            out.push(e);
        }
    }
    Ok(out)
}

fn globs(v: &str) -> Result<Vec<String>, SinkError> {
    v.split(',')
        .map(|g| {
            match !g.is_empty()
                && g.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b":_.@\\-*?".contains(&b))
            {
                true => Ok(g.to_string()),
                false => Err(param_err(
                    "units: a glob is empty or holds a character no unit name has (they are letters, digits and : _ . @ \\ - with * and ?)",
                )),
            }
        })
        .collect()
}

fn host_override(h: &str) -> Result<String, SinkError> {
    match !h.is_empty() && h.chars().count() <= MAX_HOST_CHARS {
        true => Ok(h.to_string()),
        false => Err(param_err(format!("host: expected 1 to {MAX_HOST_CHARS} characters"))),
    }
}

fn yes(v: &str) -> Result<(), SinkError> {
    match v {
        "yes" => Ok(()),
        _ => Err(param_err("insecure: the only value is 'yes'")),
    }
}

/// `*` matches any run of characters, `?` exactly one.
fn glob(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            (pi, ni) = (pi + 1, ni + 1);
        } else if pi < p.len() && p[pi] == '*' {
            (star, mark, pi) = (Some(pi), ni, pi + 1);
        } else if let Some(s) = star {
            (pi, mark) = (s + 1, mark + 1);
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
#[path = "sink_tests.rs"]
mod tests;
