//! Update checks' knobs (docs/updates.md): how long a registry's answer is reused,
//! how long one request may take, and whether the timer job checks after its
//! auto-update.

use super::ConfigError;
use super::notify::{duration, seconds};

#[derive(Debug, Clone, PartialEq)]
pub struct CheckConfig {
    /// `PODUP_CHECK_TTL`: a registry's answer for a tag is reused this long.
    pub ttl_secs: u64,
    /// `PODUP_CHECK_TIMEOUT_SECS`: one registry request may take this long.
    pub timeout_secs: u64,
    /// `PODUP_CHECK_ON_TIMER`: the timer job runs a check after its auto-update.
    pub on_timer: bool,
    /// `PODUP_APPROVAL_TTL`: how long a new image waits for an approval
    /// (`Policy=approve`, docs/policy.md) before it is skipped as `approval_expired`.
    pub approval_ttl_secs: u64,
}

pub fn read(get: &impl Fn(&str) -> Option<String>) -> Result<CheckConfig, ConfigError> {
    let on_timer = match get("PODUP_CHECK_ON_TIMER").as_deref().map(str::trim) {
        None | Some("1") | Some("yes") | Some("true") => true,
        Some("0") | Some("no") | Some("false") => false,
        Some(other) => {
            return Err(super::err(
                "PODUP_CHECK_ON_TIMER",
                format!("expected 1 or 0, got '{other}'"),
            ));
        }
    };
    Ok(CheckConfig {
        ttl_secs: duration(get, "PODUP_CHECK_TTL", "1h")?,
        timeout_secs: seconds(get, "PODUP_CHECK_TIMEOUT_SECS", 10, 120)?,
        on_timer,
        approval_ttl_secs: duration(get, "PODUP_APPROVAL_TTL", "72h")?,
    })
}

impl CheckConfig {
    /// What a task unit that may run a check needs in its environment: these knobs,
    /// and the variables that tell podman where registries.conf and the credentials
    /// are, when podup was given them (so the check asks what podman would pull).
    pub fn worker_environment(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("PODUP_CHECK_TTL".to_string(), format!("{}s", self.ttl_secs)),
            ("PODUP_CHECK_TIMEOUT_SECS".to_string(), self.timeout_secs.to_string()),
            ("PODUP_APPROVAL_TTL".to_string(), format!("{}s", self.approval_ttl_secs)),
        ];
        for name in ["CONTAINERS_REGISTRIES_CONF", "REGISTRY_AUTH_FILE"] {
            if let Some(v) = std::env::var_os(name).and_then(|v| v.into_string().ok()) {
                env.push((name.to_string(), v));
            }
        }
        env
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<CheckConfig, String> {
        let get = |n: &str| pairs.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string());
        read(&get).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_bad_values_named() {
        assert_eq!(
            config(&[]).unwrap(),
            CheckConfig {
                ttl_secs: 3600,
                timeout_secs: 10,
                on_timer: true,
                approval_ttl_secs: 72 * 3600,
            }
        );
        assert_eq!(config(&[("PODUP_CHECK_TTL", "10m")]).unwrap().ttl_secs, 600);
        assert!(!config(&[("PODUP_CHECK_ON_TIMER", "0")]).unwrap().on_timer);
        for (name, value) in [
            ("PODUP_CHECK_TTL", "soon"),
            ("PODUP_CHECK_TIMEOUT_SECS", "0"),
            ("PODUP_CHECK_ON_TIMER", "maybe"),
            ("PODUP_APPROVAL_TTL", "a while"),
        ] {
            let e = config(&[(name, value)]).unwrap_err();
            assert!(e.starts_with(name) && e.contains(value), "{e}");
        }
    }
}
