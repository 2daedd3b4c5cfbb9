//! The order of a parallel deploy, from the units' own dependencies (`host::deps`):
//! which units go together (a group: restarted in one job, verified over one window,
//! rolled back together), and which unit's restart waits for which unit of another group.
//!
//! - Groups: units joined by `BindsTo=` or `PartOf=`, directly or through a unit they
//!   both name (a pod's unit, which need not be in the task: the containers of a pod are
//!   bound to it by `BindsTo=` and `After=`, both in `podman generate systemd --new` units
//!   and in Quadlet's: podman's pkg/systemd/generate/pods.go and pkg/systemd/quadlet).
//! - Waits: a unit restarts only after the task's units it is `After=`, `Requires=` or
//!   `BindsTo=` have restarted (or their deploy ended). Units outside the task are
//!   ignored. A cycle is broken in the task's order, with a warning.

use crate::host::deps::UnitDeps;
use std::collections::BTreeMap;

/// What one unit waits for before its restart, and which setting says so.
#[derive(Debug, Clone, PartialEq)]
pub struct Wait {
    /// Index of the unit waited for, in the task's units.
    pub on: usize,
    pub why: &'static str,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// Indexes of the task's units, group by group, each in deploy order.
    pub groups: Vec<Vec<usize>>,
    /// For each unit (task index): the units of other groups it waits for.
    pub waits: Vec<Vec<Wait>>,
    /// Cycles broken, for the task log.
    pub warnings: Vec<String>,
}

/// Plans the deploy of `units` (in the task's order) from `deps` (any order; a unit
/// without an entry has no dependencies).
pub fn plan(units: &[String], deps: &[UnitDeps]) -> Plan {
    let n = units.len();
    let index: BTreeMap<&str, usize> = units.iter().enumerate().map(|(i, u)| (u.as_str(), i)).collect();
    let of = |i: usize| deps.iter().find(|d| d.id == units[i]);
    // Edges: before -> after, with the setting that makes it.
    let mut edges: BTreeMap<(usize, usize), &'static str> = BTreeMap::new();
    for b in 0..n {
        let Some(d) = of(b) else { continue };
        for (list, why) in [
            (&d.binds_to, "BindsTo="),
            (&d.requires, "Requires="),
            (&d.after, "After="),
        ] {
            for name in list {
                if let Some(&a) = index.get(name.as_str()).filter(|&&a| a != b) {
                    edges.insert((a, b), why);
                }
            }
        }
    }
    let (unit_order, warnings) = order(units, &mut edges);
    let position: Vec<usize> = {
        let mut p = vec![0; n];
        for (pos, &i) in unit_order.iter().enumerate() {
            p[i] = pos;
        }
        p
    };
    // Groups through BindsTo=/PartOf=, with names outside the task as connectors.
    let mut names: Vec<String> = units.to_vec();
    let mut parent: Vec<usize> = (0..n).collect();
    for b in 0..n {
        let Some(d) = of(b) else { continue };
        for name in d.binds_to.iter().chain(&d.part_of) {
            let other = match names.iter().position(|x| x == name) {
                Some(i) => i,
                None => {
                    names.push(name.clone());
                    parent.push(parent.len());
                    parent.len() - 1
                }
            };
            let (ra, rb) = (root(&mut parent, b), root(&mut parent, other));
            parent[ra.max(rb)] = ra.min(rb);
        }
    }
    let mut by_root: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &i in &unit_order {
        let r = root(&mut parent, i);
        by_root.entry(r).or_default().push(i);
    }
    let mut groups: Vec<Vec<usize>> = by_root.into_values().collect();
    groups.sort_by_key(|g| position[g[0]]);
    let group_of = |i: usize| groups.iter().position(|g| g.contains(&i)).unwrap_or(0);
    // A group restarts in one job once all its members are ready, so waits between
    // groups must not form a cycle either (a waits for b in another group whose member
    // waits for a's group): such a cycle is broken in the groups' order, with a warning.
    let mut between: BTreeMap<(usize, usize), &'static str> = BTreeMap::new();
    for (&(a, b), &why) in &edges {
        if group_of(a) != group_of(b) {
            between.insert((group_of(a), group_of(b)), why);
        }
    }
    let group_names: Vec<String> = groups
        .iter()
        .map(|g| g.iter().map(|&i| units[i].as_str()).collect::<Vec<_>>().join(" + "))
        .collect();
    let (_, group_warnings) = order(&group_names, &mut between);
    let mut warnings = warnings;
    warnings.extend(group_warnings);
    let mut waits = vec![Vec::new(); n];
    for (&(a, b), &why) in &edges {
        if group_of(a) != group_of(b) && between.contains_key(&(group_of(a), group_of(b))) {
            waits[b].push(Wait { on: a, why });
        }
    }
    Plan {
        groups,
        waits,
        warnings,
    }
}

