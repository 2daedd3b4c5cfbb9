//! HTTP for the registry client, on ureq: one agent that verifies certificates (the
//! platform's trust store, as `notify::send`) and one that does not (for `insecure`
//! registries only). No redirects are followed: a registry that redirects a HEAD or a
//! token request is answered as it is, and credentials never follow a redirect.
//! Errors are podup's own short words, never a URL, a header or a body.

use std::time::Duration;

/// A header value longer than this makes the answer unusable.
pub(super) const MAX_HEADER_BYTES: usize = 8 * 1024;

/// What came back: the status, the headers podup reads, and (for GET) the body.
#[derive(Debug, Default)]
pub(super) struct Answer {
    pub status: u16,
    /// Lower-case names; only UTF-8 values.
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// All values of `name`, joined by commas (as RFC 9110 allows for list fields).
    pub fn joined(&self, name: &str) -> String {
        let values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect();
        values.join(", ")
    }
}

/// Why no answer came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Failure {
    /// Nothing usable reached podup: refused, timed out, DNS, TLS.
    Transport(String),
    /// An answer came but broke a bound (a header or body too large).
    TooLarge(String),
}

pub(super) struct Transport {
    verify: ureq::Agent,
    no_verify: ureq::Agent,
    timeout: Duration,
}

impl Transport {
    pub fn new(timeout: Duration, user_agent: &str) -> Transport {
        let agent = |tls: ureq::tls::TlsConfig| -> ureq::Agent {
            ureq::Agent::config_builder()
                .timeout_global(Some(timeout))
                .http_status_as_error(false)
                .max_redirects(0)
                .user_agent(user_agent.to_string())
                .tls_config(tls)
                .build()
                .into()
        };
        let roots = ureq::tls::RootCerts::PlatformVerifier;
        Transport {
            verify: agent(ureq::tls::TlsConfig::builder().root_certs(roots.clone()).build()),
            no_verify: agent(
                ureq::tls::TlsConfig::builder()
                    .root_certs(roots)
                    .disable_verification(true)
                    .build(),
            ),
            timeout,
        }
    }

    /// Sends a HEAD (`body_limit` `None`) or a GET whose body is read up to `body_limit`.
    pub fn send(
        &self,
        url: &str,
        verify: bool,
        headers: &[(&str, &str)],
        body_limit: Option<u64>,
    ) -> Result<Answer, Failure> {
        let agent = if verify { &self.verify } else { &self.no_verify };
        let mut request = match body_limit {
            None => agent.head(url),
            Some(_) => agent.get(url),
        };
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut response = request.call().map_err(|e| self.describe(&e))?;
        let mut answer = Answer {
            status: response.status().as_u16(),
            ..Answer::default()
        };
        for (name, value) in response.headers() {
            let Ok(value) = value.to_str() else { continue };
            if value.len() > MAX_HEADER_BYTES {
                return Err(Failure::TooLarge(format!(
                    "a '{name}' header longer than {MAX_HEADER_BYTES} bytes"
                )));
            }
            answer.headers.push((name.as_str().to_string(), value.to_string()));
        }
        if let Some(limit) = body_limit {
            answer.body = response
                .body_mut()
                .with_config()
                .limit(limit)
                .read_to_vec()
                .map_err(|e| self.describe(&e))?;
        }
        Ok(answer)
    }

    fn describe(&self, e: &ureq::Error) -> Failure {
        use ureq::Error as E;
        let reason = match e {
            E::BodyExceedsLimit(limit) => return Failure::TooLarge(format!("a body larger than {limit} bytes")),
            E::Timeout(_) => format!("no answer within {} s", self.timeout.as_secs_f64()),
            E::HostNotFound => "the host name does not resolve".into(),
            E::ConnectionFailed => "cannot connect".into(),
            E::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
            E::Io(io) => format!("connection failed: {}", io.kind()),
            E::Tls(what) => format!("TLS failed: {what}"),
            E::Rustls(r) => format!("TLS failed: {r}"),
            E::BadUri(_) => "not a URL the HTTP client accepts".into(),
            E::Protocol(_) => "the answer is not HTTP/1.1".into(),
            _ => "the request failed".into(),
        };
        Failure::Transport(reason)
    }
}
