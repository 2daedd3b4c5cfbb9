//! The dependencies of several units in one `systemctl show` call: what each is ordered
//! after (`After=`), needs (`Requires=`) and goes together with (`BindsTo=`, `PartOf=`).
//! The parallel deploy (`tasks::plan`) orders and groups a task's units with them.

use super::{Host, HostError, ParseError, Scope, check_operand};
use std::time::Duration;

/// The properties `unit_deps` asks for.
pub const DEPS_PROPERTIES: &str = "Id,After,Requires,BindsTo,PartOf";
const QUERY_TIMEOUT_SECS: u64 = 30;

/// One unit's dependencies as the manager reports them (unit names).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UnitDeps {
    pub id: String,
    pub after: Vec<String>,
    pub requires: Vec<String>,
    pub binds_to: Vec<String>,
    pub part_of: Vec<String>,
}

/// `systemctl [--user] show --property=DEPS_PROPERTIES UNIT...`
pub fn deps_argv(scope: Scope, units: &[String]) -> Vec<String> {
    let mut argv = match scope {
        Scope::System => Vec::new(),
        Scope::User => vec!["--user".to_string()],
    };
    argv.push("show".to_string());
    argv.push(format!("--property={DEPS_PROPERTIES}"));
    argv.extend(units.iter().cloned());
    argv
}

/// Reads `systemctl show` of several units: one block of `K=V` lines per unit, blocks
/// separated by an empty line, each with an `Id=` line; list values are space-separated.
pub fn parse_deps(text: &str) -> Result<Vec<UnitDeps>, ParseError> {
    let mut out = Vec::new();
    for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let mut deps = UnitDeps::default();
        for line in block.lines().filter(|l| !l.is_empty()) {
            let Some((key, value)) = line.split_once('=') else {
                return Err(ParseError(format!("not a K=V line in systemctl show output: '{line}'")));
            };
            let list = || value.split_whitespace().map(String::from).collect::<Vec<_>>();
            match key {
                "Id" => deps.id = value.to_string(),
                "After" => deps.after = list(),
                "Requires" => deps.requires = list(),
                "BindsTo" => deps.binds_to = list(),
                "PartOf" => deps.part_of = list(),
                _ => {}
            }
        }
        if deps.id.is_empty() {
            return Err(ParseError("a block of systemctl show output has no Id= line".into()));
        }
        out.push(deps);
    }
    Ok(out)
}

impl Host {
    /// The dependencies of `units`, in one call; a unit the manager does not know has none.
    pub fn unit_deps(&self, units: &[String]) -> Result<Vec<UnitDeps>, HostError> {
        for u in units {
            check_operand("unit", u)?;
        }
        let argv = deps_argv(self.scope, units);
        let record = self.run_for(&self.programs.systemctl, &argv, Duration::from_secs(QUERY_TIMEOUT_SECS))?;
        parse_deps(&record.stdout).map_err(|e| HostError::unexpected(record, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_names_every_unit_once() {
        let units = ["a.service".to_string(), "b.service".to_string()];
        assert_eq!(
            deps_argv(Scope::User, &units),
            [
                "--user",
                "show",
                "--property=Id,After,Requires,BindsTo,PartOf",
                "a.service",
                "b.service"
            ]
        );
        assert_eq!(deps_argv(Scope::System, &units)[0], "show");
    }

    /// Captured from the real bed (tests/real, bookworm: systemd 252) with
    /// `systemctl --user show -p Id,After,Requires,BindsTo,PartOf a.service b.service
    /// c.service nosuch.service`, where b has `After=a.service` and `Requires=a.service`,
    /// c `BindsTo=a.service`, `PartOf=a.service` and `After=a.service b.service`. The
    /// manager adds its own dependencies (the slice, `basic.target`); a unit it does not
    /// know still gets a block.
    const CAPTURED: &str = include_str!("deps_captured.txt");

    #[test]
    fn parses_the_managers_own_output() {
        let deps = parse_deps(CAPTURED).unwrap();
        let ids: Vec<&str> = deps.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["a.service", "b.service", "c.service", "nosuch.service"]);
        assert!(deps[1].after.contains(&"a.service".to_string()), "{:?}", deps[1]);
        assert!(deps[1].requires.contains(&"a.service".to_string()), "{:?}", deps[1]);
        assert!(deps[2].binds_to.contains(&"a.service".to_string()), "{:?}", deps[2]);
        assert!(deps[2].part_of.contains(&"a.service".to_string()), "{:?}", deps[2]);
        assert!(deps[2].after.contains(&"b.service".to_string()), "{:?}", deps[2]);
        assert!(deps[0].binds_to.is_empty() && deps[3].after.is_empty());
    }

    #[test]
    fn a_block_without_id_or_a_stray_line_is_an_error() {
        assert!(parse_deps("After=a.service\n").is_err());
        assert!(parse_deps("Id=a.service\nnonsense\n").is_err());
        assert_eq!(parse_deps("").unwrap(), Vec::new());
    }
}