fn root(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// A topological order of the units (earliest in the task first among those free to
/// go); a cycle is broken by letting the earliest remaining unit go, dropping the edges
/// into it, with a warning.
fn order(units: &[String], edges: &mut BTreeMap<(usize, usize), &'static str>) -> (Vec<usize>, Vec<String>) {
    let n = units.len();
    let mut done = vec![false; n];
    let mut out = Vec::with_capacity(n);
    let mut warnings = Vec::new();
    while out.len() < n {
        let free = (0..n).find(|&b| !done[b] && !edges.keys().any(|&(a, bb)| bb == b && !done[a]));
        let next = match free {
            Some(b) => b,
            None => {
                let b = (0..n).find(|&b| !done[b]).unwrap_or(0);
                let dropped: Vec<(usize, usize)> =
                    edges.keys().filter(|&&(a, bb)| bb == b && !done[a]).copied().collect();
                let names: Vec<String> = dropped
                    .iter()
                    .map(|&(a, _)| format!("{} ({})", units[a], edges[&(a, b)]))
                    .collect();
                warnings.push(format!(
                    "the units' dependencies form a cycle: {} goes first, in the task's order, though it is ordered after {}",
                    units[b],
                    names.join(", ")
                ));
                for e in dropped {
                    edges.remove(&e);
                }
                b
            }
        };
        done[next] = true;
        out.push(next);
    }
    (out, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn dep(id: &str, after: &[&str], binds: &[&str], part_of: &[&str]) -> UnitDeps {
        UnitDeps {
            id: id.into(),
            after: names(after),
            requires: Vec::new(),
            binds_to: names(binds),
            part_of: names(part_of),
        }
    }

    #[test]
    fn waits_between_groups_never_form_a_cycle() {
        // a1 + a2 and b1 + b2 each restart together; a1 comes after b1 and b2 after a2,
        // so each group would wait for the other: the later wait is dropped, with a warning.
        let units = names(&["a1", "a2", "b1", "b2"]);
        let deps = [dep("a1", &["b1"], &["a2"], &[]), dep("b2", &["a2"], &["b1"], &[])];
        let p = plan(&units, &deps);
        assert_eq!(p.groups.len(), 2, "{p:?}");
        let waiting: Vec<usize> = (0..4).filter(|&i| !p.waits[i].is_empty()).collect();
        assert_eq!(waiting.len(), 1, "one of the two waits stays: {p:?}");
        assert!(p.warnings.iter().any(|w| w.contains("cycle")), "{p:?}");
    }

    #[test]
    fn independent_units_are_groups_of_one_without_waits() {
        let p = plan(&names(&["a", "b", "c"]), &[]);
        assert_eq!(p.groups, [vec![0], vec![1], vec![2]]);
        assert!(p.waits.iter().all(Vec::is_empty) && p.warnings.is_empty());
    }

    #[test]
    fn after_makes_a_wait_and_outside_units_are_ignored() {
        let units = names(&["b", "a"]);
        let deps = [
            dep("b", &["a", "basic.target", "app.slice"], &[], &[]),
            dep("a", &["basic.target"], &[], &[]),
        ];
        let p = plan(&units, &deps);
        assert_eq!(p.groups, [vec![1], vec![0]], "a goes first");
        assert_eq!(p.waits[0], [Wait { on: 1, why: "After=" }]);
        assert!(p.waits[1].is_empty());
    }

    #[test]
    fn requires_without_after_also_waits() {
        let units = names(&["a", "b"]);
        let mut b = dep("b", &[], &[], &[]);
        b.requires = names(&["a"]);
        assert_eq!(
            plan(&units, &[b]).waits[1],
            [Wait {
                on: 0,
                why: "Requires="
            }]
        );
    }

    #[test]
    fn bound_units_form_one_group_in_dependency_order() {
        let units = names(&["web", "db", "other"]);
        let deps = [dep("web", &["db"], &["db"], &[]), dep("db", &[], &[], &[])];
        let p = plan(&units, &deps);
        assert_eq!(p.groups, [vec![1, 0], vec![2]]);
        assert!(
            p.waits.iter().all(Vec::is_empty),
            "a group orders itself: {:?}",
            p.waits
        );
    }

    #[test]
    fn a_pods_containers_go_together_through_the_pods_unit() {
        let units = names(&["c1", "solo", "c2"]);
        let deps = [
            dep("c1", &["pod-p.service"], &["pod-p.service"], &[]),
            dep("c2", &["pod-p.service"], &[], &["pod-p.service"]),
        ];
        let p = plan(&units, &deps);
        assert_eq!(p.groups, [vec![0, 2], vec![1]]);
    }

    #[test]
    fn a_cycle_is_broken_in_the_tasks_order_with_a_warning() {
        let units = names(&["a", "b", "c"]);
        let deps = [
            dep("a", &["b"], &[], &[]),
            dep("b", &["a"], &[], &[]),
            dep("c", &["b"], &[], &[]),
        ];
        let p = plan(&units, &deps);
        assert_eq!(p.groups, [vec![0], vec![1], vec![2]]);
        assert_eq!(p.warnings.len(), 1);
        assert!(
            p.warnings[0].contains("a goes first") && p.warnings[0].contains("b (After=)"),
            "{}",
            p.warnings[0]
        );
        assert!(p.waits[0].is_empty(), "the edge into a is dropped");
        assert_eq!(p.waits[1], [Wait { on: 0, why: "After=" }]);
        assert_eq!(p.waits[2], [Wait { on: 1, why: "After=" }]);
    }
}
