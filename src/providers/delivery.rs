//! What a sender's module makes of one verified delivery: its event name and id when
//! the sender gives them, and one [`Item`] per event in the body (registry
//! notifications batch several). Each item is judged on its own.

use super::{ImageEvent, Verdict};

/// One verified delivery, read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Delivery {
    /// The event's name as the sender's header or body gives it (`package`,
    /// `PUSH_ARTIFACT`, `push`), for the event log.
    pub event: Option<String>,
    /// The sender's id of the whole delivery (`X-Gitea-Delivery`), if it gives one.
    pub id: Option<String>,
    pub items: Vec<Item>,
}

/// One event of a delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub verdict: Verdict,
    /// The sender's id of this event (distribution's `events[].id`, ACR's `id`), if
    /// it gives one; a repeat of it is a duplicate.
    pub id: Option<String>,
}

impl Delivery {
    /// A delivery of one event.
    pub fn one(event: Option<String>, id: Option<String>, verdict: Verdict) -> Delivery {
        Delivery {
            event,
            id,
            items: vec![Item { verdict, id: None }],
        }
    }

    /// The image events among the items.
    pub fn images(&self) -> impl Iterator<Item = &ImageEvent> {
        self.items.iter().filter_map(|i| match &i.verdict {
            Verdict::Image(e) => Some(e),
            _ => None,
        })
    }
}
