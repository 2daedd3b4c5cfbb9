//! `podup demo`: the panel on 127.0.0.1 with a fresh state database, a simulated
//! host (`world`: units, images, a registry and a systemd manager that only exist in
//! this process) and three days of history (`seed`). Updates run as real tasks
//! through the real worker, on threads instead of transient units (`backend`, which
//! nothing but this command builds). It prints the URL and a sign-in token.

mod backend;
mod calendar;
#[cfg(test)]
mod check_tests;
mod deliveries;
mod error;
mod manager;
mod notifications;
mod podman;
mod policies;
#[cfg(test)]
mod recovery_tests;
mod registry;
pub mod seed;
mod stop;
mod timeline;
mod verdicts;
mod waiting;
pub mod world;

use crate::auth::tokens::{self, Role};
use crate::clock::now_ms;
use crate::config::{Config, ConfigError};
use crate::host::Backend;
use crate::model::{Mode, TaskKind, UnitSpec};
use crate::tasks::control::{self, Origin};
use crate::tasks::dispatch::Dispatcher;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use error::{Error, Prepare};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8777";
pub const DEFAULT_STATE: &str = "state-demo";

#[derive(Debug, PartialEq)]
pub struct DemoArgs {
    pub listen: String,
    pub state: Option<String>,
    pub verbose: usize,
}

/// The configuration of the demo: its own variables only, never the environment's, and
/// its own policy files only (`policies`), never the machine's units.
fn config(state: &Path, secret: &str, sinks: &Path) -> Result<Config, ConfigError> {
    let services: Vec<String> = world::UNITS
        .iter()
        .map(|u| format!("{}={}:{}", u.unit, u.repo, u.tag))
        .collect();
    let (policy_file, quadlet) = (state.join(policies::POLICY_FILE), state.join(policies::QUADLET_DIR));
    let (state, services) = (state.display().to_string(), services.join(", "));
    let sinks = sinks.display().to_string();
    let policy_file = policy_file.display().to_string();
    // Two more senders, so the Webhooks page shows a signed one and a URL-secret one.
    let (harbor, quay) = (format!("{secret}-harbor"), format!("{secret}-quay"));
    let vars = [
        ("PODUP_STATE_DIR", state.as_str()),
        ("PODUP_SERVICES", services.as_str()),
        ("PODUP_GITHUB_SECRET", secret),
        ("PODUP_HARBOR_SECRET", harbor.as_str()),
        ("PODUP_QUAY_SECRET", quay.as_str()),
        ("PODUP_NOTIFY_FILE", sinks.as_str()),
        ("PODUP_POLICY_FILE", policy_file.as_str()),
        ("PODUP_SYSTEMD_SCOPE", "system"),
        ("PODUP_VERIFY_SECS", "3"),
        ("PODUP_WORKERS", "8"),
        ("PODUP_LOG_LEVEL", "warn"),
        ("PODUP_LIMIT_UPDATE_ALL", "20/10m"),
        ("PODUP_LIMIT_IMAGE", "60/10m"),
        ("PODUP_LIMIT_AUTH_FAILURES", "200/1m"),
    ];
    let mut config = Config::from_pairs(&vars, 0)?;
    policies::dirs(&mut config, quadlet);
    Ok(config)
}

/// Beside a database the demo created: that file's device and inode, so a later run
/// knows the database it is about to delete is its own.
const MARKER: &str = ".podup-demo";
const DB_FILES: [&str; 3] = ["podup.db", "podup.db-wal", "podup.db-shm"];

/// Device and inode of `path`, as the marker holds them.
fn identity(path: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| format!("{}:{}", m.dev(), m.ino()))
}

/// `Err` naming the database when `dir` holds one this demo did not create (a real
/// state directory given to `--state` by mistake): the demo would delete it.
fn owned(dir: &Path) -> Result<(), Error> {
    let db = dir.join("podup.db");
    let present = DB_FILES.iter().any(|f| dir.join(f).exists());
    let marked = std::fs::read_to_string(dir.join(MARKER)).ok();
    if !present || (identity(&db).is_some() && marked.as_deref().map(str::trim) == identity(&db).as_deref()) {
        return Ok(());
    }
    Err(Error::NotOwned { db })
}

