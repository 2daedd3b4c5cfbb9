//! The demo's update policies (docs/policy.md), written into its state directory where a
//! host keeps them: `app.service`'s in its Quadlet file's `[X-PodUp]` section, the other
//! services' in the policy file (`PODUP_POLICY_FILE`), as the demo declares them in
//! `PODUP_SERVICES`. The demo's configuration reads only these (`dirs`), never the
//! machine's unit files. `web.service`'s window got a typo after podup last read it, so
//! it keeps its last good policy (`remember_last_good`).

use crate::config::Config;
use std::path::{Path, PathBuf};

/// The policy file, beside the database.
pub const POLICY_FILE: &str = "policies.ini";
/// The demo's only Quadlet directory.
pub const QUADLET_DIR: &str = "containers/systemd";

/// `web.service`'s window as it was when podup last read it, and as it reads now.
const WEB_WINDOW_GOOD: &str = "Mon..Fri 06:00-08:00";
const WEB_WINDOW_TYPO: &str = "Mon..Fry 06:00-08:00";

/// app.service as Quadlet would make it; nothing runs it (the host is simulated).
const APP_CONTAINER: &str = "\
# podup demo: app.service as a Quadlet file makes it (the host is simulated).
[Unit]
Description=acme app

[Container]
Image=ghcr.io/acme/app:1.4.2

[X-PodUp]
Policy=approve
Follow=semver:minor
";

fn policy_file(web_window: &str) -> String {
    format!(
        "# podup demo: the policies of services whose unit files podup does not see.\n\
         [api.service]\n\
         Policy=approve\n\
         \n\
         [worker.service]\n\
         # Its releases have crashed before: weekend mornings only, once two hours old.\n\
         MinAge=2h\n\
         Window=Sat,Sun 03:00-05:00\n\
         \n\
         [web.service]\n\
         Window={web_window}\n"
    )
}

/// Writes the Quadlet file and the policy file (web.service's window still good) into
/// the state directory `dir`.
pub fn write(dir: &Path) -> std::io::Result<()> {
    let quadlet = dir.join(QUADLET_DIR);
    std::fs::create_dir_all(&quadlet)?;
    std::fs::write(quadlet.join("app.container"), APP_CONTAINER)?;
    std::fs::write(dir.join(POLICY_FILE), policy_file(WEB_WINDOW_GOOD))
}

/// Points `config` at the demo's own files only: its Quadlet directory and no unit
/// directory, so that the machine's units never lend the demo a policy.
pub fn dirs(config: &mut Config, quadlet: PathBuf) {
    config.quadlet_dirs = vec![quadlet];
    config.unit_dirs = Vec::new();
}

/// Reads web.service's policy at `then_ms` (podup keeps it as its last good one), then
/// makes the typo in the policy file that the panel shows.
pub fn remember_last_good(conn: &rusqlite::Connection, config: &Config, then_ms: i64) -> std::io::Result<()> {
    crate::policy::effective(Some(conn), config, "web.service", then_ms);
    match &config.policy_file {
        Some(file) => std::fs::write(file, policy_file(WEB_WINDOW_TYPO)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use crate::model::Action;
    use crate::policy::{Source, effective};

    #[test]
    fn app_reads_its_quadlet_file_and_web_keeps_its_last_good_window_past_the_typo() {
        let dir = crate::testing::scratch_dir("demo-policies");
        super::write(&dir).unwrap();
        let sinks = super::super::sinks(&dir, "demo-test-secret-of-16").unwrap();
        let config = super::super::config(&dir, "demo-test-secret-of-16", &sinks).unwrap();
        let c = crate::testing::migrated_db();
        let now = 1_796_673_600_000;
        super::remember_last_good(&c, &config, now - 1000).unwrap();

        let app = effective(Some(&c), &config, "app.service", now);
        assert_eq!(app.policy.policy, Action::Approve);
        assert_eq!(app.policy.follow.spelling(), "semver:minor");
        let quadlet = dir.join(super::QUADLET_DIR).join("app.container").display().to_string();
        assert!(matches!(&app.sources[0].1, Source::File { path, line: 9 } if *path == quadlet));

        let web = effective(Some(&c), &config, "web.service", now);
        assert!(web.last_good);
        assert_eq!(
            web.policy.window.as_ref().map(|w| w.text.as_str()),
            Some("Mon..Fri 06:00-08:00")
        );
        assert_eq!(web.errors.len(), 1);
        let error = web.errors[0].to_string();
        assert!(error.contains("policies.ini:11: Window=: 'Mon..Fry"), "{error}");

        for (unit, expected) in [("api.service", Action::Approve), ("cache.service", Action::Auto)] {
            assert_eq!(
                effective(Some(&c), &config, unit, now).policy.policy,
                expected,
                "{unit}"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
