//! `Refusal`: every way a handler declines a request, with `From` conversions so
//! handlers use `?`, and one `into_response` that turns it into the answer (status,
//! code, message; the status mapping of the shared failures lives here).

use super::Response;
use super::answer;
use crate::auth::Denied;
use crate::ratelimit::Limited;
use crate::store::StoreError;
use crate::tasks::control::ControlError;
use crate::tasks::dispatch::Dispatcher;

#[derive(Debug)]
pub enum Refusal {
    /// The state database cannot be used at all: 503 `db_unavailable`.
    DbUnavailable(StoreError),
    /// A statement failed on an open database: 503 `store_failed`.
    Store(rusqlite::Error),
    /// 400: the request is not what the route takes.
    Invalid { code: &'static str, message: String },
    /// 404: what the request names does not exist.
    NotFound { code: &'static str, message: String },
    /// 409: the request cannot be done in the present state.
    Conflict { code: &'static str, message: String },
    /// The credential is missing, wrong, or may not do this (`Denied::status`).
    Denied(Denied),
    /// 429 with `Retry-After`; `reason` names the limit, `what` what was counted.
    Limited {
        reason: &'static str,
        what: &'static str,
        limit: Limited,
    },
    /// 500: the task exists and is marked failed with systemd-run's stderr.
    Dispatch {
        task_id: i64,
        message: String,
        status_url: String,
    },
    /// A task that cannot be stopped or retried (`ControlError::status`), linked to it.
    Task {
        status: u16,
        code: &'static str,
        message: String,
        task_id: Option<i64>,
    },
    /// An answer already made whole (a counted authentication failure).
    Answer(Box<Response>),
}

impl Refusal {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Refusal {
        Refusal::Invalid {
            code,
            message: message.into(),
        }
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Refusal {
        Refusal::NotFound {
            code,
            message: message.into(),
        }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Refusal {
        Refusal::Conflict {
            code,
            message: message.into(),
        }
    }

    /// A failed create, stop or retry; a rate limit is the image's, or, for
    /// `update_all` and `check_updates`, that action's.
    pub fn control(action: &'static str, e: ControlError, d: &Dispatcher<'_>) -> Refusal {
        let (status, code, message, task_id) = (e.status(), e.code(), e.to_string(), e.task_id());
        match e {
            ControlError::RateLimited(limit) => {
                let (reason, what) = match action {
                    "update_all" => ("update_all_rate_limited", "updates"),
                    "check_updates" => ("check_rate_limited", "update checks"),
                    _ => ("image_rate_limited", "updates"),
                };
                Refusal::Limited { reason, what, limit }
            }
            ControlError::Store(err) => Refusal::Store(err),
            ControlError::Dispatch { task_id, message } => Refusal::Dispatch {
                status_url: d.status_url(task_id),
                task_id,
                message,
            },
            _ => Refusal::Task {
                status,
                code,
                message,
                task_id,
            },
        }
    }

    /// The answer, as the route named `action` sends it.
    pub fn into_response(self, action: &'static str) -> Response {
        match self {
            Refusal::DbUnavailable(e) => answer::db_unavailable(action, &e),
            Refusal::Store(e) => answer::store_failed(action, &e),
            Refusal::Invalid { code, message } => Response::error(400, action, code, message),
            Refusal::NotFound { code, message } => Response::error(404, action, code, message),
            Refusal::Conflict { code, message } => Response::error(409, action, code, message),
            Refusal::Denied(d) => Response::error(d.status(), action, d.code(), d.message()),
            Refusal::Limited { reason, what, limit } => answer::rate_limited(action, reason, what, &limit),
            Refusal::Dispatch {
                task_id,
                message,
                status_url,
            } => answer::dispatch_failed(action, task_id, &message, &status_url),
            Refusal::Task {
                status,
                code,
                message,
                task_id,
            } => {
                let r = Response::error(status, action, code, message);
                match task_id {
                    Some(id) => r.with_task(id),
                    None => r,
                }
            }
            Refusal::Answer(r) => *r,
        }
    }
}

impl From<&StoreError> for Refusal {
    fn from(e: &StoreError) -> Refusal {
        Refusal::DbUnavailable(e.clone())
    }
}

impl From<rusqlite::Error> for Refusal {
    fn from(e: rusqlite::Error) -> Refusal {
        Refusal::Store(e)
    }
}

impl From<Denied> for Refusal {
    fn from(d: Denied) -> Refusal {
        Refusal::Denied(d)
    }
}

impl From<Response> for Refusal {
    fn from(r: Response) -> Refusal {
        Refusal::Answer(Box::new(r))
    }
}
