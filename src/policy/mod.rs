//! TEMPORARY stub until the policy reading branch lands.
pub mod follow;
pub mod window;
pub struct Effective {
    pub policy: crate::model::Policy,
}
pub fn effective(
    _conn: Option<&rusqlite::Connection>,
    _config: &crate::config::Config,
    _unit: &str,
    _now_ms: i64,
) -> Effective {
    Effective {
        policy: Default::default(),
    }
}
