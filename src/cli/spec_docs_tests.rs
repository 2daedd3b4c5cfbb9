//! The man pages against the code: every command, word and flag of the command table
//! ([`super::spec`]) is in `docs/man/podup.1.scd`, every variable of
//! [`crate::config::VARIABLES`] (and of `env/podup.env.example`) is in
//! `docs/man/podup.env.5.scd` with its default, and neither page names one the code
//! does not have.
//!
//! The pages follow two conventions these tests read: in podup(1), each command is a
//! `## name` heading of the COMMANDS section, whose text names its flags as `*--flag*`
//! and its words as `*word*`, and the flags every command takes are in OPTIONS; in
//! podup.env(5), each variable starts a line as `*PODUP_NAME*` (a `*_FILE` twin on the
//! same line), followed by a `Default: ...` line.

use super::spec::{COMMANDS, COMMON};
use crate::config::VARIABLES;
use std::collections::BTreeSet;

const PAGE_1: &str = "docs/man/podup.1.scd";
const PAGE_5: &str = "docs/man/podup.env.5.scd";

/// Documented ahead of the code, on a branch merged separately: allowed to be missing
/// from the code until it lands (then this list should be emptied).
const AHEAD_OF_CODE: &[&str] = &["PODUP_METRICS_OPEN"];

fn read(page: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(page);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The text of each `# NAME` section, by name.
fn section<'a>(text: &'a str, name: &str) -> &'a str {
    let head = format!("\n# {name}\n");
    let start = text.find(&head).unwrap_or_else(|| panic!("no '# {name}' section")) + head.len();
    let end = text[start..].find("\n# ").map_or(text.len(), |e| start + e);
    &text[start..end]
}

/// `## name` subsections of a section: (name, text).
fn subsections(section: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut rest = section;
    while let Some(i) = rest.find("## ") {
        let body = &rest[i + 3..];
        let (name, body) = body.split_once('\n').unwrap_or((body, ""));
        let end = body.find("\n## ").unwrap_or(body.len());
        out.push((name.trim(), &body[..end]));
        rest = &body[end..];
    }
    out
}

/// Every `*--flag*` (long) and `*-f*` (short) a text names, without the dashes.
fn flags_in(text: &str) -> BTreeSet<String> {
    text.split('*')
        .skip(1)
        .step_by(2)
        .filter_map(|w| w.strip_prefix('-'))
        .map(|w| w.trim_start_matches('-').to_string())
        .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        .collect()
}

/// The spellings of a flag: long, and short when it has one.
fn spellings(f: &super::spec::Flag) -> Vec<String> {
    let mut s = vec![f.long.to_string()];
    if !f.short.is_empty() {
        s.push(f.short.to_string());
    }
    s
}

fn missing(problems: &mut Vec<String>, what: String) {
    problems.push(what);
}

#[test]
fn the_man_page_names_every_command_and_flag_and_no_other() {
    let page = read(PAGE_1);
    let commands = subsections(section(&page, "COMMANDS"));
    let mut problems = Vec::new();
    for c in COMMANDS {
        if !commands.iter().any(|(n, _)| *n == c.name) {
            missing(
                &mut problems,
                format!("command '{}' is not a '## {}' in {PAGE_1}", c.name, c.name),
            );
        }
    }
    let common: BTreeSet<String> = COMMON.iter().flat_map(spellings).collect();
    for (name, text) in &commands {
        let Some(c) = COMMANDS.iter().find(|c| c.name == *name) else {
            missing(
                &mut problems,
                format!("{PAGE_1} documents command '{name}', which src/cli/spec.rs does not have"),
            );
            continue;
        };
        let own: BTreeSet<String> = c.flags.iter().flat_map(spellings).collect();
        for f in c.flags {
            if !flags_in(text).contains(f.long) {
                missing(
                    &mut problems,
                    format!("flag '{} --{}' is not in {PAGE_1}", c.name, f.long),
                );
            }
        }
        for f in flags_in(text) {
            if !own.contains(&f) && !common.contains(&f) {
                missing(
                    &mut problems,
                    format!("{PAGE_1} documents '{name} --{f}', which src/cli/spec.rs does not have"),
                );
            }
        }
        for w in c.words {
            if !text.contains(&format!("*{w}*")) {
                missing(&mut problems, format!("word '{} {w}' is not in {PAGE_1}", c.name));
            }
        }
    }
    let options = flags_in(section(&page, "OPTIONS"));
    for f in &common {
        if !options.contains(f) {
            missing(
                &mut problems,
                format!("common flag '{f}' is not in OPTIONS of {PAGE_1}"),
            );
        }
    }
    for f in &options {
        if !common.contains(f) {
            missing(
                &mut problems,
                format!("OPTIONS of {PAGE_1} names '{f}', which is not in COMMON of src/cli/spec.rs"),
            );
        }
    }
    assert!(
        problems.is_empty(),
        "the man page and the command table differ:\n{}",
        problems.join("\n")
    );
}

