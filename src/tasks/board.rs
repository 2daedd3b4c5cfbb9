//! The board of a parallel deploy (`parallel`): which units restarted or ended, so that
//! the units after them may restart, and the joint restart of a group's members.

use super::deploy::Order;
use super::journal::Journal;
use super::lifecycle::UnitOutcome;
use super::plan::Plan;
use crate::host::{Host, HostError};
use crate::model::UnitSpec;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// Which units may be waited for no longer: restarted, or their deploy ended.
pub(super) struct Board<'a> {
    pub(super) units: &'a [UnitSpec],
    /// The units found to run their tag's image already (`current`), with their outcome.
    pub(super) current: Vec<Option<UnitOutcome>>,
    /// For each group, the units outside the task its members are bound to.
    pub(super) outside: Vec<Vec<String>>,
    pub(super) plan: &'a Plan,
    pub(super) ready: Mutex<Vec<bool>>,
    pub(super) changed: Condvar,
    /// The joint restart of each group of several units.
    pub(super) joint: Mutex<Joint>,
    pub(super) joined: Condvar,
}

/// Which members of a group reached their restart, which ended before it, and the
/// answer of their one `systemctl restart`.
pub(super) struct Joint {
    pub(super) arrived: Vec<bool>,
    pub(super) gone: Vec<bool>,
    pub(super) answers: Vec<Option<Result<(), HostError>>>,
}

impl Board<'_> {
    fn index(&self, unit: &str) -> Option<usize> {
        self.units.iter().position(|u| u.unit == unit)
    }

    pub(super) fn mark(&self, i: usize) {
        let mut ready = self.ready.lock().unwrap_or_else(|e| e.into_inner());
        ready[i] = true;
        self.changed.notify_all();
        drop(ready);
        let mut joint = self.joint.lock().unwrap_or_else(|e| e.into_inner());
        joint.gone[i] = true;
        self.joined.notify_all();
    }

    fn wait_joint<'g>(&self, g: MutexGuard<'g, Joint>) -> MutexGuard<'g, Joint> {
        self.joined
            .wait_timeout(g, Duration::from_millis(200))
            .map(|(g, _)| g)
            .unwrap_or_else(|e| e.into_inner().0)
    }
}

impl Order for Board<'_> {
    fn before_restart(&self, journal: &Journal<'_>, unit: &str) {
        let Some(i) = self.index(unit) else { return };
        let waits = &self.plan.waits[i];
        let pending = |ready: &[bool]| waits.iter().filter(|w| !ready[w.on]).collect::<Vec<_>>();
        let mut ready = self.ready.lock().unwrap_or_else(|e| e.into_inner());
        let first = pending(&ready);
        if first.is_empty() {
            return;
        }
        let names: Vec<String> = first
            .iter()
            .map(|w| format!("{} ({})", self.units[w.on].unit, w.why))
            .collect();
        drop(ready);
        journal.info(
            "order",
            Some(unit),
            &format!("waits for {} to restart", names.join(", ")),
        );
        ready = self.ready.lock().unwrap_or_else(|e| e.into_inner());
        while !pending(&ready).is_empty() {
            ready = self
                .changed
                .wait_timeout(ready, Duration::from_millis(500))
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        drop(ready);
        journal.info(
            "order",
            Some(unit),
            &format!("{} restarted or ended; restarting", names.join(", ")),
        );
    }

    fn restarted(&self, unit: &str) {
        if let Some(i) = self.index(unit) {
            self.mark(i);
        }
    }

    /// Waits until every member of the unit's group reached its restart or ended; the
    /// first of them in the group's order restarts all that reached it, with the units
    /// outside the task they are bound to (a pod's unit), in one `systemctl restart`, and
    /// each takes that answer. Two restart jobs of one pod's containers at the same time
    /// make systemd cancel one; restarting all of a pod's containers without its unit
    /// stops the pod (its exit policy) and fails their start.
    fn restart_with_group(&self, host: &Host, journal: &Journal<'_>, unit: &str) -> Option<Result<(), HostError>> {
        let i = self.index(unit)?;
        let g = self.plan.groups.iter().position(|g| g.contains(&i))?;
        let group = &self.plan.groups[g];
        if group.len() < 2 {
            return None;
        }
        let mut joint = self.joint.lock().unwrap_or_else(|e| e.into_inner());
        joint.arrived[i] = true;
        self.joined.notify_all();
        while !group.iter().all(|&m| joint.arrived[m] || joint.gone[m]) {
            joint = self.wait_joint(joint);
        }
        let members: Vec<usize> = group.iter().copied().filter(|&m| joint.arrived[m]).collect();
        if members.first() == Some(&i) {
            drop(joint);
            let mut names: Vec<&str> = self.outside[g].iter().map(String::as_str).collect();
            names.extend(members.iter().map(|&m| self.units[m].unit.as_str()));
            journal.info(
                "restart",
                Some(unit),
                &format!("restarting {} in one job", names.join(", ")),
            );
            let answer = host.restart_all(&names).map(|_| ());
            joint = self.joint.lock().unwrap_or_else(|e| e.into_inner());
            for &m in &members {
                joint.answers[m] = Some(answer.clone());
            }
            self.joined.notify_all();
        }
        loop {
            if let Some(answer) = joint.answers[i].clone() {
                return Some(answer);
            }
            joint = self.wait_joint(joint);
        }
    }
}
