//! The shared nouns of podup (`docs/tasks.md`): task kinds and statuses with the status
//! machine's rules, the spec a task carries out (units, scope, mode), unit statuses and log
//! levels. Pure types with their one spelling each, used alike in SQLite, JSON and logs; no
//! I/O. Every layer may use them, so this module imports no other part of podup.

#[macro_use]
mod text;
mod notify;
mod policy;
mod secret;
mod spec;
mod task;
mod unit;
mod update;

pub use notify::{DeliveryStatus, NotifyEvent};
pub use policy::{Action, Follow, Level, Policy, Span, Window};
pub use secret::Secret;
pub use spec::{DEFAULT_PULL_PARALLEL, Engine, Mode, Scope, TaskSpec, UnitSpec};
pub use task::{TaskKind, TaskStatus, category_kinds};
pub use text::UnknownText;
pub use unit::{Intent, LogLevel, UnitStatus};
pub use update::UpdateStatus;
