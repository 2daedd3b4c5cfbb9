//! The admin panel's files (`web/`), embedded at compile time: plain HTML, CSS and
//! ES modules, no build step. They are served under `/assets/<stamp>/` where the
//! stamp is the version plus a hash of their contents, so they can be cached for
//! good; `index.html` names that path and is never cached. Serving is `http::panel`.

use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// One embedded file.
pub struct Asset {
    /// Path below `web/` (and below `/assets/<stamp>/`).
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

const JS: &str = "text/javascript; charset=utf-8";

macro_rules! asset {
    ($path:literal, $type:expr) => {
        Asset {
            path: $path,
            content_type: $type,
            body: include_bytes!(concat!("../web/", $path)),
        }
    };
}

/// Every file of `web/` but `index.html` (a test checks that none is missing).
pub const ASSETS: &[Asset] = &[
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
    asset!("js/api.js", JS),
    asset!("js/dom.js", JS),
    asset!("js/drawer.js", JS),
    asset!("js/format.js", JS),
    asset!("js/main.js", JS),
    asset!("js/signin.js", JS),
    asset!("js/types.js", JS),
    asset!("js/pages/events.js", JS),
    asset!("js/pages/maintenance.js", JS),
    asset!("js/pages/overview.js", JS),
    asset!("js/pages/services.js", JS),
    asset!("js/pages/settings.js", JS),
    asset!("js/pages/tasks.js", JS),
    asset!("js/pages/webhooks.js", JS),
];

const INDEX: &str = include_str!("../web/index.html");
/// What `index.html` writes where the assets' path goes.
const PLACEHOLDER: &str = "/assets/__STAMP__";

/// The paths that answer with `index.html`: the panel's pages.
pub const PAGES: &[&str] = &[
    "/",
    "/tasks",
    "/services",
    "/webhooks",
    "/events",
    "/maintenance",
    "/settings",
];

/// `<version>-<12 hex digits of SHA-256 over every asset>`.
pub fn stamp() -> &'static str {
    static STAMP: OnceLock<String> = OnceLock::new();
    STAMP.get_or_init(|| {
        let mut h = Sha256::new();
        for a in ASSETS {
            h.update(a.path.as_bytes());
            h.update([0]);
            h.update(a.body);
        }
        let hex = crate::hex::hex(&h.finalize()[..6]);
        format!("{}-{hex}", crate::build_info::VERSION)
    })
}

/// `index.html` with the stamped assets path filled in.
pub fn index() -> &'static str {
    static INDEX_HTML: OnceLock<String> = OnceLock::new();
    INDEX_HTML.get_or_init(|| INDEX.replace(PLACEHOLDER, &format!("/assets/{}", stamp())))
}

/// The asset at `path` (below the stamp).
pub fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn files(dir: &Path, base: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                files(&p, base, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }

    #[test]
    fn every_web_file_is_embedded() {
        let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("web");
        let mut found = Vec::new();
        files(&web, &web, &mut found);
        for f in found.iter().filter(|f| *f != "index.html") {
            assert!(find(f).is_some(), "web/{f} is not in panel::ASSETS");
        }
        assert_eq!(found.len(), ASSETS.len() + 1);
    }

    #[test]
    fn index_names_the_stamped_path_and_no_inline_code() {
        let html = index();
        assert!(!html.contains("__STAMP__"));
        assert!(html.contains(&format!("/assets/{}/js/main.js", stamp())));
        assert!(stamp().starts_with(crate::build_info::VERSION));
        assert!(!html.contains("<style") && !html.contains(" style="));
        let handler = html.split(" on").skip(1).any(|rest| {
            let name: String = rest.chars().take_while(char::is_ascii_lowercase).collect();
            !name.is_empty() && rest[name.len()..].starts_with('=')
        });
        assert!(!handler, "no inline event handler attributes");
        for script in html.split("<script").skip(1) {
            assert!(script.contains("src="), "no inline script: {script}");
        }
    }
}
