//! `podup token add NAME --role R | list | revoke NAME`.

use super::{EXIT_OK, UsageError, common_options, fail, open_db};
use crate::auth::tokens::{self, Role};
use crate::clock::now_ms;
use crate::config::Config;

#[derive(Debug, PartialEq)]
pub enum TokenArgs {
    Add { name: String, role: Role },
    List,
    Revoke { name: String },
}

pub fn parse(rest: &[String]) -> Result<TokenArgs, UsageError> {
    let mut o = common_options();
    o.optopt("", "role", "admin, trigger or read", "ROLE");
    let m = o.parse(rest).map_err(|e| UsageError(format!("token: {e}")))?;
    match m.free.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
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
        ["list"] => Ok(TokenArgs::List),
        ["revoke", name] => Ok(TokenArgs::Revoke { name: name.to_string() }),
        _ => Err(UsageError(
            "token: expected 'add NAME --role R', 'list' or 'revoke NAME'".into(),
        )),
    }
}

pub fn run(config: &Config, args: &TokenArgs) -> u8 {
    let conn = match open_db(config) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match args {
        TokenArgs::Add { name, role } => match tokens::add(&conn, name, *role, now_ms()) {
            Ok(token) => {
                eprintln!(
                    "podup: token '{name}' ({}) created; it is shown only this once:",
                    role.as_str()
                );
                println!("{token}");
                EXIT_OK
            }
            Err(e) => fail(e),
        },
        TokenArgs::List => match tokens::list(&conn) {
            Ok(list) => {
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
                EXIT_OK
            }
            Err(e) => fail(e),
        },
        TokenArgs::Revoke { name } => match tokens::revoke(&conn, name) {
            Ok(true) => {
                eprintln!("podup: token '{name}' revoked, and the panel sessions signed in with it");
                EXIT_OK
            }
            Ok(false) => fail(format!("there is no token named '{name}'")),
            Err(e) => fail(e),
        },
    }
}
