//! Authorizing a caller: the credential it presents (`extract::credential`) checked
//! against the right a route needs (`auth::authorize`); a credential that was
//! presented and did not verify is counted (`auth_limit::failed`). The router does
//! this once per route; the panel's sign-in with a token, itself.

use super::auth_limit::{Kind, failed};
use super::context::Ctx;
use super::extract::{self, Peer};
use super::refusal::Refusal;
use super::{Request, Response};
use crate::auth::{self, Credential, Denied, Identity, Need};
use crate::clock::now_ms;

/// Checks the caller's bearer token or panel session. The credential is checked
/// first, always; only one that was presented and did not verify is counted
/// (`auth_limit::failed`, as a token or a session), which may turn its 401 into a 429.
pub fn authorize(ctx: &mut Ctx<'_>, req: &Request, need: Need, action: &'static str) -> Result<Identity, Refusal> {
    let credential = extract::credential(&Peer::of(ctx), req);
    let kind = match credential {
        Credential::Bearer(_) => Kind::Token,
        _ => Kind::Session,
    };
    authorize_as(ctx, req, &credential, need, action, kind)
}

/// `authorize` with this credential, counting a failure as `kind`. On success the
/// context names the identity (the event row's `meta.by`).
pub fn authorize_as(
    ctx: &mut Ctx<'_>,
    req: &Request,
    credential: &Credential<'_>,
    need: Need,
    action: &'static str,
    kind: Kind,
) -> Result<Identity, Refusal> {
    let now = now_ms();
    let conn = ctx.db.get()?;
    match auth::authorize(conn, credential, need, now) {
        Ok(id) => {
            ctx.authenticated = true;
            ctx.identity = Some(id.name.clone());
            Ok(id)
        }
        // A credential was presented and did not verify: a guess.
        Err(d @ Denied::Invalid) => {
            let refused = Response::error(d.status(), action, d.code(), d.message());
            Err(failed(ctx, req, kind, refused).into())
        }
        // None at all guesses nothing.
        Err(d) => Err(d.into()),
    }
}
