use super::*;
use crate::store::metrics::{Deliveries, Running};

#[test]
fn the_exposition_names_units_and_folds_reasons_into_verdicts() {
    let d = |status, reason: &str, requests| Deliveries {
        action: "github_webhook".into(),
        status,
        reason: reason.into(),
        requests,
    };
    let snap = Snapshot {
        deliveries: vec![
            d(202, "accepted", 2),
            d(202, "joined", 1),
            d(401, "signature_mismatch", 4),
        ],
        deploy_durations: Durations {
            count: 2,
            sum_secs: 93.0,
            cumulative: vec![0, 1, 1, 1, 1, 2, 2, 2, 2, 2],
        },
        running: vec![Running {
            unit: "a.service".into(),
            image: "ghcr.io/a/b:\"1\"".into(),
            digest: "sha256:1".into(),
        }],
        db_bytes: 4096,
        ..Default::default()
    };
    let mut text = String::new();
    prometheus_text::encode(&mut text, &registry(&snap)).unwrap();
    for line in [
        "podup_deliveries_total{sender=\"github\",verdict=\"accepted\"} 3\n",
        "podup_deliveries_total{sender=\"github\",verdict=\"rejected\"} 4\n",
        "# TYPE podup_deploy_duration_seconds histogram\n",
        "podup_deploy_duration_seconds_bucket{le=\"5\"} 1\n",
        "podup_deploy_duration_seconds_bucket{le=\"120\"} 2\n",
        "podup_deploy_duration_seconds_bucket{le=\"+Inf\"} 2\n",
        "podup_deploy_duration_seconds_count 2\n",
        "podup_service_info{service=\"a.service\",image=\"ghcr.io/a/b:\\\"1\\\"\",digest=\"sha256:1\"} 1\n",
        "podup_database_size_bytes 4096\n",
        "podup_event_log_rows 0\n",
    ] {
        assert!(text.contains(line), "{line} in:\n{text}");
    }
}
