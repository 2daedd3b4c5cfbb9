//! Integration tests: the built `podup` binary, run as systemd would run it, with
//! sockets the tests bind themselves and a temp state directory per test.

mod activate;
mod api;
mod auto_engine;
mod checks;
mod cli;
mod cli_json;
mod completions;
mod db;
mod faults;
mod follow;
mod golden;
mod hooks;
mod keepalive;
mod layers;
mod metrics;
mod notify;
mod ops;
mod panel;
mod parallel;
mod policy;
mod probe;
mod registry_bed;
mod secrets;
mod serve;
mod support;
