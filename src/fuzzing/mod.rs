//! Entry points for the fuzz targets in `fuzz/` (`make fuzz`, `docs/fuzzing.md`). Each takes
//! the fuzzer's raw bytes, drives one parser the way podup's own callers do, and panics only
//! when the parser panics or breaks one of the properties checked here. Inputs are text with
//! a few control lines in front, so that the seeds in `fuzz/seeds/` stay readable. Nothing in
//! podup calls these; they are public only for the fuzz crate.

mod policy;
mod sink;

pub use policy::policy_values;
pub use sink::sink_line;

/// What registries, token services and podman's registry files say: the update check's
/// parsers (`registry::fuzz::answers` says what is checked). The input is text.
pub fn registry_answer(data: &[u8]) {
    crate::registry::fuzz::answers(&String::from_utf8_lossy(data));
}

use crate::config::DEFAULT_MAX_BODY_BYTES;
use crate::host::auto_update::{UpdateStatus, parse_auto_update};
use crate::host::podman::{parse_container_inspect, parse_ps, parse_pull};
use crate::host::unit_file::{UnitFile, parse_unit};
use crate::http::Request;
use crate::http::framing::{FrameError, Framer, MAX_HEAD_BYTES, MAX_HEADERS, Progress};
use crate::model::Secret;
use crate::providers::github::{self, SignatureError, Verdict};
use crate::providers::{self, ImageEvent, Sender, reference};

/// The secret every `github_payload` input is checked against, besides its own.
const FIXED_SECRET: &str = "It's a Secret to Everybody";
/// A loose bound on an `Ignored` detail: about 100 characters of payload text plus the words
/// around them.
const MAX_DETAIL_CHARS: usize = 160;

/// HTTP request framing. The first line is `MAX_BODY [CUT...]`: the body limit and the byte
/// offsets (into the rest) at which the request is split into the pieces `feed` gets, as
/// reads from a socket would split it. The rest is the request.
///
/// Checks: the pieces give the same outcome as the same bytes in one piece; a framer that
/// waits for more holds at most the head limit before the head and the body limit after it;
/// it never waits while httparse already sees a complete head; a framed request keeps the
/// limits, and the bytes after it (the next request on a kept connection) are the same
/// however the reads were split, and are the end of what was fed.
pub fn http_framing(data: &[u8]) {
    let (control, request) = split_line(data);
    let mut numbers = control.split(|&b| b == b' ').filter_map(number);
    let max_body = numbers.next().unwrap_or(DEFAULT_MAX_BODY_BYTES);
    let mut cuts: Vec<usize> = numbers
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX).min(request.len()))
        .collect();
    cuts.push(request.len());
    cuts.sort_unstable();
    cuts.dedup();

    let mut framer = Framer::new(max_body);
    let (mut fed, mut outcome) = (0, None);
    for &cut in &cuts {
        let piece = &request[fed..cut];
        if piece.is_empty() {
            continue; // a read of 0 bytes is the end of the connection, not a piece
        }
        fed = cut;
        match framer.feed(piece) {
            Ok(Progress::NeedMore) => {
                framer.take_continue();
            }
            done_or_failed => {
                outcome = Some(done_or_failed);
                break;
            }
        }
    }
    let mut one = Framer::new(max_body);
    let whole = if fed == 0 {
        None
    } else {
        match one.feed(&request[..fed]) {
            Ok(Progress::NeedMore) => None,
            other => Some(other),
        }
    };
    match (&outcome, &whole) {
        (None, None) => waiting_within_limits(&framer, &request[..fed], max_body),
        (Some(Ok(Progress::Done(a))), Some(Ok(Progress::Done(b)))) => {
            assert_eq!(a, b, "pieces {cuts:?} frame another request than one piece");
            framed_within_limits(a, max_body);
            let next = framer.take_leftover();
            assert_eq!(
                next,
                one.take_leftover(),
                "pieces {cuts:?} leave other bytes after the request"
            );
            assert!(
                request[..fed].ends_with(&next),
                "the bytes after the request are not the last ones fed"
            );
        }
        (Some(Err(a)), Some(Err(b))) => {
            assert_eq!(a, b, "pieces {cuts:?} fail otherwise than one piece");
            described(a);
        }
        _ => panic!("pieces {cuts:?} give {outcome:?}, one piece gives {whole:?}"),
    }
}

fn waiting_within_limits(framer: &Framer, fed: &[u8], max_body: u64) {
    if framer.head().is_some() {
        assert!(
            framer.received() as u64 <= max_body,
            "waits holding more than the body limit"
        );
        return;
    }
    assert!(
        framer.received() <= MAX_HEAD_BYTES,
        "waits holding more than the head limit"
    );
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    if let Ok(httparse::Status::Complete(n)) = httparse::Request::new(&mut headers).parse(fed) {
        panic!("waits for more although the first {n} bytes are a complete head");
    }
}

