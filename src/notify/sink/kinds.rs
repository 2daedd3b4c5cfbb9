//! What each scheme's URL must hold, and the target and the display it makes: the
//! credentials go into the target, `***` into the display.

use super::url::{Authority, Query, decode, url_byte};
use super::{Auth, MASK, SinkError, SinkKind, Target, param_err, syntax};
use crate::model::Secret;
use std::path::PathBuf;

pub(super) fn exec(main: &str, q: &mut Query) -> Result<(Target, String), SinkError> {
    if !main.starts_with('/') || main.starts_with("//") {
        return Err(syntax(
            "exec: the program must be an absolute path, as in exec:/usr/bin/apprise",
        ));
    }
    // A path holding '@' or "://" is a URL with its credentials written where the
    // program belongs (exec:/usr/bin/apprise/mailto://user:pass@...): refused, and
    // never shown.
    if main.contains('@') || main.contains("://") {
        return Err(syntax(
            "exec: the program's path holds '@' or '://'; give the program alone and its arguments as arg=... (exec:/usr/bin/apprise?arg=...)",
        ));
    }
    let program = PathBuf::from(decode(main, "the program's path")?);
    if program.to_string_lossy().contains('@') || program.to_string_lossy().contains("://") {
        return Err(syntax("exec: the program's path holds '@' or '://'"));
    }
    let args = q.all("arg");
    Ok((Target::Exec { program, args }, format!("exec:{main}")))
}

pub(super) fn webhook(a: &Authority, scheme: &str, q: &mut Query) -> Result<(Target, String), SinkError> {
    if a.user.is_some() {
        return Err(syntax(
            "webhook: credentials in the URL are not supported; use secret= to sign the body",
        ));
    }
    let secret = match q.one("secret")? {
        Some(s) if s.is_empty() => return Err(param_err("webhook: secret= is empty")),
        s => s.map(Secret),
    };
    let path = if a.path.is_empty() { "/" } else { a.path };
    let theirs: Vec<&str> = q.items.iter().filter(|i| !i.used).map(|i| i.raw.as_str()).collect();
    if !theirs
        .iter()
        .all(|p| p.bytes().all(|b| url_byte(b) || b"/?".contains(&b)))
    {
        return Err(syntax(
            "webhook: the query has a character a URL cannot carry; percent-encode it",
        ));
    }
    let mut url = format!("{scheme}://{}{path}", a.hostport());
    if !theirs.is_empty() {
        url = format!("{url}?{}", theirs.join("&"));
    }
    // Receivers often put their secret in the path (Home Assistant's webhook id): the
    // path is shown as `/***`.
    let shown_path = if path.is_empty() || path == "/" {
        path.to_string()
    } else {
        format!("/{MASK}")
    };
    let shown = format!("webhook+{scheme}://{}{shown_path}", a.hostport());
    Ok((Target::Webhook { url, secret }, shown))
}

pub(super) fn ntfy(a: &Authority, scheme: &str, q: &mut Query) -> Result<(Target, String), SinkError> {
    let (prefix, topic) = a.path.rsplit_once('/').unwrap_or(("", ""));
    let topic = decode(topic, "the topic")?;
    if topic.is_empty() || topic.len() > 64 || !topic.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b)) {
        return Err(syntax(
            "ntfy: the path must end in a topic of 1 to 64 letters, digits, '-' or '_'",
        ));
    }
    let token = q.one("token")?;
    let auth = match (&a.user, &a.password, token) {
        (Some(_), _, Some(_)) => return Err(param_err("ntfy: give either user:password@ or token=, not both")),
        (None, _, Some(t)) if t.is_empty() => return Err(param_err("ntfy: token= is empty")),
        (None, _, Some(t)) => Some(Auth::Bearer(Secret(t))),
        (Some(user), Some(password), None) if !password.is_empty() => Some(Auth::Basic {
            user: user.clone(),
            password: Secret(password.clone()),
        }),
        (Some(_), _, None) => return Err(syntax("ntfy: a user needs a password (user:password@host)")),
        (None, _, None) => None,
    };
    let base = format!("{scheme}://{}{prefix}", a.hostport());
    let scheme_shown = if scheme == "http" { "ntfy+http" } else { "ntfy" };
    // Without credentials the topic is the secret (anyone who knows it reads it).
    let shown_path = if auth.is_some() {
        a.path.to_string()
    } else {
        format!("{prefix}/{MASK}")
    };
    let shown = format!("{scheme_shown}://{}{}{shown_path}", a.userinfo_shown(), a.hostport());
    Ok((Target::Ntfy { base, topic, auth }, shown))
}

