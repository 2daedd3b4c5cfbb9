//! The shared nouns of podup (`docs/tasks.md`): task kinds and statuses with the status
//! machine's rules, and the spec a task carries out. Pure types with their stored and
//! JSON spellings; no I/O. Every layer may use them, so this module imports no other
//! part of podup.

mod spec;
mod task;

pub use spec::{TaskSpec, UnitSpec};
pub use task::{TaskKind, TaskStatus, category_kinds};
