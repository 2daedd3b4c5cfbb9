//! The zsh completion script (`podup completions zsh`, installed as `_podup`), from the
//! command table: `_arguments` for each command's flags and operands.

use super::completions::{Operands, Values, all_flags, commands, operands, quote, summary, values};
use super::spec::Flag;
use std::fmt::Write;

const HEAD: &str = r#"#compdef podup
# zsh completion for podup. Written by `podup completions zsh` from podup's command
# table (src/cli/spec.rs): it offers exactly the commands and flags podup parses,
# service names from `podup services --names` and the ids of recent tasks.

# Ask the podup being completed; silent, and cut after two seconds.
_podup_services() {
    local -a names
    names=(${(f)"$(timeout 2 $_podup_bin services --names 2>/dev/null)"})
    _wanted services expl service compadd -a names
}

_podup_tasks() {
    local -a ids
    ids=(${(f)"$(timeout 2 $_podup_bin tasks --limit 20 2>/dev/null | awk 'NR > 1 {print $1}')"})
    _wanted tasks expl 'task id' compadd -a ids
}

_podup() {
    local _podup_bin=${words[1]}
    if (( CURRENT == 2 )); then
        local -a cmds
        cmds=(
"#;

const TAIL: &str = r#"    esac
}

if [[ $funcstack[1] == _podup ]]; then
    _podup "$@"
else
    compdef _podup podup
fi
"#;

/// `text` for inside an option's `[...]` description.
fn bracketed(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('[', "\\[")
        .replace(']', "\\]")
        .replace(':', "\\:")
}

/// One `_arguments` spec for a flag (two words when it has a short spelling).
fn flag_spec(f: &Flag) -> String {
    let value = match (f.value, values(f)) {
        (None, _) => String::new(),
        (Some(hint), Values::Words(w)) => format!(":{hint}:({})", w.join(" ")),
        (Some(hint), Values::File) => format!(":{hint}:_files"),
        (Some(hint), Values::Dir) => format!(":{hint}:_files -/"),
        (Some(hint), Values::Free) => format!(":{hint}: "),
    };
    let rest = quote(&format!("[{}]{value}", bracketed(f.help)));
    match (f.short, f.multi) {
        ("", true) => format!("'*'--{}{rest}", f.long),
        ("", false) => format!("--{}{rest}", f.long),
        (s, true) => format!("'*'{{-{s},--{}}}{rest}", f.long),
        (s, false) => format!("'(-{s} --{l})'{{-{s},--{l}}}{rest}", l = f.long),
    }
}

pub fn script() -> String {
    let mut s = String::from(HEAD);
    for c in commands() {
        let _ = writeln!(s, "            {}", quote(&format!("{}:{}", c.name, summary(c.name))));
    }
    s.push_str("        )\n        _describe -t commands 'podup command' cmds\n        return\n    fi\n");
    s.push_str("    local cmd=${words[2]}\n    shift words\n    (( CURRENT-- ))\n");
    s.push_str("    curcontext=\"${curcontext%:*:*}:podup-$cmd:\"\n    case $cmd in\n");
    for c in commands() {
        let _ = writeln!(s, "    ({})", c.name);
        let _ = write!(s, "        _arguments -S");
        for f in all_flags(c) {
            let _ = write!(s, " \\\n            {}", flag_spec(f));
        }
        let words = c.words.join(" ");
        let operands: Vec<String> = match (c.words.is_empty(), operands(c.name)) {
            (true, Operands::Services) => vec!["'*:service:_podup_services'".into()],
            (true, Operands::Task) => vec!["'1:task id:_podup_tasks'".into()],
            (true, Operands::None) => vec!["'*:argument: '".into()],
            (false, Operands::Task) => vec![
                format!("'1:action: _alternative \"words:action:({words})\" \"tasks:task id:_podup_tasks\"'"),
                "'2:: :_podup_tasks'".into(),
            ],
            (false, Operands::Services) => vec![
                format!("'1:action: _alternative \"words:action:({words})\" \"services:service:_podup_services\"'"),
                "'*:service:_podup_services'".into(),
            ],
            (false, Operands::None) => vec![format!("'1:action:({words})'"), "'*:argument: '".into()],
        };
        for o in operands {
            let _ = write!(s, " \\\n            {o}");
        }
        s.push_str("\n        ;;\n");
    }
    s.push_str(TAIL);
    s
}
