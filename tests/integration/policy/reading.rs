//! Update policies (docs/policy.md): `podup policy` over Quadlet files in a temp dir, with
//! each key's file:line, errors that name file, line and key, the last good policy kept
//! across a bad edit, the policy file for services without a unit file, and the policy in
//! `GET /api/v1/services`.

use crate::support::*;
use std::path::{Path, PathBuf};

/// A user-scope podup whose Quadlet directory is `<home>/containers/systemd`.
struct Bed {
    home: TempDir,
    podup: Podup,
}

impl Bed {
    fn new(name: &str, services: &str, extra: &[(&str, &str)]) -> Bed {
        let home = TempDir::new(&format!("{name}-home"));
        std::fs::create_dir_all(home.path().join("containers/systemd")).unwrap();
        let mut podup = Podup::new(name)
            .env("PODUP_SYSTEMD_SCOPE", "user")
            .env("XDG_CONFIG_HOME", home.path().to_str().unwrap())
            .env("PODUP_SERVICES", services);
        for (k, v) in extra {
            podup = podup.env(k, v);
        }
        Bed { home, podup }
    }

    fn quadlet(&self, rel: &str) -> PathBuf {
        self.home.path().join("containers/systemd").join(rel)
    }

    fn write(&self, path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// `podup policy ARGS`: exit code, stdout, stderr.
    fn policy(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let out = self.podup.run(&[&["policy"], args].concat());
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

const APP: &str = "[Container]\nImage=ghcr.io/acme/polapp:1\n\n[X-PodUp]\nPolicy=approve\nMinAge=2h\n";

#[test]
fn podup_policy_shows_each_key_with_the_file_and_line_that_set_it() {
    let bed = Bed::new("policy-sources", "polapp.service", &[]);
    let main = bed.quadlet("polapp.container");
    let dropin = bed.quadlet("polapp.container.d/10-window.conf");
    bed.write(&main, APP);
    bed.write(
        &dropin,
        "# nightly\n[X-PodUp]\nWindow=Mon..Fri 02:00-04:00 TZ=Europe/Berlin\n",
    );
    let (code, out, err) = bed.policy(&[]);
    assert_eq!(code, Some(0), "{out}{err}");
    // The window's state now depends on the clock: it is there, and said apart.
    let now = out.lines().filter(|l| l.starts_with("  window now: ")).count();
    assert_eq!(now, 1, "{out}");
    let lines: Vec<&str> = out.lines().filter(|l| !l.starts_with("  window now: ")).collect();
    assert_eq!(
        lines,
        [
            "polapp.service  policy=approve  min-age=2h  window=Mon..Fri 02:00-04:00 TZ=Europe/Berlin  timer=yes  follow=digest",
            &format!("  Policy=approve   from {}:5", main.display()),
            &format!("  MinAge=2h   from {}:6", main.display()),
            &format!(
                "  Window=Mon..Fri 02:00-04:00 TZ=Europe/Berlin   from {}:3",
                dropin.display()
            ),
        ]
    );
}

#[test]
fn a_bad_value_exits_1_naming_file_line_and_key_and_keeps_the_last_good_policy() {
    let bed = Bed::new("policy-bad", "polapp.service", &[]);
    let main = bed.quadlet("polapp.container");
    bed.write(&main, APP);
    let (code, out, _) = bed.policy(&[]);
    assert_eq!(code, Some(0), "{out}");
    // Someone breaks it: a drop-in with a typo, and a misspelt key in the file itself.
    let dropin = bed.quadlet("polapp.container.d/20-typo.conf");
    bed.write(&dropin, "[X-PodUp]\nPolicy=manual\nWindow=Mon..Fry 02:00-04:00\n");
    bed.write(&main, &format!("{APP}MinAgee=1h\n"));
    let (code, out, err) = bed.policy(&[]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(err.is_empty(), "the errors are printed once, on stdout: {err}");
    assert!(
        out.starts_with("polapp.service  policy=approve  min-age=2h  window=any"),
        "the last good policy, not the half-read one: {out}"
    );
    let keeps = "(keeps its last good policy)";
    assert!(
        out.contains(&format!(
            "  error: {}:7: MinAgee=: 'MinAgee' is not a policy key (known: Policy, MinAge, Window, Timer, Follow)  {keeps}",
            main.display()
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "  error: {}:3: Window=: 'Mon..Fry' is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun)  {keeps}",
            dropin.display()
        )),
        "{out}"
    );
    // Fixed: the new policy counts, and exit 0 again.
    bed.write(&dropin, "[X-PodUp]\nPolicy=manual\n");
    bed.write(&main, APP);
    let (code, out, _) = bed.policy(&["polapp.service"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.starts_with("polapp.service  policy=manual"), "{out}");
}

#[test]
fn policy_json_parses_and_names_sources_and_errors() {
    let bed = Bed::new("policy-json", "polapp.service, other.service", &[]);
    let main = bed.quadlet("polapp.container");
    bed.write(&main, &format!("{APP}Timer=sometimes\n"));
    let (code, out, _) = bed.policy(&["--json"]);
    assert_eq!(code, Some(1), "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let list = v["policies"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    let app = &list[0];
    assert_eq!(app["unit"], "polapp.service");
    assert_eq!(app["last_good"], false, "never read well: the default");
    assert_eq!(app["policy"]["policy"], "auto");
    assert_eq!(
        app["errors"],
        serde_json::json!([format!("{}:7: Timer=: 'sometimes' is not yes or no", main.display())])
    );
    assert_eq!(list[1]["sources"]["Policy"], "default");
    bed.write(&main, APP);
    let (code, out, _) = bed.policy(&["--json", "polapp.service"]);
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["policies"][0]["sources"]["MinAge"],
        serde_json::json!({"file": main.display().to_string(), "line": 6})
    );
    assert_eq!(v["policies"][0]["policy"]["min_age_secs"], 7200);
}

#[test]
fn the_policy_file_holds_the_policy_of_a_service_without_a_unit_file() {
    let dir = TempDir::new("policy-file");
    let file = dir.path().join("policies.ini");
    let bed = Bed::new(
        "policy-file",
        "solo.service=ghcr.io/acme/solo:1",
        &[("PODUP_POLICY_FILE", file.to_str().unwrap())],
    );
    let (code, out, _) = bed.policy(&[]);
    assert_eq!(code, Some(1), "a missing policy file is an error: {out}");
    assert!(
        out.contains(&format!(
            "  error: {}: the file named by PODUP_POLICY_FILE does not exist",
            file.display()
        )),
        "{out}"
    );
    bed.write(
        &file,
        "[other.service]\nPolicy=manual\n\n[solo.service]\nPolicy=notify\nTimer=no\n",
    );
    let (code, out, _) = bed.policy(&[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.starts_with("solo.service  policy=notify  min-age=0  window=any  timer=no  follow=digest\n"),
        "{out}"
    );
    assert!(
        out.contains(&format!("  Timer=no   from {}:6", file.display())),
        "{out}"
    );
}

#[test]
fn an_unknown_service_is_a_usage_error_naming_it() {
    let bed = Bed::new("policy-unknown", "polapp.service", &[]);
    let (code, out, err) = bed.policy(&["nope.service"]);
    assert_eq!(code, Some(2));
    assert!(
        out.is_empty() && err.contains("'nope.service' is not a declared"),
        "{err}"
    );
}

#[test]
fn the_services_api_gives_each_services_policy() {
    let bed = Bed::new("policy-api", "polapp.service=ghcr.io/acme/polapp:1", &[]);
    let main = bed.quadlet("polapp.container");
    bed.write(&main, APP);
    let token = bed.podup.token("reader", "read");
    let server = bed.podup.serve(&[]);
    let v = call(server.addr, "GET", "/api/v1/services", Some(&token), "").json();
    let policy = &v["services"][0]["policy"];
    assert_eq!(policy["policy"]["policy"], "approve", "{v:#}");
    assert_eq!(
        policy["sources"]["Policy"],
        serde_json::json!({"file": main.display().to_string(), "line": 5})
    );
    assert_eq!(policy["errors"], serde_json::json!([]));
    assert!(policy.get("unit").is_none(), "the entry names the unit already");
}
