//! What an update check found for one service (`update_checks.status`, docs/updates.md).

text_enum! {
    /// The verdict of an update check for one service.
    pub enum UpdateStatus ("update status") {
        /// The registry's digest of the tag is one the running image is known by.
        UpToDate = "up_to_date",
        /// The registry has another digest for the tag.
        Available = "available",
        /// The check could not tell; its reason code says why.
        Unknown = "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_statuses_keep_their_stored_spellings() {
        crate::model::text::assert_spellings(
            &[
                (UpdateStatus::UpToDate, "up_to_date"),
                (UpdateStatus::Available, "available"),
                (UpdateStatus::Unknown, "unknown"),
            ],
            &UpdateStatus::ALL,
        );
    }
}