fn framed_within_limits(request: &Request, max_body: u64) {
    assert!(
        request.body.len() as u64 <= max_body,
        "a body above the limit was framed"
    );
    assert!(request.headers.len() <= MAX_HEADERS);
    assert!(
        request
            .headers
            .iter()
            .all(|(name, _)| name.bytes().all(|b| !b.is_ascii_uppercase()))
    );
    if let Some(length) = request.header("content-length") {
        assert_eq!(length.parse::<usize>().ok(), Some(request.body.len()));
    }
}

fn described(error: &FrameError) {
    assert!(matches!(error.status(), 400 | 408 | 413 | 431 | 501));
    assert!(!error.code().is_empty() && !error.message().is_empty());
}

/// GitHub deliveries. Four lines, `X-GitHub-Event`, `Content-Type`, `X-Hub-Signature-256` and
/// a second hook secret (an empty line is an absent header), then the body.
///
/// Checks: `classify` answers every body; an image event is a valid OCI reference (it ends up
/// in podman's argv); ignored details stay short. `verify_signature` accepts a header only
/// when it is the HMAC of the body under one of the secrets, accepts the true one in either
/// case, and refuses it with one digit changed.
pub fn github_payload(data: &[u8]) {
    let (event, rest) = split_line(data);
    let (content_type, rest) = split_line(rest);
    let (signature, rest) = split_line(rest);
    let (secret, body) = split_line(rest);
    let header = |line: &[u8]| Some(String::from_utf8_lossy(line).into_owned()).filter(|s| !s.is_empty());
    let (event, content_type, signature) = (header(event), header(content_type), header(signature));

    match github::classify(event.as_deref(), content_type.as_deref(), body) {
        Ok(verdict) => well_judged(&verdict),
        Err(e) => assert!(!e.to_string().is_empty() && e.kind() == "invalid_payload"),
    }

    let secrets = [
        Secret(FIXED_SECRET.to_string()),
        Secret(String::from_utf8_lossy(secret).into_owned()),
    ];
    let expected: Vec<String> = secrets
        .iter()
        .map(|s| github::sign(s, body).trim_start_matches("sha256=").to_string())
        .collect();
    match github::verify_signature(&secrets, body, signature.as_deref()) {
        Ok(i) => {
            let given = signature.as_deref().unwrap_or_default().trim();
            assert_eq!(given.get(7..).map(str::to_ascii_lowercase).as_ref(), Some(&expected[i]));
        }
        Err(e) => assert!(!e.kind().is_empty() && !e.to_string().is_empty()),
    }
    assert_eq!(github::verify_signature(&[], body, signature.as_deref()).ok(), None);
    for (i, hex) in expected.iter().enumerate() {
        let first = expected.iter().position(|h| h == hex);
        for good in [
            format!("sha256={hex}"),
            format!(" sha256={} ", hex.to_ascii_uppercase()),
        ] {
            assert_eq!(github::verify_signature(&secrets, body, Some(&good)).ok(), first);
        }
        let flipped = if hex.starts_with('0') { "1" } else { "0" };
        let bad = format!("sha256={flipped}{}", &hex[1..]);
        if !expected.contains(&bad[7..].to_string()) {
            let refused = github::verify_signature(&secrets[..=i], body, Some(&bad));
            assert_eq!(refused, Err(SignatureError::Mismatch));
        }
    }
}

/// Deliveries of every sender, read as a verified delivery on `/hooks/<sender>` is
/// (`providers::read`). Line 1 names the sender (`github`, `gitea`, `forgejo`, `harbor`,
/// `registry`, `acr`, `jfrog`, `quay`, `dockerhub`; any other name ends the run), then
/// header lines `Name: value` up to an empty line, then the body.
///
/// Checks: every body is read (`Err` only for one that is not a JSON object); each item
/// is an image event with a valid OCI reference and a valid digest or none, or an
/// `Ignored` with a snake_case reason and a short detail; the same input reads the
/// same twice.
pub fn sender_payload(data: &[u8]) {
    let (name, mut rest) = split_line(data);
    let name = String::from_utf8_lossy(name);
    let Some(sender) = Sender::ALL.into_iter().find(|s| s.name() == name.trim()) else {
        return;
    };
    let mut headers = Vec::new();
    loop {
        let (line, after) = split_line(rest);
        rest = after;
        let line = String::from_utf8_lossy(line);
        if line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let body = rest;
    let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());

    let read = providers::read(sender, &header, body);
    match &read {
        Ok(delivery) => delivery.items.iter().for_each(|item| well_judged(&item.verdict)),
        Err(e) => assert!(!e.to_string().is_empty() && e.kind() == "invalid_payload"),
    }
    assert_eq!(read, providers::read(sender, &header, body), "a second read differs");
}