/// Each variable the page documents, with its `Default:` line.
fn documented_variables(page: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = page.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let names: Vec<&str> = line
            .split(", ")
            .filter_map(|n| n.strip_prefix('*')?.strip_suffix('*'))
            .collect();
        let is_name = |n: &&str| n.starts_with("PODUP_") && n.chars().all(|c| c.is_ascii_uppercase() || c == '_');
        if names.is_empty() || !names.iter().all(is_name) || names.len() != line.split(", ").count() {
            continue;
        }
        let default = lines
            .get(i + 1)
            .and_then(|l| l.trim().strip_prefix("Default: "))
            .unwrap_or("")
            .to_string();
        for name in names {
            out.push((name.to_string(), default.clone()));
        }
    }
    out
}

/// The variables env/podup.env.example shows (`#NAME=value` lines).
fn example_variables() -> BTreeSet<String> {
    read("env/podup.env.example")
        .lines()
        .filter_map(|l| l.strip_prefix('#')?.split_once('=').map(|(n, _)| n.to_string()))
        .filter(|n| n.starts_with("PODUP_") && n.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .collect()
}

#[test]
fn the_env_page_names_every_variable_with_its_default_and_no_other() {
    let page = read(PAGE_5);
    let documented = documented_variables(&page);
    let mut problems = Vec::new();
    // As config::Config takes them: each variable, and its `_FILE` twin.
    let code: BTreeSet<String> = VARIABLES
        .iter()
        .flat_map(|(n, _, _)| [n.to_string(), format!("{n}_FILE")])
        .chain(example_variables())
        .collect();
    for (name, default, _) in VARIABLES {
        match documented.iter().find(|(n, _)| n == name) {
            None => missing(&mut problems, format!("variable '{name}' is not in {PAGE_5}")),
            Some((_, d)) if !d.starts_with(default) => missing(
                &mut problems,
                format!("{PAGE_5} gives '{name}' the default '{d}'; src/config/variables.rs says '{default}'"),
            ),
            Some(_) => {}
        }
    }
    for name in example_variables() {
        if !documented.iter().any(|(n, _)| *n == name) {
            missing(
                &mut problems,
                format!("variable '{name}' (env/podup.env.example) is not in {PAGE_5}"),
            );
        }
    }
    for (name, _) in &documented {
        if !code.contains(name) && !AHEAD_OF_CODE.contains(&name.as_str()) {
            missing(
                &mut problems,
                format!(
                    "{PAGE_5} documents '{name}', which neither src/config/variables.rs nor env/podup.env.example has"
                ),
            );
        }
    }
    assert!(
        problems.is_empty(),
        "the env page and the variables differ:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_readers_of_the_pages_see_what_is_there() {
    let text = "podup(1)\n\n# COMMANDS\n\n## tasks\n\n*podup tasks* [*--status* _S_] *-v*\n\n## task\nx\n# OPTIONS\n";
    let subs = subsections(section(text, "COMMANDS"));
    assert_eq!(subs.iter().map(|(n, _)| *n).collect::<Vec<_>>(), ["tasks", "task"]);
    assert_eq!(flags_in(subs[0].1).into_iter().collect::<Vec<_>>(), ["status", "v"]);
    let vars = documented_variables("*PODUP_A*, *PODUP_A_FILE*\n\tDefault: 5\n");
    assert_eq!(
        vars,
        [("PODUP_A".into(), "5".into()), ("PODUP_A_FILE".into(), "5".into())]
    );
}
