//! Who can announce an image, and how each proves it is who it says. The path a
//! delivery arrives on decides the sender (`/hooks/<sender>`); headers that look like
//! another sender's (Gitea sends `X-GitHub-Event` too) prove nothing.

/// A sender of image events: one row of the table in docs/api.md, "Senders".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sender {
    Github,
    Gitea,
    Forgejo,
    Harbor,
    /// CNCF distribution's notifications, and registries that send the same envelope
    /// (zot, GitLab's registry on self-managed GitLab).
    Registry,
    Acr,
    Jfrog,
    Quay,
    Dockerhub,
}

/// How a sender proves a delivery is its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// HMAC-SHA256 of the raw body in one of these headers (lower case), as bare hex or
    /// as `sha256=<hex>`.
    Hmac(&'static [&'static str]),
    /// The secret in `Authorization`, alone or after one scheme word.
    AuthHeader,
    /// `X-JFrog-Event-Auth`: the secret itself, or the hex HMAC-SHA256 of the body.
    SecretOrHmac,
    /// The secret is a path segment (`/hooks/<sender>/<secret>`): the sender signs
    /// nothing, so the URL is the only credential.
    PathSecret,
}

impl Sender {
    pub const ALL: [Sender; 9] = [
        Sender::Github,
        Sender::Gitea,
        Sender::Forgejo,
        Sender::Harbor,
        Sender::Registry,
        Sender::Acr,
        Sender::Jfrog,
        Sender::Quay,
        Sender::Dockerhub,
    ];

    /// The path segment after `/hooks/`, and the name in events and the panel.
    pub fn name(self) -> &'static str {
        match self {
            Sender::Github => "github",
            Sender::Gitea => "gitea",
            Sender::Forgejo => "forgejo",
            Sender::Harbor => "harbor",
            Sender::Registry => "registry",
            Sender::Acr => "acr",
            Sender::Jfrog => "jfrog",
            Sender::Quay => "quay",
            Sender::Dockerhub => "dockerhub",
        }
    }

    /// What people call it.
    pub fn title(self) -> &'static str {
        match self {
            Sender::Github => "GitHub",
            Sender::Gitea => "Gitea",
            Sender::Forgejo => "Forgejo",
            Sender::Harbor => "Harbor",
            Sender::Registry => "Registry notifications",
            Sender::Acr => "Azure Container Registry",
            Sender::Jfrog => "JFrog Artifactory",
            Sender::Quay => "Quay",
            Sender::Dockerhub => "Docker Hub",
        }
    }

    /// The event row's `action` for its deliveries.
    pub fn action(self) -> &'static str {
        match self {
            Sender::Github => "github_webhook",
            Sender::Gitea => "gitea_webhook",
            Sender::Forgejo => "forgejo_webhook",
            Sender::Harbor => "harbor_webhook",
            Sender::Registry => "registry_webhook",
            Sender::Acr => "acr_webhook",
            Sender::Jfrog => "jfrog_webhook",
            Sender::Quay => "quay_webhook",
            Sender::Dockerhub => "dockerhub_webhook",
        }
    }

    /// The sender whose deliveries an event row's `action` records.
    pub fn from_action(action: &str) -> Option<Sender> {
        Sender::ALL.into_iter().find(|s| s.action() == action)
    }

    /// `PODUP_<SENDER>_SECRET` (also `_FILE`).
    pub fn variable(self) -> &'static str {
        match self {
            Sender::Github => "PODUP_GITHUB_SECRET",
            Sender::Gitea => "PODUP_GITEA_SECRET",
            Sender::Forgejo => "PODUP_FORGEJO_SECRET",
            Sender::Harbor => "PODUP_HARBOR_SECRET",
            Sender::Registry => "PODUP_REGISTRY_SECRET",
            Sender::Acr => "PODUP_ACR_SECRET",
            Sender::Jfrog => "PODUP_JFROG_SECRET",
            Sender::Quay => "PODUP_QUAY_SECRET",
            Sender::Dockerhub => "PODUP_DOCKERHUB_SECRET",
        }
    }

    /// The systemd credential that may hold the secrets: `<sender>-secret`.
    pub fn credential(self) -> &'static str {
        match self {
            Sender::Github => "github-secret",
            Sender::Gitea => "gitea-secret",
            Sender::Forgejo => "forgejo-secret",
            Sender::Harbor => "harbor-secret",
            Sender::Registry => "registry-secret",
            Sender::Acr => "acr-secret",
            Sender::Jfrog => "jfrog-secret",
            Sender::Quay => "quay-secret",
            Sender::Dockerhub => "dockerhub-secret",
        }
    }

    pub fn proof(self) -> Proof {
        match self {
            Sender::Github => Proof::Hmac(&["x-hub-signature-256"]),
            Sender::Gitea => Proof::Hmac(&["x-gitea-signature", "x-hub-signature-256"]),
            Sender::Forgejo => Proof::Hmac(&["x-forgejo-signature", "x-gitea-signature", "x-hub-signature-256"]),
            Sender::Harbor | Sender::Registry | Sender::Acr => Proof::AuthHeader,
            Sender::Jfrog => Proof::SecretOrHmac,
            Sender::Quay | Sender::Dockerhub => Proof::PathSecret,
        }
    }

    /// The 503 `<sender>_not_configured` code (GitHub keeps its older
    /// `webhook_not_configured`).
    pub fn not_configured(self) -> &'static str {
        match self {
            Sender::Github => "webhook_not_configured",
            Sender::Gitea => "gitea_not_configured",
            Sender::Forgejo => "forgejo_not_configured",
            Sender::Harbor => "harbor_not_configured",
            Sender::Registry => "registry_not_configured",
            Sender::Acr => "acr_not_configured",
            Sender::Jfrog => "jfrog_not_configured",
            Sender::Quay => "quay_not_configured",
            Sender::Dockerhub => "dockerhub_not_configured",
        }
    }

    /// The headers (lower case) that carry the sender's id of a delivery, in order of
    /// preference; a delivery known by one is answered before its body is parsed.
    pub fn delivery_headers(self) -> &'static [&'static str] {
        match self {
            Sender::Github => &["x-github-delivery"],
            Sender::Gitea => &["x-gitea-delivery"],
            Sender::Forgejo => &["x-forgejo-delivery", "x-gitea-delivery"],
            _ => &[],
        }
    }

    /// Whether the only credential is the URL (marked so in events and the panel).
    pub fn url_secret_only(self) -> bool {
        self.proof() == Proof::PathSecret
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_and_round_trip() {
        for s in Sender::ALL {
            assert_eq!(Sender::from_action(s.action()), Some(s));
            assert_eq!(s.action(), format!("{}_webhook", s.name()));
            assert_eq!(s.credential(), format!("{}-secret", s.name()));
            assert_eq!(s.variable(), format!("PODUP_{}_SECRET", s.name().to_ascii_uppercase()));
        }
        let mut names: Vec<_> = Sender::ALL.iter().map(|s| s.name()).collect();
        names.dedup();
        assert_eq!(names.len(), Sender::ALL.len());
    }
}
