//! `podup token add NAME --role R | list [--json] | revoke NAME`: the flags and what they do.

use super::{Error, UsageError, open_db, options, print_json};
use crate::auth::tokens::{self, Role};
use crate::clock::now_ms;
use crate::config::Config;

#[derive(Debug, PartialEq)]
pub enum TokenArgs {
    Add {
        name: String,
        role: Role,
    },
    /// `token list [--json]`
    List {
        json: bool,
    },
    Revoke {
        name: String,
    },
}

pub fn parse(rest: &[String]) -> Result<TokenArgs, UsageError> {
    let m = options("token")
        .parse(rest)
        .map_err(|e| UsageError(format!("token: {e}")))?;
    let words: Vec<&str> = m.free.iter().map(String::as_str).collect();
    if m.opt_present("json") && words.first() != Some(&"list") {
        return Err(UsageError("token: --json goes with 'list'".into()));
    }
    match words.as_slice() {
        ["add", name] => {
            let role = m
                .opt_str("role")
                .ok_or_else(|| UsageError("token add: --role admin|trigger|read is required".into()))?;
            let role = Role::parse(&role)
                .ok_or_else(|| UsageError(format!("--role: expected admin, trigger or read, got '{role}'")))?;
            Ok(TokenArgs::Add {
                name: name.to_string(),
                role,
            })
        }
        ["list"] => Ok(TokenArgs::List {
            json: m.opt_present("json"),
        }),
        ["revoke", name] => Ok(TokenArgs::Revoke { name: name.to_string() }),
        _ => Err(UsageError(
            "token: expected 'add NAME --role R', 'list' or 'revoke NAME'".into(),
        )),
    }
}

pub fn run(config: &Config, args: &TokenArgs) -> Result<(), Error> {
    let conn = open_db(config)?;
    match args {
        TokenArgs::Add { name, role } => {
            let token = tokens::add(&conn, name, *role, now_ms()).map_err(Error::Token)?;
            eprintln!(
                "podup: token '{name}' ({}) created; it is shown only this once:",
                role.as_str()
            );
            println!("{token}");
        }
        TokenArgs::List { json } => {
            let list = tokens::list(&conn)?;
            if *json {
                // No API route lists tokens; these are the fields a token has besides its
                // secret, which is never stored (only its hash, which is never shown).
                return print_json(&serde_json::json!({ "tokens": list }));
            }
            println!("{:<24} {:<8} {:<14} LAST USED", "NAME", "ROLE", "CREATED");
            for t in list {
                let last = t.last_used_ms.map_or("never".to_string(), |ms| (ms / 1000).to_string());
                println!(
                    "{:<24} {:<8} {:<14} {last}",
                    t.name,
                    t.role.as_str(),
                    t.created_ms / 1000
                );
            }
        }
        TokenArgs::Revoke { name } => {
            if !tokens::revoke(&conn, name)? {
                return Err(Error::NoToken { name: name.clone() });
            }
            eprintln!("podup: token '{name}' revoked, and the panel sessions signed in with it");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn token_names_its_bad_flag() {
        let e = parse(&args("list --bogus")).unwrap_err().0;
        assert!(e.starts_with("token: ") && e.contains("'bogus'"), "{e}");
        assert_eq!(
            parse(&args("add ci --role root")).unwrap_err().0,
            "--role: expected admin, trigger or read, got 'root'"
        );
        assert_eq!(parse(&args("list --json")).unwrap(), TokenArgs::List { json: true });
        assert_eq!(
            parse(&args("add ci --role read --json")).unwrap_err().0,
            "token: --json goes with 'list'"
        );
    }
}