/// Slack (and Mattermost, Rocket.Chat) or Discord: the URL is the credential.
pub(super) fn chat(kind: SinkKind, a: &Authority, scheme: &str) -> Result<(Target, String), SinkError> {
    let name = kind.as_str();
    if a.user.is_some() {
        return Err(syntax(format!("{name}: credentials in the URL are not supported")));
    }
    let segments: Vec<&str> = a.path.split('/').skip(1).collect();
    let url = format!("{scheme}://{}{}", a.hostport(), a.path);
    let target = if kind == SinkKind::Slack {
        if segments.iter().all(|s| s.is_empty()) {
            return Err(syntax(
                "slack: the webhook URL needs its path, as in slack+https://hooks.slack.com/services/...",
            ));
        }
        Target::Slack { url }
    } else {
        let tail = match segments.as_slice() {
            ["api", "webhooks", tail @ ..] => tail,
            ["api", version, "webhooks", tail @ ..] if version.starts_with('v') => tail,
            _ => &[][..],
        };
        let [id, token] = tail else {
            return Err(syntax("discord: the path must be /api/webhooks/<id>/<token>"));
        };
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) || token.is_empty() {
            return Err(syntax("discord: the path must be /api/webhooks/<id>/<token>"));
        }
        Target::Discord { url }
    };
    Ok((target, format!("{name}+{scheme}://{}/{MASK}", a.hostport())))
}

pub(super) fn gotify(a: &Authority, scheme: &str) -> Result<(Target, String), SinkError> {
    if a.user.is_some() {
        return Err(syntax(
            "gotify: credentials in the URL are not supported; the app token is the path's last part",
        ));
    }
    let (prefix, token) = a.path.rsplit_once('/').unwrap_or(("", ""));
    let token = decode(token, "the app token")?;
    if token.is_empty() {
        return Err(syntax(
            "gotify: the path must end in the application token: gotify://host/<apptoken>",
        ));
    }
    let base = format!("{scheme}://{}{prefix}", a.hostport());
    let scheme_shown = if scheme == "http" { "gotify+http" } else { "gotify" };
    let shown = format!("{scheme_shown}://{}{prefix}/{MASK}", a.hostport());
    Ok((
        Target::Gotify {
            base,
            token: Secret(token),
        },
        shown,
    ))
}

pub(super) fn matrix(a: &Authority, scheme: &str) -> Result<(Target, String), SinkError> {
    let token = a.password.clone().filter(|p| !p.is_empty()).ok_or_else(|| {
        syntax("matrix: the access token goes in the password's place: matrix://user:token@homeserver/!room:server")
    })?;
    let room = decode(a.path.strip_prefix('/').unwrap_or(""), "the room id")?;
    let well_formed = room
        .strip_prefix('!')
        .and_then(|r| r.split_once(':'))
        .is_some_and(|(id, server)| !id.is_empty() && !server.is_empty() && !id.contains('/') && !server.contains('/'));
    if !well_formed {
        return Err(syntax(
            "matrix: the path must be a room id such as /!abc123:example.org",
        ));
    }
    let base = format!("{scheme}://{}", a.hostport());
    let scheme_shown = if scheme == "http" { "matrix+http" } else { "matrix" };
    let shown = format!("{scheme_shown}://{}{}{}", a.userinfo_shown(), a.hostport(), a.path);
    Ok((
        Target::Matrix {
            base,
            room,
            token: Secret(token),
        },
        shown,
    ))
}
