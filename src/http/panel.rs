//! Serving the panel: `index.html` for its pages (never cached), the embedded assets
//! under `/assets/<stamp>/` (cached for a year, immutable), each with an explicit
//! content type, `nosniff`, and a Content-Security-Policy that allows nothing but
//! this origin's own files (no inline script or style, no framing). Works while the
//! database is down, so the panel can say so.

use super::{Request, Response};
use crate::panel;

/// Only this origin's files; no inline code, no plugins, no framing, no `<base>`.
pub const CSP: &str =
    "default-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'; object-src 'none'";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The answer for a panel path, or `None` when `req` is not for the panel.
pub fn serve(req: &Request) -> Option<Response> {
    let path = req.path.as_str();
    let page = panel::PAGES.contains(&path);
    let asset = path.strip_prefix("/assets/");
    if !page && asset.is_none() {
        return None;
    }
    if !matches!(req.method.as_str(), "GET" | "HEAD") {
        return Some(
            Response::error(405, "panel", "method_not_allowed", "this route accepts GET, HEAD")
                .with_header("Allow", "GET, HEAD"),
        );
    }
    let response = match asset {
        None => file(200, "panel_page", "text/html; charset=utf-8", panel::index().as_bytes()),
        Some(rest) => match rest.split_once('/') {
            Some((stamp, name)) if stamp == panel::stamp() => match panel::find(name) {
                Some(a) => file(200, "panel_asset", a.content_type, a.body).with_header("Cache-Control", IMMUTABLE),
                None => Response::error(
                    404,
                    "panel_asset",
                    "unknown_asset",
                    format!("there is no panel file '{name}'"),
                ),
            },
            // An old page asking for old files after an upgrade: not these.
            _ => Response::error(
                404,
                "panel_asset",
                "unknown_asset",
                "these panel files belong to another podup version: reload the page",
            ),
        },
    };
    Some(
        response
            .with_header("Content-Security-Policy", CSP)
            .with_header("X-Frame-Options", "DENY")
            .with_header("Referrer-Policy", "no-referrer"),
    )
}

fn file(status: u16, action: &'static str, content_type: &'static str, body: &[u8]) -> Response {
    let mut r = Response::json(status, action, "ok", &serde_json::Value::Null);
    r.content_type = content_type;
    r.body = body.to_vec();
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str) -> Option<Response> {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        serve(&Request {
            method: "GET".into(),
            target: path.into(),
            path: path.into(),
            query: query.into(),
            headers: vec![],
            body: vec![],
            keep_alive: false,
        })
    }

    fn header<'a>(r: &'a Response, name: &str) -> Option<&'a str> {
        r.headers.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str())
    }

    #[test]
    fn pages_assets_and_headers() {
        let page = get("/tasks").unwrap();
        assert_eq!((page.status, page.content_type), (200, "text/html; charset=utf-8"));
        assert_eq!(header(&page, "Content-Security-Policy"), Some(CSP));
        assert_eq!(header(&page, "Cache-Control"), None, "pages use the default no-store");
        let js = get(&format!("/assets/{}/js/main.js", panel::stamp())).unwrap();
        assert_eq!((js.status, js.content_type), (200, "text/javascript; charset=utf-8"));
        assert_eq!(header(&js, "Cache-Control"), Some(IMMUTABLE));
        let wire = String::from_utf8_lossy(&js.to_bytes(true, false)).to_string();
        assert!(wire.contains("X-Content-Type-Options: nosniff") && !wire.contains("no-store"));
        assert_eq!(get("/assets/0.0.0-old/js/main.js").unwrap().status, 404);
        assert_eq!(get(&format!("/assets/{}/nope.js", panel::stamp())).unwrap().status, 404);
        assert!(get("/api/v1/tasks").is_none() && get("/health").is_none() && get("/tasksx").is_none());
    }
}
