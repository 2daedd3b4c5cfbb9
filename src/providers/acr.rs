//! acr deliveries (issue 20): not read yet.

use super::{Delivery, Headers, image::ignored};
use serde_json::Value;

pub fn read(_header: Headers<'_>, _payload: &Value) -> Delivery {
    Delivery::one(None, None, ignored("unsupported_event", "not read yet".into()))
}
