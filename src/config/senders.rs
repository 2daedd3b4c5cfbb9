//! The secrets of the senders other than GitHub: `PODUP_<SENDER>_SECRET`, its `_FILE`,
//! or the credential `<sender>-secret`, one secret per line (two while rotating), read
//! as GitHub's are. A secret that travels in the URL (Quay, Docker Hub) must also be
//! one path segment that needs no escaping.

use super::sources::secrets;
use super::{ConfigError, MIN_WEBHOOK_SECRET_BYTES, err};
use crate::model::Secret;
use crate::providers::Sender;

/// Each configured sender (GitHub aside) with its secrets, in `Sender::ALL` order.
pub fn read(get: &impl Fn(&str) -> Option<String>) -> Result<Vec<(Sender, Vec<Secret>)>, ConfigError> {
    let mut out = Vec::new();
    for sender in Sender::ALL.into_iter().filter(|s| *s != Sender::Github) {
        let list = secrets(get, sender.variable(), sender.credential(), MIN_WEBHOOK_SECRET_BYTES)?;
        if sender.url_secret_only() {
            if let Some(n) = list.iter().position(|s| !is_path_safe(&s.0)) {
                return Err(err(
                    sender.variable(),
                    format!(
                        "secret {} of {} goes into the URL /hooks/{}/<secret> and may hold only letters, digits, '-', '_', '.' and '~' (make one with 'head -c 32 /dev/urandom | base64 | tr +/ -_ | tr -d =')",
                        n + 1,
                        list.len(),
                        sender.name()
                    ),
                ));
            }
        }
        if !list.is_empty() {
            out.push((sender, list));
        }
    }
    Ok(out)
}

/// Unreserved URL characters only (RFC 3986, section 2.3).
fn is_path_safe(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::providers::Sender;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, String> {
        Config::from_pairs(pairs, 0).map_err(|e| e.to_string())
    }

    #[test]
    fn each_sender_reads_its_own_variable() {
        let c = config(&[
            ("PODUP_GITEA_SECRET", "gitea-secret-0123456789\nrotating-secret-0123456"),
            ("PODUP_QUAY_SECRET", "quay_secret-0123456789"),
        ])
        .unwrap();
        assert_eq!(c.secrets_of(Sender::Gitea).len(), 2);
        assert_eq!(c.secrets_of(Sender::Quay).len(), 1);
        assert!(c.secrets_of(Sender::Harbor).is_empty());
        assert!(c.secrets_of(Sender::Github).is_empty());
    }

    #[test]
    fn errors_name_the_variable() {
        let e = config(&[("PODUP_HARBOR_SECRET", "short")]).unwrap_err();
        assert!(e.contains("PODUP_HARBOR_SECRET") && e.contains("16"), "{e}");
        let e = config(&[("PODUP_DOCKERHUB_SECRET", "has/a-slash-0123456789")]).unwrap_err();
        assert!(
            e.contains("PODUP_DOCKERHUB_SECRET") && e.contains("/hooks/dockerhub/"),
            "{e}"
        );
        assert!(!e.contains("has/a-slash"), "the secret is not echoed: {e}");
        let e = config(&[
            ("PODUP_JFROG_SECRET", "x-0123456789abcdef"),
            ("PODUP_JFROG_SECRET_FILE", "/x"),
        ])
        .unwrap_err();
        assert!(e.contains("PODUP_JFROG_SECRET_FILE"), "{e}");
    }
}
