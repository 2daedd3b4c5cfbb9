//! A delivery's body as JSON: either the body itself (`application/json`) or the
//! `payload` field of a form (`application/x-www-form-urlencoded`), as the hook's
//! content type setting chooses. Anything that does not decode is a
//! [`PayloadError`]; what the JSON means is left to the caller.

use std::fmt;

use serde_json::{Map, Value};

use super::shorten;

const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";
const FORM_FIELD: &str = "payload";

/// A body that is not a JSON object in either encoding. The HTTP layer answers 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadError {
    /// The parser's own description of where the JSON breaks (shortened; it quotes
    /// no input).
    NotJson(String),
    /// Valid JSON, but not an object (`[]`, `"x"`, `1`, ...).
    NotAnObject(&'static str),
    /// A form-encoded body without a `payload` field.
    NoFormPayload,
    /// A `%` not followed by two hex digits, at this byte of the body.
    BadPercentEscape(usize),
}

impl PayloadError {
    /// Stable tag for the event log and the journal.
    pub fn kind(&self) -> &'static str {
        "invalid_payload"
    }
}

impl fmt::Display for PayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PayloadError::NotJson(why) => write!(f, "the body is not JSON: {why}"),
            PayloadError::NotAnObject(what) => write!(f, "the body is a JSON {what}, not an object"),
            PayloadError::NoFormPayload => write!(f, "the form-encoded body has no '{FORM_FIELD}' field"),
            PayloadError::BadPercentEscape(at) => {
                write!(f, "the form-encoded body has a bad percent escape at byte {at}")
            }
        }
    }
}

impl std::error::Error for PayloadError {}

/// The JSON object a delivery carries.
pub fn decode(content_type: Option<&str>, body: &[u8]) -> Result<Map<String, Value>, PayloadError> {
    let json = if is_form(content_type) {
        form_field(body, FORM_FIELD)?.ok_or(PayloadError::NoFormPayload)?
    } else {
        body.to_vec()
    };
    match serde_json::from_slice(&json) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(PayloadError::NotAnObject(json_type(&other))),
        Err(e) => Err(PayloadError::NotJson(shorten(&e.to_string()))),
    }
}

fn is_form(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case(FORM_CONTENT_TYPE))
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The decoded value of the first `name=value` pair whose decoded name is `name`.
fn form_field(body: &[u8], name: &str) -> Result<Option<Vec<u8>>, PayloadError> {
    let mut offset = 0;
    for pair in body.split(|&c| c == b'&') {
        let (key, value, value_offset) = match pair.iter().position(|&c| c == b'=') {
            Some(eq) => (
                pair.get(..eq).unwrap_or_default(),
                pair.get(eq + 1..).unwrap_or_default(),
                eq + 1,
            ),
            None => (pair, &[][..], pair.len()),
        };
        if percent_decode(key, offset)? == name.as_bytes() {
            return percent_decode(value, offset + value_offset).map(Some);
        }
        offset += pair.len() + 1;
    }
    Ok(None)
}

/// Form decoding: `+` is a space and `%XY` the byte 0xXY; `offset` is where `input`
/// starts in the body, for the error.
pub(crate) fn percent_decode(input: &[u8], offset: usize) -> Result<Vec<u8>, PayloadError> {
    let mut out = Vec::with_capacity(input.len());
    let mut bytes = input.iter().enumerate();
    while let Some((at, &c)) = bytes.next() {
        out.push(match c {
            b'+' => b' ',
            b'%' => {
                let mut hex_digit = || bytes.next().and_then(|(_, &h)| char::from(h).to_digit(16));
                match (hex_digit(), hex_digit()) {
                    (Some(high), Some(low)) => u8::try_from(high << 4 | low).unwrap_or_default(),
                    _ => return Err(PayloadError::BadPercentEscape(offset + at)),
                }
            }
            other => other,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode(b"a+b%20c%7B%7d%25", 0).unwrap(), b"a b c{}%");
        assert_eq!(percent_decode(b"%C3%A9", 0).unwrap(), "é".as_bytes());
        assert_eq!(percent_decode(b"", 0).unwrap(), b"");
        assert_eq!(percent_decode(b"ab%4", 10), Err(PayloadError::BadPercentEscape(12)));
        assert_eq!(percent_decode(b"%zz", 0), Err(PayloadError::BadPercentEscape(0)));
        assert_eq!(percent_decode(b"%", 0), Err(PayloadError::BadPercentEscape(0)));
    }

    #[test]
    fn form_fields() {
        assert_eq!(
            form_field(b"a=1&payload=%7B%7D&payload=x", "payload").unwrap(),
            Some(b"{}".to_vec())
        );
        assert_eq!(
            form_field(b"pay%6Coad=%5B%5D", "payload").unwrap(),
            Some(b"[]".to_vec())
        );
        assert_eq!(form_field(b"payload", "payload").unwrap(), Some(Vec::new()));
        assert_eq!(form_field(b"a=1&&b", "payload").unwrap(), None);
        assert_eq!(
            form_field(b"a=1&payload=%G0", "payload"),
            Err(PayloadError::BadPercentEscape(12))
        );
    }

    #[test]
    fn json_and_form_bodies() {
        let form = b"payload=%7B%22zen%22%3A+%22Keep+it+logically+awesome.%22%7D";
        assert_eq!(decode(FORM, form).unwrap()["zen"], "Keep it logically awesome.");
        let form_with_charset = Some("Application/X-WWW-Form-Urlencoded; charset=utf-8");
        assert!(decode(form_with_charset, form).is_ok());
        assert_eq!(decode(Some("application/json"), br#"{"a":1}"#).unwrap()["a"], 1);
        assert_eq!(decode(None, br#"{"a":1}"#).unwrap()["a"], 1);
    }

    #[test]
    fn bodies_that_do_not_decode() {
        assert!(matches!(decode(None, b""), Err(PayloadError::NotJson(_))));
        assert!(matches!(decode(None, b"payload=%7B%7D"), Err(PayloadError::NotJson(_))));
        assert_eq!(decode(None, b"[1]"), Err(PayloadError::NotAnObject("array")));
        assert_eq!(decode(FORM, b"zen=1"), Err(PayloadError::NoFormPayload));
        assert!(matches!(decode(FORM, br#"{"a":1}"#), Err(PayloadError::NoFormPayload)));
        assert_eq!(decode(FORM, b"payload=%7B%"), Err(PayloadError::BadPercentEscape(11)));
        assert_eq!(decode(None, b"[1]").unwrap_err().kind(), "invalid_payload");
    }

    #[test]
    fn messages_stay_short() {
        let deep = "[".repeat(1000);
        let long = format!("{{\"{}\": x}}", "k".repeat(5000));
        for body in [deep.as_bytes(), long.as_bytes(), b"\xff\xfe"] {
            let text = decode(None, body).unwrap_err().to_string();
            assert!(text.len() < 160, "{text}");
        }
    }
}
