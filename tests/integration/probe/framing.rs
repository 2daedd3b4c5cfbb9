//! See probe/mod.rs. The lenient framing findings: bare LF, junk in a chunk size,
//! chunked on HTTP/1.0, two Host headers, and (red-team finding 6) bare CR, chunk
//! extensions and trailers. Each lenient form is refused with a 400 and its own code.

use crate::support::*;
use std::time::Duration;

fn refused(name: &str, raw: &[u8]) -> serde_json::Value {
    let (_fakes, podup) = setup(name, &[]);
    let server = podup.serve(&[]);
    let r = exchange_within(server.addr, raw, Duration::from_secs(10));
    assert_eq!(r.status, 400, "{}", r.body);
    r.json()
}

#[test]
fn a_request_with_bare_lf_line_endings_is_refused() {
    let j = refused("probe-bare-lf", b"GET /health HTTP/1.1\nHost: t\n\n");
    assert_eq!(j["error"], "bare_lf", "{j}");
}

#[test]
fn a_chunk_size_with_spaces_in_it_is_refused() {
    let raw = b"POST /hooks/github HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2 \r\n{}\r\n0\r\n\r\n";
    let j = refused("probe-chunk-space", raw);
    assert_eq!(j["error"], "invalid_chunk_size", "{j}");
}

#[test]
fn chunked_on_http_1_0_is_refused() {
    let raw = b"POST /hooks/github HTTP/1.0\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n";
    let j = refused("probe-chunked-1-0", raw);
    assert_eq!(j["error"], "chunked_on_http_1_0", "{j}");
}

#[test]
fn a_request_with_two_host_headers_is_refused() {
    let j = refused(
        "probe-two-hosts",
        b"GET /health HTTP/1.1\r\nHost: podup.example\r\nHost: evil.example\r\n\r\n",
    );
    assert_eq!(j["error"], "duplicate_host", "{j}");
}

/// A chunked delivery to `/hooks/github` whose chunk lines are `chunks` (the body `{}`).
fn chunked_hook(chunks: &[u8]) -> Vec<u8> {
    let head = b"POST /hooks/github HTTP/1.1\r\nHost: t\r\nX-GitHub-Event: ping\r\nTransfer-Encoding: chunked\r\n\r\n";
    [&head[..], chunks].concat()
}

#[test]
fn a_bare_cr_inside_a_chunk_line_is_refused() {
    let j = refused("probe-bare-cr", &chunked_hook(b"2;a\rb\r\n{}\r\n0\r\n\r\n"));
    assert_eq!(j["error"], "bare_cr", "{j}");
}

#[test]
fn control_bytes_in_a_chunk_extension_are_refused() {
    let j = refused("probe-chunk-ext", &chunked_hook(b"2;a\x01b\r\n{}\r\n0\r\n\r\n"));
    assert_eq!(j["error"], "invalid_chunk_extension", "{j}");
}

#[test]
fn a_request_line_smuggled_into_the_trailers_is_refused() {
    let j = refused(
        "probe-trailer-smuggle",
        &chunked_hook(b"2\r\n{}\r\n0\r\nGET /smuggled HTTP/1.1\r\n\r\n"),
    );
    assert_eq!(j["error"], "invalid_trailer", "{j}");
}

#[test]
fn well_formed_chunk_extensions_and_trailers_change_nothing() {
    let (_fakes, podup) = setup("probe-trailer-ok", &[]);
    let server = podup.serve(&[]);
    let plain = exchange_within(server.addr, &chunked_hook(b"2\r\n{}\r\n0\r\n\r\n"), GITHUB_TIMEOUT);
    let dressed = exchange_within(
        server.addr,
        &chunked_hook(b"2;name=\"a \\\" b\";flag\r\n{}\r\n0\r\nX-Checksum: abc\r\n\r\n"),
        GITHUB_TIMEOUT,
    );
    assert_ne!(plain.status, 400, "{}", plain.body);
    assert_eq!(
        (dressed.status, dressed.json()["error"].clone()),
        (plain.status, plain.json()["error"].clone())
    );
}
