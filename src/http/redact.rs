//! What the event log may keep of a request's own text: path segments that look like
//! a credential are hidden, characters that would disguise a row on the panel are
//! percent-encoded, and every field is cut to a bound with a visible mark
//! (docs/security.md, finding 2 and the informational findings). `redact_target`
//! (in `http`) uses these for the request target; the driver for the rest.

/// The mark at the end of a value cut to its bound.
pub const CUT_MARK: char = '…';
/// The longest method kept (the longest registered method, `UPDATEREDIRECTREF`, has 17).
pub const MAX_METHOD_CHARS: usize = 32;
/// The longest client address kept (`[` IPv6 with zone `]:port` fits).
pub const MAX_REMOTE_CHARS: usize = 64;
/// The longest string kept inside `meta` (header values such as a delivery id).
pub const MAX_META_VALUE_CHARS: usize = 256;
/// The longest `meta` kept, as JSON text; beyond it only a note that it was cut.
pub const MAX_META_BYTES: usize = 2048;

/// `s` cut to `max` bytes (at a character boundary), marked when cut.
pub fn bound(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut cut = max;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut out = s[..cut].to_string();
    out.push(CUT_MARK);
    out
}

/// Every string in `meta` cut to `MAX_META_VALUE_CHARS` (and control characters
/// escaped), and the whole replaced by `{"meta_cut": <bytes>}` if it is still longer
/// than `MAX_META_BYTES`.
pub fn bound_meta(meta: serde_json::Value) -> String {
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) => *s = bound(&escape_controls(s), MAX_META_VALUE_CHARS),
            serde_json::Value::Array(a) => a.iter_mut().for_each(walk),
            serde_json::Value::Object(m) => m.values_mut().for_each(walk),
            _ => {}
        }
    }
    let mut meta = meta;
    walk(&mut meta);
    let text = meta.to_string();
    if text.len() <= MAX_META_BYTES {
        return text;
    }
    serde_json::json!({"meta_cut": text.len()}).to_string()
}

/// Characters that reorder or hide text around them: the bidirectional embeddings,
/// overrides and isolates, the implicit marks, and the Arabic letter mark
/// (Unicode's UAX #9, "Explicit Directional Formatting Characters").
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}')
}

