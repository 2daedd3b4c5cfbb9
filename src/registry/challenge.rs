//! `WWW-Authenticate` challenges (RFC 9110 §11.6.1, formerly RFC 7235 §4.1): one or
//! more `scheme [token68 | name=value, ...]`, separated by commas, values either tokens
//! or quoted strings with `\` escapes. Registries send `Bearer realm=..., service=...,
//! scope=...` (the distribution token-auth spec) or `Basic realm=...`. Anything that
//! does not parse is skipped, never a panic.

use std::collections::BTreeMap;

/// One challenge: the scheme in lower case, parameters by lower-case name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Challenge {
    pub scheme: String,
    pub params: BTreeMap<String, String>,
}

impl Challenge {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

/// Every challenge in `header` (the values of all `WWW-Authenticate` fields, joined by commas).
pub(super) fn parse(header: &str) -> Vec<Challenge> {
    let mut p = Parser {
        s: header.as_bytes(),
        i: 0,
    };
    let mut out: Vec<Challenge> = Vec::new();
    loop {
        p.skip(b" \t,");
        if p.done() {
            return out;
        }
        let scheme = p.token();
        if scheme.is_empty() {
            p.i += 1; // not a token character: step over it
            continue;
        }
        let mut challenge = Challenge {
            scheme: scheme.to_ascii_lowercase(),
            params: BTreeMap::new(),
        };
        loop {
            p.skip(b" \t");
            let start = p.i;
            let name = p.token();
            p.skip(b" \t");
            if name.is_empty() || p.peek() != Some(b'=') {
                // A token not followed by '=' starts the next challenge.
                p.i = start;
                break;
            }
            p.i += 1;
            p.skip(b" \t");
            let value = match p.peek() {
                Some(b'"') => p.quoted(),
                _ => p.token(),
            };
            if value.is_empty() && matches!(p.peek(), None | Some(b'=' | b',')) {
                // token68 (`Zm9v==`): nothing podup uses.
                p.skip(b"=");
            } else {
                challenge.params.insert(name.to_ascii_lowercase(), value);
            }
            p.skip(b" \t");
            match p.peek() {
                Some(b',') => p.i += 1,
                None => break,
                Some(_) => {}
            }
        }
        out.push(challenge);
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn done(&self) -> bool {
        self.i >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip(&mut self, set: &[u8]) {
        while self.peek().is_some_and(|b| set.contains(&b)) {
            self.i += 1;
        }
    }

    /// RFC 9110 `token` characters (plus `/`, which token68 and careless servers use).
    fn token(&mut self) -> String {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~/".contains(&b))
        {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }

    /// A quoted string from its opening quote; an unterminated one runs to the end.
    fn quoted(&mut self) -> String {
        let mut out = Vec::new();
        self.i += 1;
        while let Some(b) = self.peek() {
            self.i += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    if let Some(next) = self.peek() {
                        out.push(next);
                        self.i += 1;
                    }
                }
                _ => out.push(b),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_hub_bearer() {
        let got = parse(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull""#,
        );
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].scheme, "bearer");
        assert_eq!(got[0].param("realm"), Some("https://auth.docker.io/token"));
        assert_eq!(got[0].param("service"), Some("registry.docker.io"));
        assert_eq!(got[0].param("scope"), Some("repository:library/alpine:pull"));
    }

    #[test]
    fn several_challenges_tokens_and_escapes() {
        let got = parse(
            r#"Basic realm="a \"quoted\" realm", charset=UTF-8, Bearer Realm = "https://t/x?y=1" , error=insufficient_scope"#,
        );
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].scheme, "basic");
        assert_eq!(got[0].param("realm"), Some(r#"a "quoted" realm"#));
        assert_eq!(got[0].param("charset"), Some("UTF-8"));
        assert_eq!(got[1].scheme, "bearer");
        assert_eq!(got[1].param("realm"), Some("https://t/x?y=1"));
        assert_eq!(got[1].param("error"), Some("insufficient_scope"));
    }

    #[test]
    fn token68_and_bare_schemes() {
        let got = parse("Negotiate Zm9vYmFy==, Basic");
        let schemes: Vec<_> = got.iter().map(|c| c.scheme.as_str()).collect();
        assert_eq!(schemes, ["negotiate", "basic"]);
        assert!(got.iter().all(|c| c.params.is_empty()));
    }

    #[test]
    fn garbage_does_not_panic() {
        for junk in [
            "",
            ",,,",
            "\"",
            "Bearer realm=\"unterminated",
            "Bearer =x",
            "é=ü, ,=",
            "Bearer realm=\\",
        ] {
            let _ = parse(junk);
        }
        assert_eq!(
            parse("Bearer realm=\"unterminated")[0].param("realm"),
            Some("unterminated")
        );
    }
}
