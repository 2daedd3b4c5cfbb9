//! Where values come from beyond a plain variable: whole numbers with their unit,
//! the state directory's fallbacks, and secrets from a variable, a file or a
//! systemd credential (messages name the source, never the content).

use super::{ConfigError, err};
use crate::model::Secret;
use std::path::{Path, PathBuf};

pub(super) fn whole(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: u64,
    what: &str,
) -> Result<u64, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<u64>()
            .map_err(|_| err(name, format!("expected {what}, got '{v}'"))),
    }
}

/// `v`, the value of `name`, as an absolute path (a relative one would depend on where
/// podup was started).
fn absolute(name: &str, v: &str) -> Result<PathBuf, ConfigError> {
    let p = PathBuf::from(v);
    if p.is_absolute() {
        Ok(p)
    } else {
        Err(err(name, format!("expected an absolute path, got '{v}'")))
    }
}

/// The absolute path in `name`, if set. Only the name is checked here: the file is read
/// when it is used, so that a bad one never stops podup from starting.
pub(super) fn path(get: &impl Fn(&str) -> Option<String>, name: &str) -> Result<Option<PathBuf>, ConfigError> {
    get(name).map(|v| absolute(name, &v)).transpose()
}

pub(super) fn state_dir(
    get: &impl Fn(&str) -> Option<String>,
    euid: u32,
) -> Result<(PathBuf, &'static str), ConfigError> {
    if let Some(v) = get("PODUP_STATE_DIR") {
        return Ok((absolute("PODUP_STATE_DIR", &v)?, "PODUP_STATE_DIR"));
    }
    if let Some(v) = get("STATE_DIRECTORY") {
        // systemd sets a colon-separated list when StateDirectory= names several.
        let first = v.split(':').next().unwrap_or_default();
        return Ok((absolute("STATE_DIRECTORY", first)?, "STATE_DIRECTORY"));
    }
    if euid == 0 {
        return Ok((PathBuf::from("/var/lib/podup"), "the default for root"));
    }
    if let Some(v) = get("XDG_STATE_HOME") {
        return Ok((absolute("XDG_STATE_HOME", &v)?.join("podup"), "XDG_STATE_HOME"));
    }
    match get("HOME") {
        Some(h) => Ok((absolute("HOME", &h)?.join(".local/state/podup"), "HOME")),
        None => Err(err(
            "PODUP_STATE_DIR",
            "is not set and neither are STATE_DIRECTORY, XDG_STATE_HOME or HOME".into(),
        )),
    }
}

/// Reads a secret list from `NAME`, `NAME_FILE` or `$CREDENTIALS_DIRECTORY/<credential>`;
/// one secret per line, each at least `min_bytes` long. Error messages name the source,
/// never the content.
pub(super) fn secrets(
    get: &impl Fn(&str) -> Option<String>,
    name: &str,
    credential: &str,
    min_bytes: usize,
) -> Result<Vec<Secret>, ConfigError> {
    let file_var = format!("{name}_FILE");
    let (source, text) = match (get(name), get(&file_var)) {
        (Some(_), Some(_)) => {
            return Err(err(name, format!("is set together with {file_var}: set only one")));
        }
        (Some(v), None) => (name.to_string(), v),
        (None, Some(path)) => (file_var.clone(), read_secret_file(&file_var, Path::new(&path))?),
        (None, None) => match get("CREDENTIALS_DIRECTORY") {
            Some(dir) if Path::new(&dir).join(credential).exists() => {
                let p = Path::new(&dir).join(credential);
                (
                    format!("credential '{credential}'"),
                    read_secret_file(&format!("{name} (credential '{credential}')"), &p)?,
                )
            }
            _ => return Ok(Vec::new()),
        },
    };
    let list: Vec<Secret> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| Secret(l.to_string()))
        .collect();
    if list.is_empty() {
        return Err(err(&source, "holds no secret (only blank lines)".into()));
    }
    if let Some((line, short)) = list.iter().enumerate().find(|(_, s)| s.0.len() < min_bytes) {
        return Err(err(
            &source,
            format!(
                "secret {} of {} is {} bytes; a secret needs at least {min_bytes} (make one with 'head -c 32 /dev/urandom | base64')",
                line + 1,
                list.len(),
                short.0.len()
            ),
        ));
    }
    Ok(list)
}

fn read_secret_file(variable: &str, path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| err(variable, format!("cannot read '{}': {e}", path.display())))
}
