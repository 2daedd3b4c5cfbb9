//! The bash completion script (`podup completions bash`), from the command table.
//! Plain bash: `complete -F`, `compgen`, no bash-completion helpers needed.

use super::completions::{Operands, Values, all_flags, commands, operands, values};
use std::fmt::Write;

/// Asks the podup being completed (`$1`) and drops what it says on stderr; a podup
/// that hangs is cut after two seconds.
const HEAD: &str = r#"# bash completion for podup. Written by `podup completions bash` from podup's
# command table (src/cli/spec.rs): it offers exactly the commands and flags podup
# parses, service names from `podup services --names` and the ids of recent tasks.

_podup_ask() {
    timeout 2 "$@" 2>/dev/null
}

_podup() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    local podup=${COMP_WORDS[0]}
    COMPREPLY=()
"#;

const TAIL: &str = r#"    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$flags" -- "$cur"))
        return
    fi
    # the operands before the cursor: words that are neither flags nor their values
    local i w free=()
    for ((i = 2; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        if [[ " $valued " == *" $w "* ]]; then
            ((i++))
            continue
        fi
        [[ $w == -* ]] || free+=("$w")
    done
    local offer=""
    ((${#free[@]} == 0)) && offer=$words
    case $operands in
    services)
        offer+=" $(_podup_ask "$podup" services --names)"
        ;;
    task)
        if ((${#free[@]} == 0)) || { ((${#free[@]} == 1)) && [[ " $words " == *" ${free[0]} "* ]]; }; then
            offer+=" $(_podup_ask "$podup" tasks --limit 20 | awk 'NR > 1 {print $1}')"
        fi
        ;;
    esac
    COMPREPLY=($(compgen -W "$offer" -- "$cur"))
}

complete -F _podup podup
"#;

pub fn script() -> String {
    let mut s = String::from(HEAD);
    let names: Vec<&str> = commands().map(|c| c.name).collect();
    let _ = writeln!(s, "    if ((COMP_CWORD == 1)); then");
    let _ = writeln!(
        s,
        "        COMPREPLY=($(compgen -W \"{}\" -- \"$cur\"))",
        names.join(" ")
    );
    let _ = writeln!(s, "        return\n    fi");
    let _ = writeln!(s, "    local flags valued words operands");
    let _ = writeln!(s, "    case ${{COMP_WORDS[1]}} in");
    for c in commands() {
        let mut flags = Vec::new();
        let mut valued = Vec::new();
        let mut cases = String::new();
        for f in all_flags(c) {
            flags.push(format!("--{}", f.long));
            if !f.short.is_empty() {
                flags.push(format!("-{}", f.short));
            }
            if f.value.is_none() {
                continue;
            }
            valued.push(format!("--{}", f.long));
            let reply = match values(f) {
                Values::Free => String::new(),
                Values::Words(w) => format!("COMPREPLY=($(compgen -W \"{}\" -- \"$cur\")); ", w.join(" ")),
                Values::File => "COMPREPLY=($(compgen -f -- \"$cur\")); ".into(),
                Values::Dir => "COMPREPLY=($(compgen -d -- \"$cur\")); ".into(),
            };
            let _ = writeln!(cases, "        --{}) {reply}return ;;", f.long);
        }
        let operands = match operands(c.name) {
            Operands::None => "",
            Operands::Services => "services",
            Operands::Task => "task",
        };
        let _ = writeln!(s, "    {})", c.name);
        let _ = writeln!(s, "        flags=\"{}\"", flags.join(" "));
        let _ = writeln!(s, "        valued=\"{}\"", valued.join(" "));
        let _ = writeln!(s, "        words=\"{}\"", c.words.join(" "));
        let _ = writeln!(s, "        operands={operands}");
        let _ = writeln!(s, "        case $prev in\n{cases}        esac\n        ;;");
    }
    let _ = writeln!(s, "    *) return ;;\n    esac");
    s.push_str(TAIL);
    s
}
