//! `text_enum!`: an enum whose every variant has exactly one spelling, used alike in SQLite
//! (`ToSql`/`FromSql`), JSON (serde), logs and `Display`. One table per enum means the stored
//! text and the JSON cannot drift apart; an unknown spelling read back is an error that
//! names the value, never a panic.

use std::fmt;

/// A spelling that names no variant (a row written by something else, or a typo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownText {
    /// What was expected, in words: `task status`.
    pub what: &'static str,
    pub text: String,
}

impl fmt::Display for UnknownText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} '{}'", self.what, self.text.escape_debug())
    }
}

impl std::error::Error for UnknownText {}

/// `text_enum! { /// doc  pub enum Name ("what it is") { Variant = "spelling", ... } }`
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal) {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every variant, in declaration order.
            #[allow(dead_code)]
            pub const ALL: [$name; [$($text),+].len()] = [$($name::$variant),+];

            /// The spelling stored in SQLite and sent in JSON.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            pub fn parse(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// `parse`, with an error that names the offending text.
            pub fn from_text(text: &str) -> Result<$name, $crate::model::UnknownText> {
                $name::parse(text).ok_or_else(|| $crate::model::UnknownText {
                    what: $what,
                    text: text.to_string(),
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                // `pad`, so `{:<10}` lines up as it did for the strings.
                f.pad(self.as_str())
            }
        }

        /// Tests compare with the spelling (`assert_eq!(t.status, "failed")`); code
        /// compares variants.
        #[cfg(test)]
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                $name::parse(&text).ok_or_else(|| {
                    <D::Error as serde::de::Error>::unknown_variant(&text, &[$($text),+])
                })
            }
        }

        impl rusqlite::types::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(rusqlite::types::ToSqlOutput::Borrowed(rusqlite::types::ValueRef::Text(
                    self.as_str().as_bytes(),
                )))
            }
        }

        impl rusqlite::types::FromSql for $name {
            fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<$name> {
                let text = value.as_str()?;
                $name::from_text(text).map_err(|e| rusqlite::types::FromSqlError::Other(Box::new(e)))
            }
        }
    };
}

/// Round-trips every variant of an enum through SQLite and serde_json and compares each
/// with the literal spelling stored and sent before the enum existed.
#[cfg(test)]
pub fn assert_spellings<T>(expected: &[(T, &str)], all: &[T])
where
    T: Copy
        + PartialEq
        + fmt::Debug
        + serde::Serialize
        + serde::de::DeserializeOwned
        + rusqlite::types::ToSql
        + rusqlite::types::FromSql,
{
    assert_eq!(
        expected.len(),
        all.len(),
        "every variant has a literal spelling in the test"
    );
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    for (variant, text) in expected {
        assert!(all.contains(variant));
        let stored: String = conn.query_row("SELECT ?1", [variant], |r| r.get(0)).unwrap();
        assert_eq!(stored, *text, "{variant:?} as stored");
        let read: T = conn.query_row("SELECT ?1", [text], |r| r.get(0)).unwrap();
        assert_eq!(read, *variant, "'{text}' read back");
        let json = serde_json::to_string(variant).unwrap();
        assert_eq!(json, format!("\"{text}\""), "{variant:?} as JSON");
        assert_eq!(serde_json::from_str::<T>(&json).unwrap(), *variant);
    }
    let bogus: rusqlite::Result<T> = conn.query_row("SELECT 'bogus'", [], |r| r.get(0));
    let message = bogus.unwrap_err().to_string();
    assert!(message.contains("unknown") && message.contains("'bogus'"), "{message}");
    assert!(serde_json::from_str::<T>("\"bogus\"").is_err());
}
