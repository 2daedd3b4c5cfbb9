//! The fish completion script (`podup completions fish`), from the command table: one
//! `complete` line per command, flag and word.

use super::completions::{Operands, Values, all_flags, commands, operands, quote, summary, values};
use std::fmt::Write;

const HEAD: &str = r#"# fish completion for podup. Written by `podup completions fish` from podup's
# command table (src/cli/spec.rs): it offers exactly the commands and flags podup
# parses, service names from `podup services --names` and the ids of recent tasks.

function __podup_no_command
    test (count (commandline -opc)) -eq 1
end

function __podup_command_is
    set -l words (commandline -opc)
    test (count $words) -ge 2; and contains -- $words[2] $argv
end

# The operands typed after the command: words that are not flags.
function __podup_operands
    set -l words (commandline -opc)
    for w in $words[3..-1]
        string match -q -- '-*' $w; or echo $w
    end
end

# True before the first operand, or right after one of the words in $argv.
function __podup_wants_task_id
    set -l ops (__podup_operands)
    test (count $ops) -eq 0; and return 0
    test (count $ops) -eq 1; and contains -- $ops[1] $argv
end

# Ask the podup being completed; silent, and cut after two seconds.
function __podup_services
    timeout 2 (commandline -opc)[1] services --names 2>/dev/null
end

function __podup_tasks
    timeout 2 (commandline -opc)[1] tasks --limit 20 2>/dev/null | awk 'NR > 1 {print $1}'
end

complete -c podup -f
"#;

pub fn script() -> String {
    let mut s = String::from(HEAD);
    for c in commands() {
        let _ = writeln!(
            s,
            "complete -c podup -n __podup_no_command -a {} -d {}",
            c.name,
            quote(summary(c.name))
        );
    }
    for c in commands() {
        let _ = writeln!(s, "\n# {}", c.name);
        let when = quote(&format!("__podup_command_is {}", c.name));
        for f in all_flags(c) {
            let short = if f.short.is_empty() {
                String::new()
            } else {
                format!(" -s {}", f.short)
            };
            let value = match (f.value, values(f)) {
                (None, _) => String::new(),
                (Some(_), Values::Words(w)) => format!(" -x -a {}", quote(&w.join(" "))),
                (Some(_), Values::File) => " -r -F".into(),
                (Some(_), Values::Dir) => " -x -a '(__fish_complete_directories)'".into(),
                (Some(_), Values::Free) => " -x".into(),
            };
            let _ = writeln!(
                s,
                "complete -c podup -n {when}{short} -l {}{value} -d {}",
                f.long,
                quote(f.help)
            );
        }
        let words = c.words.join(" ");
        if !c.words.is_empty() {
            let first = quote(&format!(
                "__podup_command_is {}; and test (count (__podup_operands)) -eq 0",
                c.name
            ));
            let _ = writeln!(s, "complete -c podup -n {first} -a {}", quote(&words));
        }
        match operands(c.name) {
            Operands::None => {}
            Operands::Services => {
                let _ = writeln!(s, "complete -c podup -n {when} -a '(__podup_services)' -d service");
            }
            Operands::Task => {
                let cond = quote(&format!(
                    "__podup_command_is {}; and __podup_wants_task_id {words}",
                    c.name
                ));
                let _ = writeln!(s, "complete -c podup -n {cond} -a '(__podup_tasks)' -d task");
            }
        }
    }
    s
}
