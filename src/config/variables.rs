//! The table of every `PODUP_*` variable: name, default and one sentence, from which
//! `podup help` and the checked `env/podup.env.example` are written.

/// Every variable podup reads, with its default and one sentence; the env example
/// and `podup help` are checked against this list by a test.
pub const VARIABLES: &[(&str, &str, &str)] = &[
    (
        "PODUP_STATE_DIR",
        "$STATE_DIRECTORY, else /var/lib/podup (root) or $XDG_STATE_HOME/podup",
        "Directory that holds the state database podup.db.",
    ),
    (
        "PODUP_IDLE_EXIT_SECS",
        "30",
        "With socket activation (Accept=no), exit after this many seconds without a request; 0 never exits.",
    ),
    (
        "PODUP_MAX_BODY_BYTES",
        "1048576",
        "Largest request body accepted; a larger declared length is refused with 413 before reading.",
    ),
    (
        "PODUP_EVENTS_MAX_MB",
        "64",
        "Size budget of the state database, in MiB: past it the oldest anonymous event rows are removed (refused and replayed ones first, failed sign-ins and signatures last); authenticated events and tasks never are.",
    ),
    (
        "PODUP_REQUEST_TIMEOUT_MS",
        "10000",
        "Deadline for receiving a whole request; a slower client is cut off with 408.",
    ),
    (
        "PODUP_WORKERS",
        "16",
        "Most threads that handle complete requests (1 to 64); they start as requests need them.",
    ),
    (
        "PODUP_LOG_LEVEL",
        "info",
        "error, warn, info, debug or trace; each -v on the command line raises it one step.",
    ),
    (
        "PODUP_GITHUB_SECRET",
        "unset",
        "GitHub webhook secret(s), one per line (several while rotating); also PODUP_GITHUB_SECRET_FILE or the credential github-secret.",
    ),
    (
        "PODUP_GITEA_SECRET",
        "unset",
        "Gitea webhook secret(s), one per line (two while rotating); also PODUP_GITEA_SECRET_FILE or the credential gitea-secret. Unset: /hooks/gitea answers 503 gitea_not_configured.",
    ),
    (
        "PODUP_FORGEJO_SECRET",
        "unset",
        "Forgejo webhook secret(s), one per line (two while rotating); also PODUP_FORGEJO_SECRET_FILE or the credential forgejo-secret. Unset: /hooks/forgejo answers 503 forgejo_not_configured.",
    ),
    (
        "PODUP_HARBOR_SECRET",
        "unset",
        "Harbor webhook secret(s), one per line (two while rotating); also PODUP_HARBOR_SECRET_FILE or the credential harbor-secret. Unset: /hooks/harbor answers 503 harbor_not_configured.",
    ),
    (
        "PODUP_REGISTRY_SECRET",
        "unset",
        "registry notification webhook secret(s), one per line (two while rotating); also PODUP_REGISTRY_SECRET_FILE or the credential registry-secret. Unset: /hooks/registry answers 503 registry_not_configured.",
    ),
    (
        "PODUP_ACR_SECRET",
        "unset",
        "Azure Container Registry webhook secret(s), one per line (two while rotating); also PODUP_ACR_SECRET_FILE or the credential acr-secret. Unset: /hooks/acr answers 503 acr_not_configured.",
    ),
    (
        "PODUP_JFROG_SECRET",
        "unset",
        "JFrog Artifactory webhook secret(s), one per line (two while rotating); also PODUP_JFROG_SECRET_FILE or the credential jfrog-secret. Unset: /hooks/jfrog answers 503 jfrog_not_configured.",
    ),
    (
        "PODUP_QUAY_SECRET",
        "unset",
        "Quay webhook secret(s), one per line (two while rotating); also PODUP_QUAY_SECRET_FILE or the credential quay-secret. Unset: /hooks/quay answers 503 quay_not_configured. It goes into the URL /hooks/quay/<secret>: letters, digits, - _ . ~ only.",
    ),
    (
        "PODUP_DOCKERHUB_SECRET",
        "unset",
        "Docker Hub webhook secret(s), one per line (two while rotating); also PODUP_DOCKERHUB_SECRET_FILE or the credential dockerhub-secret. Unset: /hooks/dockerhub answers 503 dockerhub_not_configured. It goes into the URL /hooks/dockerhub/<secret>: letters, digits, - _ . ~ only.",
    ),
    (
        "PODUP_SERVICES",
        "empty",
        "Units podup may update, each optionally with its image.",
    ),
    (
        "PODUP_POLICY_FILE",
        "unset",
        "Update policies (docs/policy.md) of services that have no unit file podup finds: an INI file with a [app.service] section per service. Read when used; a bad value is reported and the service keeps its last good policy.",
    ),
    (
        "PODUP_SYSTEMD_SCOPE",
        "system for root, user otherwise",
        "Which manager podup drives: 'system' or 'user'.",
    ),
    (
        "PODUP_VERIFY_SECS",
        "10",
        "How long a restarted unit must stay active on the new image.",
    ),
    (
        "PODUP_PULL_PARALLEL",
        "4",
        "How many pulls a deploy of several units (update-all, the timer job) runs at once, 1 to 16; one pull per image however many units run it.",
    ),
    (
        "PODUP_AUTO_UPDATE_ENGINE",
        "podman",
        "What the timer job's auto-update runs: podman (podman auto-update) or podup (podup finds the labelled units and deploys them).",
    ),
    (
        "PODUP_TASK_TIMEOUT_SECS",
        "1800",
        "RuntimeMaxSec= of each task's transient unit.",
    ),
    (
        "PODUP_PUBLIC_URL",
        "unset",
        "Base URL callers reach podup at, used in status_url.",
    ),
    (
        "PODUP_LIMIT_UPDATE_ALL",
        "2/10m,10/5h",
        "Rate limits of update-all requests.",
    ),
    (
        "PODUP_LIMIT_IMAGE",
        "6/10m",
        "Rate limit of deploys per image repository.",
    ),
    (
        "PODUP_LIMIT_AUTH_FAILURES",
        "20/1m",
        "Failed authentications per source (per /64 for IPv6) and kind of credential before 429; a valid credential is always served.",
    ),
    (
        "PODUP_TRUSTED_PROXIES",
        "empty (trust no proxy)",
        "IPs, CIDR ranges or 'unix' of reverse proxies whose X-Forwarded-Proto and forward-auth header podup believes.",
    ),
    (
        "PODUP_FORWARD_AUTH_HEADER",
        "unset",
        "HEADER or HEADER:ROLE (admin or read; default admin): a trusted proxy's header naming its signed-in user, who then gets a panel session without a token.",
    ),
    (
        "PODUP_FORWARD_AUTH_SECRET",
        "unset",
        "Secret(s) the trusted proxy sends in X-Podup-Proxy-Secret with the forward-auth header; required when PODUP_TRUSTED_PROXIES takes in loopback or unix. Also PODUP_FORWARD_AUTH_SECRET_FILE or the credential forward-auth-secret.",
    ),
    (
        "PODUP_SESSION_SECS",
        "43200",
        "How long a panel sign-in lasts, in seconds.",
    ),
    (
        "PODUP_METRICS_OPEN",
        "0",
        "1: GET /metrics answers without a token (a trusted network only: it shows service names, images, digests and counts); 0: it needs a read token.",
    ),
    (
        "PODUP_NOTIFY",
        "unset",
        "Notification sinks, one URL per line (docs/notifications.md): webhook+https://, exec:/path, ntfy://, slack+https://, discord+https://, gotify://, matrix://, with events=, units= and host= filters. They hold secrets: in the system scope use PODUP_NOTIFY_FILE (mode 0600) or the credential notify.",
    ),
    (
        "PODUP_NOTIFY_TIMEOUT_SECS",
        "5",
        "How long one delivery of a notification may take (1 to 60 seconds) before it is cut and retried later.",
    ),
    (
        "PODUP_NOTIFY_RETRY",
        "30s",
        "Delay before the first retry of a failed delivery; each further failure doubles it, up to an hour.",
    ),
    (
        "PODUP_NOTIFY_GIVE_UP",
        "24h",
        "How long a notification is retried before it is marked given up.",
    ),
    (
        "PODUP_NOTIFY_AUTH_WINDOW",
        "5m",
        "Failed authentications within this window make one auth_failures message per sink.",
    ),
    (
        "PODUP_CHECK_TTL",
        "1h",
        "How long a registry's answer for a tag is reused by update checks (docs/updates.md) before the registry is asked again.",
    ),
    (
        "PODUP_RETENTION_EVENTS",
        "30d",
        "Events older than this are removed by the timer job and `podup prune`.",
    ),
    (
        "PODUP_RETENTION_TASKS",
        "90d",
        "Finished tasks (with their units and logs) older than this are removed by the timer job and `podup prune`.",
    ),
    (
        "PODUP_AUTO_DISCOVER",
        "0",
        "1 also takes units found by discovery: X-PodUp-Webhook=yes, Quadlet AutoUpdate=registry, containers labelled io.containers.autoupdate.",
    ),
    (
        "PODUP_EXCLUDE",
        "unset",
        "Discovered units podup must never touch, comma-separated.",
    ),
    (
        "PODUP_DISCOVERY_RETENTION",
        "7d",
        "A discovered unit not seen for this long is forgotten.",
    ),
    (
        "PODUP_APPROVAL_TTL",
        "3d",
        "How long a new image of a service with Policy=approve waits for an approval (docs/policy.md) before it is skipped as approval_expired.",
    ),
    (
        "PODUP_CHECK_TIMEOUT_SECS",
        "10",
        "How long one registry request of an update check may take (1 to 120 seconds).",
    ),
    (
        "PODUP_CHECK_ON_TIMER",
        "1",
        "1: the timer job checks every service for updates after its auto-update; 0: only checks asked for.",
    ),
];
