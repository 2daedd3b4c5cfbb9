//! Every sender's reader against its real fixtures with every value, at every depth,
//! replaced one at a time by a value of another type: it never panics, and every body
//! gives at least one item (an event is judged, never dropped).

use super::{Sender, read};
use serde_json::{Value, json};

/// (sender, fixture files under tests/fixtures/<sender>/)
const FIXTURES: &[(Sender, &[&str])] = &[
    (
        Sender::Harbor,
        &[
            "PUSH_ARTIFACT.tagged.docs-2.0.json",
            "pushImage.docs-1.10.json",
            "DELETE_ARTIFACT.cloudevents.docs-2.8.json",
        ],
    ),
    (
        Sender::Acr,
        &["push.tagged.acr-docs-2017.json", "chart_push.acr-docs-2023.json"],
    ),
    (
        Sender::Jfrog,
        &[
            "docker.pushed.list-manifest.keel-2022.json",
            "docker.pushed.sample.telegraf.json",
        ],
    ),
    (Sender::Registry, &["push.tagged.gitlab-registry-erxes-2018.keel.json"]),
    (
        Sender::Quay,
        &[
            "repo_push.quay-docs-2017.json",
            "repo_push.updated_tags-object.quay-docs-2015.json",
        ],
    ),
    (Sender::Dockerhub, &["push.keel-karolisr-2017.json"]),
];

/// Every value at every depth of `v`, one at a time, replaced by each odd value.
fn mutations(v: &Value) -> Vec<Value> {
    let odd = [
        json!(null),
        json!(1),
        json!(-1.5),
        json!([]),
        json!({}),
        json!(""),
        json!("x"),
        json!([{}]),
    ];
    let mut out = Vec::new();
    match v {
        Value::Object(map) => {
            for (key, child) in map {
                for o in odd.iter().cloned().chain(mutations(child)) {
                    let mut copy = map.clone();
                    copy.insert(key.clone(), o);
                    out.push(Value::Object(copy));
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                for o in odd.iter().cloned().chain(mutations(child)) {
                    let mut copy = items.clone();
                    copy[i] = o;
                    out.push(Value::Array(copy));
                }
            }
        }
        _ => {}
    }
    out
}

#[test]
fn wrong_types_anywhere_never_panic() {
    let none = |_: &str| None;
    let mut bodies = 0;
    for (sender, files) in FIXTURES {
        for file in *files {
            let path = format!("{}/tests/fixtures/{}/{file}", env!("CARGO_MANIFEST_DIR"), sender.name());
            let fixture: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            for body in mutations(&fixture) {
                let bytes = serde_json::to_vec(&body).unwrap();
                let d = read(*sender, &none, &bytes).unwrap_or_else(|e| panic!("{file}: {e}: {body}"));
                assert!(
                    !d.items.is_empty() || sender == &Sender::Registry,
                    "{file}: no item for {body}"
                );
                bodies += 1;
            }
        }
    }
    assert!(bodies > 1000, "{bodies} bodies");
}
