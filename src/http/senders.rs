//! What to paste into each sender's settings (docs/operations.md, "Senders", has the
//! same with the settings pages' own field names), and the test delivery the panel
//! sends through each sender's real path.

use crate::model::Secret;
use crate::providers::proof::sign_hex;
use crate::providers::{Sender, github};
use serde_json::{Value, json};

/// The URL to paste for all services (`service`: for that one). A URL whose secret
/// is a path segment shows `<secret>` where it goes: the panel never shows secrets.
pub fn url(sender: Sender, base: &str, service: Option<&str>) -> String {
    let mut u = format!("{base}/hooks/{}", sender.name());
    if sender.url_secret_only() {
        u.push_str("/<secret>");
    }
    if let Some(s) = service {
        u.push('/');
        u.push_str(s);
    }
    u
}

/// The settings to fill in, as `[field, value]` pairs in the sender's own words.
pub fn setup(sender: Sender, base: &str) -> Value {
    let url = url(sender, base, None);
    let secret = format!("one of the secrets in {}_FILE", sender.variable());
    let pairs: Vec<(&str, String)> = match sender {
        Sender::Github => vec![
            ("Payload URL", url),
            ("Content type", "application/json".into()),
            ("Secret", secret),
            (
                "Which events",
                "Let me select individual events: Packages, Registry packages".into(),
            ),
        ],
        Sender::Gitea | Sender::Forgejo => vec![
            ("Target URL", url),
            ("HTTP Method", "POST".into()),
            ("POST Content Type", "application/json".into()),
            ("Secret", secret),
            ("Trigger On", "Custom Events: Package".into()),
        ],
        Sender::Harbor => vec![
            ("Notify Type", "http".into()),
            ("Event Type", "Artifact pushed".into()),
            ("Endpoint URL", url),
            ("Auth Header", format!("Bearer <{secret}>")),
        ],
        Sender::Registry => vec![
            ("notifications.endpoints[].url", url),
            (
                "notifications.endpoints[].headers",
                format!("Authorization: [Bearer <{secret}>]"),
            ),
            (
                "notifications.endpoints[].ignore.actions",
                "[pull, mount, delete]".into(),
            ),
        ],
        Sender::Acr => vec![
            ("Service URI", url),
            ("Custom headers", format!("Authorization: Bearer <{secret}>")),
            ("Actions", "push".into()),
        ],
        Sender::Jfrog => vec![
            ("URL", url),
            ("Secret token", secret),
            ("Event", "Docker: Docker tag was pushed".into()),
        ],
        Sender::Quay => vec![
            ("When this event occurs", "Push to Repository".into()),
            ("Then issue a notification", "Webhook POST".into()),
            ("Webhook URL", format!("{url} (with {secret} for <secret>)")),
        ],
        Sender::Dockerhub => vec![
            ("Webhook name", "podup".into()),
            ("Webhook URL", format!("{url} (with {secret} for <secret>)")),
        ],
    };
    json!(pairs.into_iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>())
}

/// A test delivery for `sender`, signed with `secret` as the sender would: its
/// headers, body and (Quay, Docker Hub) path secret. It reaches the real handler and
/// is answered as a ping (GitHub) or an event that deploys nothing.
pub fn test_delivery(sender: Sender, secret: &Secret, id: &str) -> (Vec<(String, String)>, Vec<u8>) {
    let body = match sender {
        Sender::Github => json!({
            "zen": "Sent by podup's panel: a signed test delivery.",
            "hook_id": 0,
            "hook": {"type": "Repository", "id": 0, "events": ["registry_package"]},
        }),
        _ => json!({"podup_test": id, "action": "podup_test", "events": []}),
    };
    let body = serde_json::to_vec(&body).expect("JSON serializes");
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    let mut add = |k: &str, v: String| headers.push((k.to_string(), v));
    match sender {
        Sender::Github => {
            add("x-github-event", "ping".into());
            add("x-github-delivery", id.into());
            add("x-hub-signature-256", github::sign(secret, &body));
        }
        Sender::Gitea | Sender::Forgejo => {
            let name = if sender == Sender::Gitea { "gitea" } else { "forgejo" };
            add(&format!("x-{name}-event"), "podup_test".into());
            add(&format!("x-{name}-delivery"), id.into());
            add(&format!("x-{name}-signature"), sign_hex(secret, &body));
        }
        Sender::Harbor | Sender::Registry | Sender::Acr => add("authorization", format!("Bearer {}", secret.0)),
        Sender::Jfrog => add("x-jfrog-event-auth", sign_hex(secret, &body)),
        Sender::Quay | Sender::Dockerhub => {}
    }
    (headers, body)
}
