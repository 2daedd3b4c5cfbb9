//! The URL parser of sink lines, by hand: `[user[:password]@]host[:port][/path]` with the
//! host as a name, dotted IPv4 or `[IPv6]`, and a query of `name=value` pairs, both
//! percent-decoded where they carry values. Its errors name the part, never its text.

use super::{COMMON, MASK, SinkError, SinkKind, param_err, syntax};
use std::net::{Ipv4Addr, Ipv6Addr};

/// `[user[:password]@]host[:port][/path]`, decoded where it carries values.
pub(super) struct Authority<'a> {
    pub(super) user: Option<String>,
    pub(super) password: Option<String>,
    /// A lower-case name, dotted IPv4, or `[IPv6]` as a URL writes it.
    pub(super) host: String,
    pub(super) port: Option<u16>,
    pub(super) loopback: bool,
    /// As written, empty or starting with '/'.
    pub(super) path: &'a str,
}

impl<'a> Authority<'a> {
    pub(super) fn parse(main: &'a str, name: &str) -> Result<Authority<'a>, SinkError> {
        let (authority, path) = main.find('/').map_or((main, ""), |i| main.split_at(i));
        decode(path, "the path")?;
        if !path.bytes().all(|b| url_byte(b) || b == b'/') {
            return Err(syntax(format!(
                "{name}: the path has a character a URL cannot carry; percent-encode it"
            )));
        }
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(u) => {
                let (user, password) = u.split_once(':').map_or((u, None), |(a, b)| (a, Some(b)));
                let password = password.map(|p| decode(p, "the password")).transpose()?;
                (Some(decode(user, "the user name")?), password)
            }
        };
        let bad_host = || syntax(format!("{name}: the host is not a valid name or address"));
        let (host, port, loopback) = if let Some(v6) = hostport.strip_prefix('[') {
            let (addr, after) = v6.split_once(']').ok_or_else(bad_host)?;
            let ip: Ipv6Addr = addr.parse().map_err(|_| bad_host())?;
            (format!("[{ip}]"), port(after, name)?, ip.is_loopback())
        } else {
            let (h, after) = hostport.find(':').map_or((hostport, ""), |i| hostport.split_at(i));
            let h = h.to_ascii_lowercase();
            if h.is_empty() || !h.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b)) {
                return Err(bad_host());
            }
            let loopback = h == "localhost" || h.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback());
            (h, port(after, name)?, loopback)
        };
        Ok(Authority {
            user,
            password,
            host,
            port,
            loopback,
            path,
        })
    }

    pub(super) fn hostport(&self) -> String {
        match self.port {
            Some(p) => format!("{}:{p}", self.host),
            None => self.host.clone(),
        }
    }

    pub(super) fn userinfo_shown(&self) -> String {
        match (&self.user, &self.password) {
            (Some(u), Some(_)) => format!("{u}:{MASK}@"),
            (Some(u), None) => format!("{u}@"),
            _ => String::new(),
        }
    }
}

/// `""` or `:<1..65535>`.
fn port(after: &str, name: &str) -> Result<Option<u16>, SinkError> {
    let Some(digits) = after.strip_prefix(':') else {
        return match after.is_empty() {
            true => Ok(None),
            false => Err(syntax(format!("{name}: the host is not a valid name or address"))),
        };
    };
    match digits.parse::<u16>() {
        Ok(p) if p > 0 && digits.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(p)),
        _ => Err(syntax(format!("{name}: the port must be a number from 1 to 65535"))),
    }
}

/// A byte a URL's path or query may carry as is (RFC 3986 `pchar` less '/').
pub(super) fn url_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@%".contains(&b)
}

/// Percent-decoding (`+` stays `+`); the result must be UTF-8 without control characters.
pub(super) fn decode(s: &str, what: &str) -> Result<String, SinkError> {
    let bad = || syntax(format!("{what} has a '%' not followed by two hex digits"));
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3).ok_or_else(bad)?;
            out.push(
                u8::from_str_radix(hex, 16)
                    .ok()
                    .filter(|_| hex.bytes().all(|b| b.is_ascii_hexdigit()))
                    .ok_or_else(bad)?,
            );
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let text = String::from_utf8(out).map_err(|_| syntax(format!("{what} does not decode to UTF-8")))?;
    if text.chars().any(char::is_control) {
        return Err(syntax(format!("{what} decodes to a control character")));
    }
    Ok(text)
}

/// One `name=value` of the query: as written, and decoded.
pub(super) struct Item {
    pub(super) raw: String,
    pub(super) name: String,
    pub(super) value: String,
    pub(super) used: bool,
}

pub(super) struct Query {
    pub(super) items: Vec<Item>,
}

impl Query {
    pub(super) fn parse(query: &str) -> Result<Query, SinkError> {
        let mut items = Vec::new();
        for raw in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = raw.split_once('=').unwrap_or((raw, ""));
            let name = decode(name, "a parameter's name")?;
            if name.is_empty() {
                return Err(syntax("a query parameter has no name"));
            }
            let value = decode(value, &format!("the value of {name}="))?;
            items.push(Item {
                raw: raw.to_string(),
                name,
                value,
                used: false,
            });
        }
        Ok(Query { items })
    }

    /// The value of a parameter given at most once.
    pub(super) fn one(&mut self, name: &str) -> Result<Option<String>, SinkError> {
        let mut found = self.items.iter_mut().filter(|i| i.name == name);
        let Some(first) = found.next() else { return Ok(None) };
        first.used = true;
        let value = first.value.clone();
        match found.next() {
            Some(_) => Err(param_err(format!("parameter '{name}' is given more than once"))),
            None => Ok(Some(value)),
        }
    }

    pub(super) fn all(&mut self, name: &str) -> Vec<String> {
        self.items
            .iter_mut()
            .filter(|i| i.name == name)
            .map(|i| {
                i.used = true;
                i.value.clone()
            })
            .collect()
    }

    /// The query as `display` shows it: filters as written, every other value masked.
    pub(super) fn shown(&self, kind: SinkKind) -> String {
        let parts: Vec<String> = self
            .items
            .iter()
            .map(
                |i| match COMMON.contains(&i.name.as_str()) || (i.name == "insecure" && i.used) {
                    true => i.raw.clone(),
                    false if kind == SinkKind::Webhook && !i.used => {
                        format!("{}={MASK}", i.raw.split('=').next().unwrap_or(""))
                    }
                    false => format!("{}={MASK}", i.name),
                },
            )
            .collect();
        parts.join("&")
    }
}
