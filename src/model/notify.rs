//! The nouns of notifications (docs/notifications.md): what a message is about, and
//! where its delivery to one sink stands.

text_enum! {
    /// What a notification is about; sinks choose theirs with `events=`.
    pub enum NotifyEvent ("notification event") {
        Failed = "failed",
        RolledBack = "rolled_back",
        Unknown = "unknown",
        Succeeded = "succeeded",
        UpdateAvailable = "update_available",
        ApprovalNeeded = "approval_needed",
        AuthFailures = "auth_failures",
        /// `podup notify test` and the panel's "Send test notification": every sink
        /// takes it whatever its filters.
        Test = "test",
    }
}

impl NotifyEvent {
    /// The events a sink takes when its URL names none: the failures of deploys, and a
    /// deploy that waits for someone's approval (it waits in vain if no one hears of it).
    pub const DEFAULT: [NotifyEvent; 4] = [
        NotifyEvent::Failed,
        NotifyEvent::RolledBack,
        NotifyEvent::Unknown,
        NotifyEvent::ApprovalNeeded,
    ];
}

text_enum! {
    /// Where the delivery of one message to one sink stands.
    pub enum DeliveryStatus ("delivery status") {
        /// Not delivered yet: waiting for its first attempt or its next retry.
        Pending = "pending",
        Delivered = "delivered",
        /// Retried for the whole retry period (24 h) without success, or its sink is
        /// no longer configured.
        GivenUp = "given_up",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::text::assert_spellings;

    #[test]
    fn spellings() {
        use NotifyEvent::*;
        assert_spellings(
            &[
                (Failed, "failed"),
                (RolledBack, "rolled_back"),
                (Unknown, "unknown"),
                (Succeeded, "succeeded"),
                (UpdateAvailable, "update_available"),
                (ApprovalNeeded, "approval_needed"),
                (AuthFailures, "auth_failures"),
                (Test, "test"),
            ],
            &NotifyEvent::ALL,
        );
        assert_spellings(
            &[
                (DeliveryStatus::Pending, "pending"),
                (DeliveryStatus::Delivered, "delivered"),
                (DeliveryStatus::GivenUp, "given_up"),
            ],
            &DeliveryStatus::ALL,
        );
    }
}
