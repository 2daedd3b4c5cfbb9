//! The steps a deploy and a recovery share: the write-ahead note before each change,
//! pointing a tag back at the previous image (and restarting onto it), and what is
//! written down when a unit is left failing.

use super::journal::Journal;
use super::pause::{self, Point};
use super::verify::{OnStop, Verdict, verify};
use crate::host::{Host, HostError};
use crate::model::Intent;
use crate::store::tasks::UnitUpdate;

/// Writes the step about to be taken on the unit's row, before it is taken.
pub fn note(journal: &Journal<'_>, unit: &str, intent: Intent) {
    journal.update(
        unit,
        &UnitUpdate {
            intent: Some(intent),
            ..Default::default()
        },
    );
}

/// Points `tag` back at `previous` and, when the unit was restarted onto something
/// else, restarts it and verifies it (whatever stop requests say: a rollback ends
/// with its unit settled). A failed restart and the manager's own retries
/// (`Restart=on-failure`) may have used up the unit's start limit, so the failed state
/// is reset first; that is best effort: if it fails, the restart says why.
pub fn roll_back(
    host: &Host,
    journal: &Journal<'_>,
    unit: &str,
    tag: &str,
    previous: &str,
    restart: bool,
    verify_secs: u64,
) -> Verdict {
    note(journal, unit, if restart { Intent::RollBack } else { Intent::Tag });
    let tagged = host.tag(previous, tag);
    journal.flush(Some(unit), "rollback");
    tagged.map_err(|e| format!("the rollback failed: {e}"))?;
    pause::at(journal, Point::RollbackTagged);
    if !restart {
        return Ok(());
    }
    let _ = host.reset_failed(unit);
    let restarted = host.restart(unit);
    journal.flush(Some(unit), "rollback");
    restarted.map_err(|e| format!("the rollback failed: {e}"))?;
    pause::at(journal, Point::RollbackVerifying);
    let verdict = verify(host, journal, unit, Some(previous), verify_secs, OnStop::Finish);
    journal.flush(Some(unit), "rollback");
    verdict
}

/// Puts `systemctl status` and the journal tail of the unit into the task log.
pub fn diagnose(host: &Host, journal: &Journal<'_>, unit: &str) {
    let status = host.status_text(unit).unwrap_or_else(|e: HostError| e.to_string());
    journal.error("diagnose", Some(unit), &format!("systemctl status:\n{status}"));
    let tail = host.journal_tail(unit, 30).unwrap_or_else(|e: HostError| e.to_string());
    journal.error("diagnose", Some(unit), &format!("last journal lines:\n{tail}"));
    journal.flush(Some(unit), "diagnose");
}
