//! Which `registries.conf` files podman reads, and their text: the main file
//! (`$CONTAINERS_REGISTRIES_CONF`, else the user's when it exists, else the system's),
//! then the `*.conf` drop-ins of each directory in lexical order
//! (containers/image `newConfigWrapperWithHomeDir`, `dropInConfigs`).

use super::conf::{ConfError, Env};
use std::path::{Path, PathBuf};

/// Relative to `$HOME` (containers/image uses the home directory, not `$XDG_CONFIG_HOME`).
const USER_CONF: &str = ".config/containers/registries.conf";
const USER_DROP_INS: &str = ".config/containers/registries.conf.d";
/// A configuration file larger than this is refused, not read.
const MAX_CONF_BYTES: u64 = 1024 * 1024;

/// The main file and drop-ins podman would read, in order, with their text.
pub(super) fn read_files(env: &Env, system_dir: &Path) -> Result<Vec<(PathBuf, String)>, ConfError> {
    let user_conf = env.home.as_ref().map(|h| h.join(USER_CONF));
    let user_dir = env.home.as_ref().map(|h| h.join(USER_DROP_INS));
    let system_drop_ins = system_dir.join("registries.conf.d");
    let (main, required, dirs) = match (&env.registries_conf, user_conf) {
        (Some(path), _) => (path.clone(), true, vec![Some(system_drop_ins), user_dir]),
        (None, Some(user)) if user.exists() => (user, true, vec![user_dir]),
        (None, _) => (
            system_dir.join("registries.conf"),
            false,
            vec![Some(system_drop_ins), user_dir],
        ),
    };
    let mut files = vec![(main.clone(), read(&main, required)?.unwrap_or_default())];
    for dir in dirs.into_iter().flatten() {
        for path in drop_ins(&dir)? {
            // A file removed between listing and reading is a race podman ignores too.
            if let Some(text) = read(&path, false)? {
                files.push((path, text));
            }
        }
    }
    Ok(files)
}

/// `*.conf` entries of `dir` that are not directories, by name; none when it is missing.
fn drop_ins(dir: &Path) -> Result<Vec<PathBuf>, ConfError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(unreadable(dir, &e)),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| unreadable(dir, &e))?;
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if !is_dir && entry.file_name().to_string_lossy().ends_with(".conf") {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

fn read(path: &Path, required: bool) -> Result<Option<String>, ConfError> {
    use std::io::Read;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => return Ok(None),
        Err(e) => return Err(unreadable(path, &e)),
    };
    let mut text = String::new();
    file.take(MAX_CONF_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(|e| unreadable(path, &e))?;
    if text.len() as u64 > MAX_CONF_BYTES {
        return Err(ConfError::Unreadable {
            path: path.to_path_buf(),
            reason: format!("larger than {MAX_CONF_BYTES} bytes"),
        });
    }
    Ok(Some(text))
}

fn unreadable(path: &Path, e: &std::io::Error) -> ConfError {
    ConfError::Unreadable {
        path: path.to_path_buf(),
        reason: e.kind().to_string(),
    }
}