/// Removes the previous demo's database, so every run starts from the same history,
/// and creates the new (empty) file at once, marked as the demo's: a run stopped
/// while seeding leaves a database the next run still knows as its own.
fn fresh(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for name in DB_FILES {
        match std::fs::remove_file(dir.join(name)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    std::fs::File::create_new(dir.join("podup.db"))?;
    let id = identity(&dir.join("podup.db")).unwrap_or_default();
    std::fs::write(dir.join(MARKER), format!("{id}\n"))?;
    Ok(())
}

/// The demo's notification sinks: an ntfy topic with a token, for the default events,
/// and a signed webhook that also takes successes, for two units, under another host
/// name. Their secrets derive from the webhook secret, as the other senders' do (the
/// browser tests check that neither reaches a page). Nothing listens on 127.0.0.1:9,
/// so every delivery the demo makes fails at once.
fn sink_lines(secret: &str) -> String {
    format!(
        "# podup demo: nothing listens on 127.0.0.1:9, so every delivery fails.\n\
         ntfy+http://127.0.0.1:9/podup-demo?token={secret}-ntfy\n\
         webhook+http://127.0.0.1:9/hooks/podup?secret={secret}-webhook&events=failed,rolled_back,succeeded\
         &units=web.service,worker.service&host=demo-host\n"
    )
}

/// Writes `sink_lines` to `<state>/notify`, mode 0600 as a real sink file should be.
fn sinks(dir: &Path, secret: &str) -> std::io::Result<PathBuf> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join("notify");
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    f.write_all(sink_lines(secret).as_bytes())?;
    Ok(path)
}

/// Runs the demo until a stop signal; prints the URL and token, leaves errors to `cli`.
pub fn run(args: &DemoArgs) -> Result<(), Error> {
    let state = match &args.state {
        Some(s) => PathBuf::from(s),
        None => PathBuf::from(DEFAULT_STATE),
    };
    let state = std::path::absolute(&state).unwrap_or(state);
    let listener = std::net::TcpListener::bind(&args.listen).map_err(|error| Error::Listen {
        addr: args.listen.clone(),
        error,
    })?;
    owned(&state)?;
    fresh(&state).map_err(|error| Error::Fresh {
        dir: state.clone(),
        error,
    })?;
    let secret = format!("demo-{}", &tokens::generate().map_err(Error::Secret)?[6..22]);
    let sinks = sinks(&state, &secret).map_err(|error| Error::Fresh {
        dir: state.clone(),
        error,
    })?;
    policies::write(&state).map_err(|error| Error::Fresh {
        dir: state.clone(),
        error,
    })?;
    let config = config(&state, &secret, &sinks).map_err(Error::Config)?;
    crate::logging::init(config.log_level, args.verbose);
    // Tasks end in this process: their notifications go out from here, at once, and
    // no flush timer is asked of systemd (a failed delivery waits).
    let mut notifier = crate::tasks::notify::notifier(
        &config,
        std::env::current_exe().unwrap_or_default(),
        config.db_path(),
        true,
    );
    notifier.schedule = None;
    crate::notify::install(notifier);
    let world = Arc::new(world::World::new());
    let limited_until_ms = world.limited_until_ms();
    let backend = backend::backend(world);
    let token = prepare(&config, &backend, limited_until_ms).map_err(Error::Prepare)?;
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| args.listen.clone());
    println!("podup demo: a simulated host; nothing on this machine is changed.");
    println!();
    println!("  panel    http://{addr}/");
    println!("  sign in  http://{addr}/#token={token}");
    println!("  token    {token}   (admin; paste it into the sign-in form)");
    println!("  state    {} (fresh on every run)", config.db_path().display());
    println!("  webhook  POST http://{addr}/hooks/github, secret '{secret}'");
    println!("           POST http://{addr}/hooks/harbor, Authorization 'Bearer {secret}-harbor'");
    println!("           POST http://{addr}/hooks/quay/{secret}-quay");
    println!();
    println!("Ctrl-C stops it.");
    use std::io::Write;
    let _ = std::io::stdout().flush();
    crate::serve::serve_listener(&config, &backend, listener).map_err(Error::Serve)
}

/// Seeds the history (its last check saw the world's rate limit, which ends at
/// `limited_until_ms`), web.service's last good policy before its typo, and the tasks
/// the services' policies hold, creates the admin
/// token, starts two live tasks: a slow update of batch.service that runs now and one
/// waiting behind it, and arms the scheduled task.
fn prepare(config: &Config, backend: &Backend, limited_until_ms: i64) -> Result<String, Prepare> {
    let mut conn = crate::store::open(&config.db_path()).map_err(Prepare::Open)?;
    seed::seed(&conn, now_ms(), limited_until_ms).map_err(Prepare::Seed)?;
    policies::remember_last_good(&conn, config, now_ms() - 2 * 24 * 3_600_000).map_err(Prepare::Policy)?;
    waiting::seed(&conn, config, now_ms()).map_err(Prepare::Seed)?;
    if let Some(n) = crate::notify::installed() {
        notifications::seed(&conn, n, now_ms()).map_err(Prepare::Seed)?;
    }
    let token = tokens::add(&conn, "demo", Role::Admin, now_ms()).map_err(Prepare::Token)?;
    let host = crate::tasks::host_for(config).on(backend);
    let exe = std::env::current_exe().map_err(Prepare::Binary)?;
    let d = Dispatcher {
        config,
        host: &host,
        exe: &exe,
    };
    let batch = world::UNITS
        .iter()
        .find(|u| u.unit == "batch.service")
        .expect("a demo unit");
    let unit = UnitSpec {
        unit: batch.unit.into(),
        image: Some(format!("{}:{}", batch.repo, batch.tag)),
        digest: None,
        retag: None,
    };
    for (caller, reason) in [("nightly-job", "nightly build"), ("alice", "rebuild")] {
        let spec = d.spec(vec![unit.clone()], false, Mode::Deploy);
        let origin = Origin {
            source: "api",
            caller,
            reason: Some(reason),
            request_id: None,
        };
        control::create(&mut conn, &d, TaskKind::Manual, &spec, &origin, None).map_err(Prepare::Task)?;
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    waiting::arm(&conn, &d).map_err(Prepare::Arm)?;
    Ok(token)
}