/// What a parser may answer: an image podman can pull, a ping, or a reason to ignore
/// the event that the event log can store as is.
fn well_judged(verdict: &Verdict) {
    match verdict {
        Verdict::Image(image) => valid_reference(image),
        Verdict::Ignored { reason, detail } => {
            assert!(
                !reason.is_empty() && reason.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "reason not snake_case: {reason:?}"
            );
            assert!(
                detail.chars().count() <= MAX_DETAIL_CHARS,
                "detail too long: {detail:?}"
            );
        }
        Verdict::Ping { .. } => {}
    }
}

fn valid_reference(image: &ImageEvent) {
    assert_eq!(
        reference::normalize_host(&image.registry).as_ref(),
        Some(&image.registry)
    );
    let path = image.repository.strip_prefix(&format!("{}/", image.registry));
    assert!(path.and_then(reference::normalize_path).as_deref() == path, "{image:?}");
    assert!(image.repository.len() <= reference::MAX_NAME_CHARS, "{image:?}");
    assert!(reference::is_valid_tag(&image.tag), "{image:?}");
    assert!(
        image.digest.as_deref().is_none_or(reference::is_valid_digest),
        "{image:?}"
    );
}

/// podman's output, given to every podman parser: `auto-update --format json`, `ps --format
/// json`, `inspect --type container` and `pull -q`.
///
/// Checks: none panics; an update status reads back as itself; a pulled id is 64 hex digits.
pub fn podman_json(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(rows) = parse_auto_update(&text) {
        for row in rows {
            assert_eq!(UpdateStatus::from_podman(row.updated.as_podman_str()), row.updated);
        }
    }
    let _ = parse_ps(&text);
    let _ = parse_container_inspect(&text);
    if let Ok(id) = parse_pull(&text) {
        assert!(id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}

/// Quadlet files and drop-ins. The text up to the first NUL is the file, the rest a drop-in.
///
/// Checks: sections are unique and names, keys and values trimmed; `get` is the last of
/// `get_all`; merging the drop-in keeps the file's values for keys it does not set, replaces
/// them after an empty assignment, and appends to them otherwise.
pub fn quadlet(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (file, dropin) = text.split_once('\0').unwrap_or((&text, ""));
    let (unit, dropin) = (parse_unit(file), parse_unit(dropin));
    well_formed(&unit);
    well_formed(&dropin);
    let mut merged = unit.clone();
    merged.merge(dropin.clone());
    well_formed(&merged);
    for section in unit.sections.iter().chain(&dropin.sections) {
        for (key, _) in &section.entries {
            let (s, k) = (section.name.as_str(), key.as_str());
            let set: Vec<&String> = dropin_values(&dropin, s, k);
            let expected: Vec<&str> = if set.is_empty() {
                unit.get_all(s, k)
            } else if set.iter().any(|v| v.is_empty()) {
                dropin.get_all(s, k)
            } else {
                unit.get_all(s, k).into_iter().chain(dropin.get_all(s, k)).collect()
            };
            assert_eq!(merged.get_all(s, k), expected, "[{s}] {k}");
        }
    }
}

fn dropin_values<'a>(dropin: &'a UnitFile, section: &str, key: &str) -> Vec<&'a String> {
    let entries = dropin.sections.iter().filter(|s| s.name == section);
    entries
        .flat_map(|s| &s.entries)
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v)
        .collect()
}

fn well_formed(unit: &UnitFile) {
    for (i, section) in unit.sections.iter().enumerate() {
        assert!(
            unit.sections[..i].iter().all(|s| s.name != section.name),
            "[{}] twice",
            section.name
        );
        assert_eq!(section.name.trim(), section.name);
        for (key, value) in &section.entries {
            assert!(key.trim() == key && !key.contains('=') && value.trim() == value);
            let all = unit.get_all(&section.name, key);
            assert!(all.iter().all(|v| !v.is_empty()));
            assert_eq!(unit.get(&section.name, key), all.last().copied());
        }
    }
}

/// The first line of `data` (without its `\n`) and the rest; all of it when there is no `\n`.
fn split_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(end) => (&data[..end], &data[end + 1..]),
        None => (data, &[]),
    }
}

fn number(token: &[u8]) -> Option<u64> {
    std::str::from_utf8(token).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests;
