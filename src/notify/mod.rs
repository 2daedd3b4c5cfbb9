//! Notifications (docs/notifications.md): sinks configured as URLs, a message per
//! ended task (and per window of failed authentications) written to the outbox in the
//! transaction that ends the task, and delivery after the commit by a process that may
//! use the network, with retries until the give-up period ends.
//!
//! `message` is podup's JSON, `sink` parses a sink's URL, `format` renders a message
//! for a sink, `send` carries a rendered request out, `compose` builds messages from
//! the state database, `deliver` works the outbox, `notifier` holds what this
//! process knows about its sinks, and `view` shows them.

pub mod compose;
pub mod deliver;
pub mod format;
pub mod message;
pub mod notifier;
pub mod send;
pub mod sink;
pub mod view;

pub use notifier::{Notifier, install, installed};
