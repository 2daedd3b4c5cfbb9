//! What a handler is given: the context of the request (`Ctx`: configuration,
//! database, host, the request's id and client, and the identity once one verified)
//! and the matched route (`Call`: the request, the route's action, its path values and
//! the authorized caller). Handlers and the helpers they share import this module;
//! it imports none of them, nor the route table.

use super::refusal::Refusal;
use super::{Request, Response, answer};
use crate::auth::Identity;
use crate::config::Config;
use crate::host::Host;
use crate::store::Db;
use crate::tasks::dispatch::Dispatcher;
use std::path::Path;
use std::time::Instant;

/// What a handler may use.
pub struct Ctx<'a> {
    pub config: &'a Config,
    pub started: Instant,
    pub db: &'a mut Db,
    pub host: &'a Host,
    /// Absolute path of this binary (what task units run).
    pub exe: &'a Path,
    /// The id of the request's event row.
    pub request_id: &'a str,
    /// The client's address without port (rate-limit key).
    pub client_ip: String,
    /// Set once the request's credential verified (a token, a session, a webhook
    /// signature): its event row is then never folded or pruned for size.
    pub authenticated: bool,
    /// The token or session user that verified, named in the event row's `meta` as
    /// `by` (the operator's remedy for a credential that floods: revoke that one).
    pub identity: Option<String>,
}

impl<'a> Ctx<'a> {
    pub fn dispatcher(&self) -> Dispatcher<'a> {
        Dispatcher {
            config: self.config,
            host: self.host,
            exe: self.exe,
        }
    }
}

/// A matched request, as its handler sees it.
pub struct Call<'r> {
    pub req: &'r Request,
    pub action: &'static str,
    params: Vec<(&'static str, &'r str)>,
    /// The identity the router authorized (routes with a `Role` guard).
    pub who: Option<Identity>,
}

impl<'r> Call<'r> {
    /// The call of the route `action` with the `{name}` values the router matched;
    /// no one is authorized yet.
    pub fn new(req: &'r Request, action: &'static str, params: Vec<(&'static str, &'r str)>) -> Call<'r> {
        Call {
            req,
            action,
            params,
            who: None,
        }
    }

    /// The path segment named `{name}` in the pattern.
    pub fn param(&self, name: &str) -> Option<&'r str> {
        self.params.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    /// The `{id}` segment (the router checked it is a task id).
    pub fn task_id(&self) -> i64 {
        self.param("id").and_then(|v| v.parse().ok()).unwrap_or_default()
    }

    /// The authorized caller's name.
    pub fn who(&self) -> &str {
        self.who.as_ref().map_or("", |w| w.name.as_str())
    }

    /// A 200 answer with reason `ok`.
    pub fn ok(&self, body: &serde_json::Value) -> Result<Response, Refusal> {
        Ok(answer::ok(self.action, body))
    }
}
