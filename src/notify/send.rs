//! Carrying a rendered request out: HTTP with a blocking client (ureq, rustls, the
//! platform's trust store, no redirects: a sink that answers 3xx is misconfigured, and
//! following it could carry a token elsewhere) or a program run with the message on
//! stdin. Errors are podup's own words: never a URL, a header, or what the other side
//! printed, since any of these may hold a sink's secret.

use super::format::Request;
use crate::build_info::VERSION;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Variables an `exec:` program keeps from podup's environment; everything else
/// (podup's own secrets among it) is left out.
const KEPT_ENV: &[&str] = &[
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "TZ",
    "XDG_RUNTIME_DIR",
    "XDG_CONFIG_HOME",
];

/// Sends `request`, giving up after `timeout`.
pub fn send(request: &Request, timeout: Duration) -> Result<(), String> {
    match request {
        Request::Http {
            method,
            url,
            headers,
            body,
        } => http(method, url, headers, body, timeout),
        Request::Exec {
            program,
            args,
            stdin,
            env,
        } => exec(program, args, stdin, env, timeout),
    }
}

fn http(method: &str, url: &str, headers: &[(String, String)], body: &[u8], timeout: Duration) -> Result<(), String> {
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(format!("podup/{VERSION}"))
        .tls_config(tls)
        .build()
        .into();
    let mut req = match method {
        "PUT" => agent.put(url),
        _ => agent.post(url),
    };
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let response = req.send(body).map_err(|e| describe(&e, timeout))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!(
            "the sink answered HTTP {} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        )
        .trim_end()
        .to_string())
    }
}

fn describe(e: &ureq::Error, timeout: Duration) -> String {
    use ureq::Error as E;
    match e {
        E::Timeout(_) => format!("no answer within {} s", timeout.as_secs_f64()),
        E::HostNotFound => "the sink's host name does not resolve".into(),
        E::ConnectionFailed => "cannot connect to the sink".into(),
        E::Io(io) => format!("cannot talk to the sink: {}", io.kind()),
        E::Tls(what) => format!("TLS failed: {what}"),
        E::Rustls(r) => format!("TLS failed: {r}"),
        E::BadUri(_) => "the sink's URL is not one the HTTP client accepts".into(),
        E::StatusCode(code) => format!("the sink answered HTTP {code}"),
        E::TooManyRedirects | E::RedirectFailed => "the sink answered with a redirect".into(),
        _ => "the request to the sink failed".into(),
    }
}

fn exec(
    program: &std::path::Path,
    args: &[String],
    stdin: &[u8],
    env: &[(String, String)],
    timeout: Duration,
) -> Result<(), String> {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for name in KEPT_ENV {
        if let Some(v) = std::env::var_os(name) {
            cmd.env(name, v);
        }
    }
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    let name = program.display();
    let mut child = cmd.spawn().map_err(|e| format!("cannot run {name}: {}", e.kind()))?;
    let mut pipe = child.stdin.take().expect("stdin is piped");
    let input = stdin.to_vec();
    // A program that does not read its stdin must not hold podup past the deadline.
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{name} did not finish within {} s", timeout.as_secs_f64()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("cannot wait for {name}: {}", e.kind())),
        }
    };
    let _ = writer.join();
    if status.success() {
        Ok(())
    } else {
        Err(match status.code() {
            Some(code) => format!("{name} exited with status {code}"),
            None => format!("{name} was killed by a signal"),
        })
    }
}
