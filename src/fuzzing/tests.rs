use super::*;
use std::path::Path;

/// The committed seeds pass every check, so a failing fuzz run is news about the code.
#[test]
fn every_seed_passes_its_target() {
    type Target = fn(&[u8]);
    let targets: [(&str, Target); 8] = [
        ("http_framing", http_framing),
        ("github_payload", github_payload),
        ("sender_payload", sender_payload),
        ("podman_json", podman_json),
        ("quadlet", quadlet),
        ("sink_line", sink_line),
        ("registry_answer", registry_answer),
        ("policy_values", policy_values),
    ];
    for (name, target) in targets {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds").join(name);
        let mut seeds = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            target(&std::fs::read(entry.unwrap().path()).unwrap());
            seeds += 1;
        }
        assert!(seeds > 0, "no seeds in {}", dir.display());
    }
}

/// The input `sender_payload` gets for a fixture file, with the headers its
/// sender sends it with (GitHub's event is the file name's first word).
pub(super) fn sender_input(sender: Sender, file: &str, body: &[u8]) -> Vec<u8> {
    let content_type = match sender {
        Sender::Registry => "application/vnd.docker.distribution.events.v1+json",
        _ => "application/json",
    };
    let mut input = format!("{}\nContent-Type: {content_type}\n", sender.name());
    if sender == Sender::Github {
        let event = file.split('.').next().unwrap_or_default();
        input.push_str(&format!("X-GitHub-Event: {event}\n"));
    }
    input.push('\n');
    let mut input = input.into_bytes();
    input.extend_from_slice(body);
    input
}

/// Every sender's fixtures, through the fuzz target's checks: each is a JSON
/// object that is read, whatever the parser makes of it.
#[test]
fn every_sender_fixture_passes_sender_payload() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut files = 0;
    for sender in Sender::ALL {
        let Ok(entries) = std::fs::read_dir(fixtures.join(sender.name())) else {
            continue; // Gitea and Forgejo: no captured delivery exists
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            let body = std::fs::read(&path).unwrap();
            sender_payload(&sender_input(sender, &file, &body));
            let header = |name: &str| (name == "x-github-event").then(|| file.split('.').next().unwrap());
            assert!(providers::read(sender, &header, &body).is_ok(), "{}", path.display());
            files += 1;
        }
    }
    assert!(files >= 40, "only {files} fixture files");
}
