//! The OCI reference grammar an [`ImageEvent`](super::ImageEvent) must satisfy, as
//! the distribution spec and podman read it: a registry host, lower-case path
//! components, a tag, a `sha256` digest. Pure checks; providers normalize case
//! before asking.

/// Longest image name (host and path, without tag) a registry accepts.
pub const MAX_NAME_CHARS: usize = 255;

const DIGEST_PREFIX: &str = "sha256:";
const DIGEST_HEX_CHARS: usize = 64;
const MAX_TAG_CHARS: usize = 128;

/// `host` lower-cased when it is a DNS name (labels of letters, digits and inner
/// hyphens, dot-separated) with an optional `:port`.
pub fn normalize_host(host: &str) -> Option<String> {
    let host = host.to_ascii_lowercase();
    let (name, port) = match host.split_once(':') {
        Some((name, port)) => (name, Some(port)),
        None => (host.as_str(), None),
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|c| c.is_ascii_digit()));
    (port_ok && !name.is_empty() && name.split('.').all(is_dns_label)).then_some(host)
}

fn is_dns_label(label: &str) -> bool {
    let ok_char = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-';
    !label.is_empty()
        && label.len() <= 63
        && label.bytes().all(ok_char)
        && !label.starts_with('-')
        && !label.ends_with('-')
}

/// `path` lower-cased when every `/`-separated component matches the distribution
/// spec's `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
pub fn normalize_path(path: &str) -> Option<String> {
    let path = path.to_ascii_lowercase();
    path.split('/').all(is_path_component).then_some(path)
}

fn is_path_component(component: &str) -> bool {
    let mut bytes = component.bytes().peekable();
    loop {
        let mut run = 0;
        while bytes
            .next_if(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            .is_some()
        {
            run += 1;
        }
        if run == 0 {
            return false;
        }
        match bytes.next() {
            None => return true,
            Some(b'.') => {}
            Some(b'_') => {
                bytes.next_if_eq(&b'_');
            }
            Some(b'-') => while bytes.next_if_eq(&b'-').is_some() {},
            Some(_) => return false,
        }
    }
}

/// `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub fn is_valid_tag(tag: &str) -> bool {
    let inner = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-');
    let mut bytes = tag.bytes();
    tag.len() <= MAX_TAG_CHARS
        && bytes.next().is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
        && bytes.all(inner)
}

/// `sha256:` followed by exactly 64 lowercase hex digits; anything else is not a
/// digest podup will pin to.
pub fn is_valid_digest(digest: &str) -> bool {
    digest.strip_prefix(DIGEST_PREFIX).is_some_and(|hex| {
        hex.len() == DIGEST_HEX_CHARS && hex.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(normalize_host("GHCR.io").as_deref(), Some("ghcr.io"));
        assert_eq!(normalize_host("localhost:5000").as_deref(), Some("localhost:5000"));
        assert_eq!(
            normalize_host("docker.pkg.github.com").as_deref(),
            Some("docker.pkg.github.com")
        );
        for bad in [
            "",
            "-a.io",
            "a-.io",
            "a..io",
            "a.io:",
            "a.io:x",
            "a.io:123456",
            "user@a.io",
            "[::1]",
            "a_b.io",
        ] {
            assert_eq!(normalize_host(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn paths() {
        assert_eq!(
            normalize_path("DingGGu/UtaiteBOX/server").as_deref(),
            Some("dingggu/utaitebox/server")
        );
        for good in ["a", "a0/b.c", "a__b", "a_b", "a--b", "a-b-c/d.e_f"] {
            assert!(normalize_path(good).is_some(), "{good:?}");
        }
        for bad in [
            "", "/a", "a/", "a//b", "a___b", "a..b", "-a", "a-", ".a", "a_", "a b", "a:b", "é",
        ] {
            assert_eq!(normalize_path(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn tags() {
        for good in ["v1.2.3", "latest", "_x", "A-b_c.d", &"x".repeat(128)] {
            assert!(is_valid_tag(good), "{good:?}");
        }
        for bad in ["", ".x", "-x", "a:b", "a/b", "a b", &"x".repeat(129)] {
            assert!(!is_valid_tag(bad), "{bad:?}");
        }
    }

    #[test]
    fn digests() {
        assert!(is_valid_digest(&format!("sha256:{}", "0f".repeat(32))));
        for bad in [
            format!("sha256:{}", "0F".repeat(32)),
            format!("sha256:{}", "0f".repeat(31)),
            format!("sha512:{}", "0f".repeat(32)),
            "sha256:6c62fb45fe66bfb1ea9a66abc38f6a0cc974292b".to_string(),
            String::new(),
        ] {
            assert!(!is_valid_digest(&bad), "{bad:?}");
        }
    }
}
