//! Tasks (docs/tasks.md): the model and its status machine, dispatch into transient
//! systemd units, and the worker that carries a task out.

pub mod model;
