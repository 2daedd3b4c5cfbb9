//! See probe/mod.rs.