/// `s` with control characters (C0, DEL, C1), bidi controls and zero-width
/// characters written as their UTF-8 bytes in `%XX` form, as a URL has them anyway.
/// A `%` the client sent stays as it is, so an escape reads as what was sent.
pub fn escape_controls(s: &str) -> String {
    if !s.chars().any(needs_escape) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if needs_escape(c) {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || is_bidi_control(c)
        // Zero-width space, joiners, word joiner, invisible operators, BOM.
        || matches!(c, '\u{200b}'..='\u{200d}' | '\u{2060}'..='\u{2064}' | '\u{feff}')
}

/// `path` with each segment that looks like a credential replaced by `REDACTED`.
pub fn redact_segments(path: &str) -> String {
    let secret_at = path_secret_index(path);
    if secret_at.is_none() && !path.split('/').any(looks_like_credential) {
        return path.to_string();
    }
    path.split('/')
        .enumerate()
        .map(|(i, seg)| match () {
            _ if Some(i) == secret_at => PATH_SECRET_MARK,
            _ if looks_like_credential(seg) => "REDACTED",
            _ => seg,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// What stands for the secret segment of `/hooks/quay/<secret>` and
/// `/hooks/dockerhub/<secret>`: never stored, whatever it looks like.
pub const PATH_SECRET_MARK: &str = "<redacted>";

/// The index (in `path.split('/')`) of a path secret, whatever its case or slashes
/// around it: the segment after `hooks` and a sender whose URL is its credential.
fn path_secret_index(path: &str) -> Option<usize> {
    let segs: Vec<&str> = path.split('/').collect();
    let hooks = segs.iter().position(|s| !s.is_empty())?;
    let sender = segs.iter().skip(hooks + 1).position(|s| !s.is_empty())? + hooks + 1;
    let url_secret = crate::providers::Sender::ALL
        .into_iter()
        .any(|s| s.url_secret_only() && segs[sender].eq_ignore_ascii_case(s.name()));
    (segs[hooks].eq_ignore_ascii_case("hooks") && url_secret && sender + 1 < segs.len()).then_some(sender + 1)
}

/// podup's own credentials are `podup_` + 64 hex (tokens, `auth::tokens::generate`)
/// and `s_` + 64 hex (session cookies); a CSRF token is 64 hex. Any run of 32 or
/// more hex digits in a segment is taken for one (a digest in a path is never
/// needed to read the log), and so is a long, random-looking segment: 24 or more
/// characters of letters, digits, `_` and `-` with both letters and digits and no
/// `.` (unit names have one).
fn looks_like_credential(seg: &str) -> bool {
    let mut run = 0;
    for b in seg.bytes() {
        run = if b.is_ascii_hexdigit() { run + 1 } else { 0 };
        if run >= 32 {
            return true;
        }
    }
    seg.len() >= 24
        && seg.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && seg.bytes().any(|b| b.is_ascii_digit())
        && seg.bytes().any(|b| b.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_secrets_never_stay() {
        let secret = "my.quay-secret~0";
        for (path, want) in [
            (format!("/hooks/quay/{secret}"), "/hooks/quay/<redacted>".to_string()),
            (
                format!("/hooks/dockerhub/{secret}/app.service"),
                "/hooks/dockerhub/<redacted>/app.service".to_string(),
            ),
            (format!("/hooks/Quay/{secret}/"), "/hooks/Quay/<redacted>/".to_string()),
            (
                format!("//hooks//quay/{secret}"),
                "//hooks//<redacted>/"
                    .to_string()
                    .replace("<redacted>/", "quay/<redacted>"),
            ),
            (
                "/hooks/gitea/app.service".to_string(),
                "/hooks/gitea/app.service".to_string(),
            ),
            ("/hooks/quay".to_string(), "/hooks/quay".to_string()),
        ] {
            assert_eq!(redact_segments(&path), want, "{path}");
        }
    }

    #[test]
    fn values_are_cut_with_a_mark() {
        assert_eq!(bound("GET", MAX_METHOD_CHARS), "GET");
        let long = bound(&"M".repeat(16_000), MAX_METHOD_CHARS);
        assert_eq!(long, format!("{}…", "M".repeat(32)));
        assert_eq!(bound("ééé", 3), "é…", "never inside a character");
    }

    #[test]
    fn meta_is_bounded_value_by_value_and_whole() {
        let m = bound_meta(serde_json::json!({"delivery": "d".repeat(5000), "n": 3}));
        let v: serde_json::Value = serde_json::from_str(&m).unwrap();
        assert_eq!(
            v["delivery"].as_str().unwrap().len(),
            MAX_META_VALUE_CHARS + CUT_MARK.len_utf8()
        );
        assert_eq!(v["n"], 3);
        let many: serde_json::Map<String, serde_json::Value> = (0..100)
            .map(|i| (format!("k{i}"), serde_json::json!("v".repeat(200))))
            .collect();
        let m = bound_meta(serde_json::Value::Object(many));
        assert!(m.len() <= MAX_META_BYTES && m.contains("meta_cut"), "{m}");
    }

    #[test]
    fn controls_and_bidi_characters_are_percent_encoded() {
        assert_eq!(escape_controls("/hooks/github?x=1%20"), "/hooks/github?x=1%20");
        assert_eq!(escape_controls("/a\u{202e}b"), "/a%E2%80%AEb");
        assert_eq!(
            escape_controls("\u{2066}\u{2069}\u{200e}\u{61c}\u{9b}\u{7f}\t\u{200b}"),
            "%E2%81%A6%E2%81%A9%E2%80%8E%D8%9C%C2%9B%7F%09%E2%80%8B"
        );
        assert_eq!(escape_controls("/ünïcode/名前"), "/ünïcode/名前", "letters stay");
    }

    #[test]
    fn credential_segments_are_redacted_and_unit_names_are_not() {
        let token = format!("podup_{}", "0a".repeat(32));
        assert_eq!(
            redact_segments(&format!("/api/v1/tasks/{token}")),
            "/api/v1/tasks/REDACTED"
        );
        assert_eq!(
            redact_segments(&format!("/x/s_{}/y", "ab12".repeat(16))),
            "/x/REDACTED/y"
        );
        assert_eq!(redact_segments("/x/ghp_0123456789abcdefABCDEF"), "/x/REDACTED");
        for kept in [
            "/api/v1/services/my-app-2024.service/update",
            "/api/v1/tasks/123456789",
            "/hooks/github/web-frontend-blue",
            "/",
            "",
        ] {
            assert_eq!(redact_segments(kept), kept);
        }
    }
}
