//! `podup demo [--listen ADDR] [--state DIR]`: its flags. The demo itself is
//! `crate::demo`, whose errors `cli::run` prints (`Error::Demo`).

use super::{UsageError, options, parse_opts};
use crate::demo::{DEFAULT_LISTEN, DemoArgs};

/// `None` when `-h` asked for the help instead.
pub fn parse(rest: &[String]) -> Result<Option<DemoArgs>, UsageError> {
    let m = parse_opts(options("demo"), rest, "demo")?;
    if m.opt_present("h") {
        return Ok(None);
    }
    Ok(Some(DemoArgs {
        listen: m.opt_str("listen").unwrap_or_else(|| DEFAULT_LISTEN.into()),
        state: m.opt_str("state"),
        verbose: m.opt_count("v"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn demo_names_its_bad_flag_and_takes_help() {
        let e = parse(&args("--bogus")).unwrap_err().0;
        assert!(e.starts_with("demo: ") && e.contains("'bogus'"), "{e}");
        assert_eq!(parse(&args("-h")).unwrap(), None);
        assert_eq!(parse(&args("--state /tmp/x")).unwrap().unwrap().listen, DEFAULT_LISTEN);
    }
}
