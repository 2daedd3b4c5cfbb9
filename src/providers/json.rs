//! Reading senders' JSON defensively: field names matched without regard to ASCII case
//! (senders have changed case between versions), text that may come as a string or a
//! number, and objects that may come as a JSON string holding the object. Nothing here
//! fails: a missing or odd field reads as absent.

use serde_json::{Map, Value};

/// The longest piece of payload text a `detail` repeats.
pub const MAX_DETAIL_CHARS: usize = 100;

/// `obj[name]`, the exact key first, then any key equal to it ignoring ASCII case.
pub fn field<'v>(obj: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    obj.get(name)
        .or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

/// The value at `path` below `v`, through objects (each step by [`field`]) and
/// objects sent as JSON text.
pub fn at<'v>(v: &'v Value, path: &[&str]) -> Option<&'v Value> {
    let mut cur = v;
    for key in path {
        cur = field(cur.as_object()?, key)?;
    }
    Some(cur)
}

/// The text at `path`: a string (trimmed), or a number written out; `None` when
/// absent, empty or of another type.
pub fn text(v: &Value, path: &[&str]) -> Option<String> {
    match at(v, path)? {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The object at `path`, also when the sender sent it as a JSON string.
pub fn object(v: &Value, path: &[&str]) -> Option<Value> {
    match at(v, path)? {
        Value::Object(_) => at(v, path).cloned(),
        Value::String(s) => serde_json::from_str::<Value>(s).ok().filter(Value::is_object),
        _ => None,
    }
}

/// The array at `path` (an absent or non-array value reads as empty).
pub fn list<'v>(v: &'v Value, path: &[&str]) -> &'v [Value] {
    at(v, path).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// `text` cut to [`MAX_DETAIL_CHARS`] characters.
pub fn shorten(text: &str) -> String {
    match text.char_indices().nth(MAX_DETAIL_CHARS) {
        Some((cut, _)) => format!("{}...", text.get(..cut).unwrap_or_default()),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_ignore_case_and_strings_may_hold_objects() {
        let v = json!({"Event_Data": {"Repository": {"Name": "app"}}, "target": "{\"tag\": \"v1\"}", "n": 5});
        assert_eq!(text(&v, &["event_data", "repository", "name"]).as_deref(), Some("app"));
        assert_eq!(text(&object(&v, &["target"]).unwrap(), &["tag"]).as_deref(), Some("v1"));
        assert_eq!(text(&v, &["n"]).as_deref(), Some("5"));
        assert_eq!(text(&v, &["missing", "x"]), None);
        assert_eq!(text(&json!({"a": " "}), &["a"]), None);
        assert!(list(&v, &["n"]).is_empty());
        assert_eq!(shorten(&"é".repeat(150)).chars().count(), MAX_DETAIL_CHARS + 3);
    }
}
