//! The schema, as an ordered list of migrations. `PRAGMA user_version` is the number
//! of migrations applied; new ones are appended, never edited.

mod metrics;
mod policy;

use rusqlite::{Connection, OptionalExtension};

pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: the event log, one row per HTTP request.
    "CREATE TABLE event_log (
        id          INTEGER PRIMARY KEY,
        request_id  TEXT    NOT NULL UNIQUE,
        ts_ms       INTEGER NOT NULL,
        method      TEXT    NOT NULL,
        path        TEXT    NOT NULL,
        status      INTEGER NOT NULL,
        action      TEXT    NOT NULL,
        reason      TEXT    NOT NULL,
        duration_ms INTEGER NOT NULL,
        remote_addr TEXT,
        meta        TEXT    NOT NULL DEFAULT '{}'
    );
    CREATE INDEX event_log_ts ON event_log (ts_ms);",
    // 2: tasks (docs/tasks.md), their units and log, deploy locks, tokens, rate limits.
    "ALTER TABLE event_log ADD COLUMN task_id INTEGER;
    CREATE INDEX event_log_task ON event_log (task_id) WHERE task_id IS NOT NULL;
    CREATE TABLE tasks (
        id             INTEGER PRIMARY KEY,
        kind           TEXT    NOT NULL CHECK (kind IN ('webhook', 'manual', 'update-all', 'auto-update', 'maintenance')),
        status         TEXT    NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'rolled_back', 'cancelled', 'skipped', 'unknown')),
        reason         TEXT,
        message        TEXT,
        created_ms     INTEGER NOT NULL,
        started_ms     INTEGER,
        finished_ms    INTEGER,
        source         TEXT    NOT NULL,
        caller         TEXT,
        trigger_reason TEXT,
        request_id     TEXT,
        delivery_id    TEXT,
        retry_of       INTEGER REFERENCES tasks (id),
        units_text     TEXT    NOT NULL DEFAULT '',
        spec           TEXT    NOT NULL
    );
    CREATE INDEX tasks_status ON tasks (status, id);
    CREATE INDEX tasks_kind ON tasks (kind, id);
    CREATE INDEX tasks_delivery ON tasks (delivery_id) WHERE delivery_id IS NOT NULL;
    CREATE TABLE task_units (
        id          INTEGER PRIMARY KEY,
        task_id     INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
        unit        TEXT    NOT NULL,
        image       TEXT,
        from_digest TEXT,
        to_digest   TEXT,
        status      TEXT    NOT NULL DEFAULT 'pending',
        phase       TEXT    NOT NULL DEFAULT 'waiting',
        started_ms  INTEGER,
        finished_ms INTEGER,
        message     TEXT,
        UNIQUE (task_id, unit)
    );
    CREATE INDEX task_units_unit ON task_units (unit, task_id);
    CREATE TABLE task_logs (
        id          INTEGER PRIMARY KEY,
        task_id     INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
        ts_ms       INTEGER NOT NULL,
        level       TEXT    NOT NULL,
        step        TEXT    NOT NULL,
        unit        TEXT,
        message     TEXT    NOT NULL,
        argv        TEXT,
        exit_status INTEGER,
        stderr      TEXT
    );
    CREATE INDEX task_logs_task ON task_logs (task_id, id);
    CREATE TABLE unit_locks (
        unit        TEXT    PRIMARY KEY,
        task_id     INTEGER NOT NULL,
        acquired_ms INTEGER NOT NULL
    );
    CREATE TABLE tokens (
        name         TEXT    PRIMARY KEY,
        role         TEXT    NOT NULL CHECK (role IN ('admin', 'trigger', 'read')),
        hash         TEXT    NOT NULL UNIQUE,
        created_ms   INTEGER NOT NULL,
        last_used_ms INTEGER
    );
    CREATE TABLE rate_hits (
        id    INTEGER PRIMARY KEY,
        key   TEXT    NOT NULL,
        ts_ms INTEGER NOT NULL
    );
    CREATE INDEX rate_hits_key ON rate_hits (key, ts_ms);
    CREATE TRIGGER tasks_terminal_is_final BEFORE UPDATE OF status ON tasks
    WHEN OLD.status IN ('succeeded', 'failed', 'rolled_back', 'cancelled', 'skipped', 'unknown')
         AND NEW.status IS NOT OLD.status
    BEGIN SELECT RAISE(ABORT, 'task status is terminal'); END;
    CREATE TRIGGER tasks_running_never_pending BEFORE UPDATE OF status ON tasks
    WHEN OLD.status = 'running' AND NEW.status = 'pending'
    BEGIN SELECT RAISE(ABORT, 'a running task cannot return to pending'); END;
    CREATE TRIGGER task_units_terminal_is_final BEFORE UPDATE OF status ON task_units
    WHEN OLD.status IN ('succeeded', 'failed', 'rolled_back', 'cancelled', 'skipped', 'unknown', 'unchanged', 'available')
         AND NEW.status IS NOT OLD.status
    BEGIN SELECT RAISE(ABORT, 'unit status is terminal'); END;",
    // 3: panel sign-in sessions (only the SHA-256 of the cookie is kept), and indexes
    // for the event log's filters (the panel's Events page pages by id within them).
    "CREATE TABLE sessions (
        hash         TEXT    PRIMARY KEY,
        name         TEXT    NOT NULL,
        role         TEXT    NOT NULL CHECK (role IN ('admin', 'read')),
        via          TEXT    NOT NULL CHECK (via IN ('token', 'forward_auth')),
        created_ms   INTEGER NOT NULL,
        expires_ms   INTEGER NOT NULL,
        last_seen_ms INTEGER NOT NULL,
        remote_addr  TEXT
    );
    CREATE INDEX sessions_expires ON sessions (expires_ms);
    CREATE INDEX sessions_name ON sessions (name);
    CREATE INDEX event_log_action ON event_log (action, id);
    CREATE INDEX event_log_reason ON event_log (reason, id);
    CREATE INDEX event_log_status ON event_log (status, id);",
    // 4: units found by discovery.
    "CREATE TABLE discovered_units (
        unit          TEXT    PRIMARY KEY,
        source        TEXT    NOT NULL,
        image         TEXT,
        detail        TEXT,
        first_seen_ms INTEGER NOT NULL,
        last_seen_ms  INTEGER NOT NULL
    );",
    // 5: a per-key sequence number on rate-limit hits, so a window's count is the
    // difference of two index lookups instead of a walk over every hit in it.
    "ALTER TABLE rate_hits ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
    UPDATE rate_hits SET seq = (SELECT count(*) FROM rate_hits r WHERE r.key = rate_hits.key AND r.id <= rate_hits.id);
    CREATE INDEX rate_hits_seq ON rate_hits (key, seq);",
    // 6: a bounded event log (docs/security.md, finding 2). `tier` says what the size
    // budget may prune: 0 never (authenticated, or written before this migration), 1
    // after the refused ones (answered anonymous requests), 2 first (refused or
    // malformed anonymous requests). `source` is the client address a refused row
    // counts against; past the per-second rate, a source's refused requests of one
    // reason and second are folded into the row named by `fold_key`, `count` of them.
    "ALTER TABLE event_log ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE event_log ADD COLUMN tier INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE event_log ADD COLUMN source TEXT;
    ALTER TABLE event_log ADD COLUMN fold_key TEXT;
    CREATE UNIQUE INDEX event_log_fold ON event_log (fold_key) WHERE fold_key IS NOT NULL;
    CREATE INDEX event_log_source ON event_log (source, ts_ms) WHERE tier = 2;
    CREATE INDEX event_log_tier ON event_log (tier, id) WHERE tier > 0;",
    // 7: the SHA-256 of each webhook body that made or joined a task, for the
    // redelivery window: a replay under a new delivery id is the duplicate it is.
    "CREATE TABLE webhook_bodies (
        sha256      TEXT    PRIMARY KEY,
        task_id     INTEGER NOT NULL,
        received_ms INTEGER NOT NULL
    );
    CREATE INDEX webhook_bodies_received ON webhook_bodies (received_ms);",
    // 8: failed credentials (tier 3: a bad signature, token, session or sign-in) are
    // pruned after tiers 2 and 1 and folded per source like refused rows
    // (docs/security.md, second round): their per-second count needs its own index.
    "CREATE INDEX event_log_source_failed ON event_log (source, ts_ms) WHERE tier = 3;",
    // 9: crash-safe deploys (docs/tasks.md, "Crash safety"). A unit row keeps the image
    // that ran before (`prev_image`), the target's image id, and the write-ahead note of
    // the step under way (`intent`); a recovery task that repaired the row is
    // `recovered_by`. `runner` names the systemd unit a task runs in when that is not
    // its own `podup-task-<id>.service` (the timer job, `podup recover`).
    "ALTER TABLE task_units ADD COLUMN prev_image TEXT;
    ALTER TABLE task_units ADD COLUMN target_image TEXT;
    ALTER TABLE task_units ADD COLUMN intent TEXT
        CHECK (intent IS NULL OR intent IN ('tag', 'restart', 'rollback', 'settled', 'recovered'));
    ALTER TABLE task_units ADD COLUMN recovered_by INTEGER;
    CREATE INDEX task_units_open_intent ON task_units (task_id) WHERE intent IN ('tag', 'restart', 'rollback');
    ALTER TABLE tasks ADD COLUMN runner TEXT;",
    // 10: notifications (docs/notifications.md). One outbox row per message and sink,
    // written in the transaction that ends its task; `body` is the message (schema 1,
    // no secret), `sink` the sink's key (a hash of its line) and `sink_name` its line
    // with secrets masked. Each delivery attempt is kept for the task drawer.
    "CREATE TABLE outbox (
        id              INTEGER PRIMARY KEY,
        message_id      TEXT    NOT NULL,
        task_id         INTEGER,
        event           TEXT    NOT NULL,
        sink            TEXT    NOT NULL,
        sink_name       TEXT    NOT NULL,
        body            TEXT    NOT NULL,
        status          TEXT    NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'delivered', 'given_up')),
        created_ms      INTEGER NOT NULL,
        next_ms         INTEGER NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        last_attempt_ms INTEGER,
        last_error      TEXT,
        done_ms         INTEGER,
        window_key      TEXT,
        UNIQUE (message_id, sink)
    );
    CREATE INDEX outbox_due ON outbox (next_ms) WHERE status = 'pending';
    CREATE INDEX outbox_task ON outbox (task_id) WHERE task_id IS NOT NULL;
    CREATE INDEX outbox_sink ON outbox (sink, id);
    CREATE UNIQUE INDEX outbox_window ON outbox (window_key, sink) WHERE window_key IS NOT NULL AND status = 'pending';
    CREATE TABLE outbox_attempts (
        id          INTEGER PRIMARY KEY,
        outbox_id   INTEGER NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
        ts_ms       INTEGER NOT NULL,
        ok          INTEGER NOT NULL,
        duration_ms INTEGER NOT NULL,
        error       TEXT
    );
    CREATE INDEX outbox_attempts_row ON outbox_attempts (outbox_id);",
    // 11: update checks (docs/updates.md). `tasks` is rebuilt to let its kind be
    // `check` (SQLite cannot widen a CHECK in place; `migrate` turns foreign keys off
    // around the rebuild, as SQLite's own procedure for schema changes says).
    // `update_checks`: the latest verdict per unit. `registry_cache`: a tag's digest as
    // a registry last gave it, reused until PODUP_CHECK_TTL passes. `registry_holds`: a
    // registry host that asked to be left alone (429 `Retry-After`) until `until_ms`.
    // `update_notices`: which new digests were already announced.
    "CREATE TABLE tasks_new (
        id             INTEGER PRIMARY KEY,
        kind           TEXT    NOT NULL CHECK (kind IN ('webhook', 'manual', 'update-all', 'auto-update', 'maintenance', 'check')),
        status         TEXT    NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'rolled_back', 'cancelled', 'skipped', 'unknown')),
        reason         TEXT,
        message        TEXT,
        created_ms     INTEGER NOT NULL,
        started_ms     INTEGER,
        finished_ms    INTEGER,
        source         TEXT    NOT NULL,
        caller         TEXT,
        trigger_reason TEXT,
        request_id     TEXT,
        delivery_id    TEXT,
        retry_of       INTEGER REFERENCES tasks (id),
        units_text     TEXT    NOT NULL DEFAULT '',
        spec           TEXT    NOT NULL,
        runner         TEXT
    );
    INSERT INTO tasks_new (id, kind, status, reason, message, created_ms, started_ms, finished_ms, source,
        caller, trigger_reason, request_id, delivery_id, retry_of, units_text, spec, runner)
    SELECT id, kind, status, reason, message, created_ms, started_ms, finished_ms, source,
        caller, trigger_reason, request_id, delivery_id, retry_of, units_text, spec, runner FROM tasks;
    DROP TABLE tasks;
    ALTER TABLE tasks_new RENAME TO tasks;
    CREATE INDEX tasks_status ON tasks (status, id);
    CREATE INDEX tasks_kind ON tasks (kind, id);
    CREATE INDEX tasks_delivery ON tasks (delivery_id) WHERE delivery_id IS NOT NULL;
    CREATE TRIGGER tasks_terminal_is_final BEFORE UPDATE OF status ON tasks
    WHEN OLD.status IN ('succeeded', 'failed', 'rolled_back', 'cancelled', 'skipped', 'unknown')
         AND NEW.status IS NOT OLD.status
    BEGIN SELECT RAISE(ABORT, 'task status is terminal'); END;
    CREATE TRIGGER tasks_running_never_pending BEFORE UPDATE OF status ON tasks
    WHEN OLD.status = 'running' AND NEW.status = 'pending'
    BEGIN SELECT RAISE(ABORT, 'a running task cannot return to pending'); END;
    CREATE TABLE update_checks (
        unit           TEXT    PRIMARY KEY,
        image          TEXT,
        status         TEXT    NOT NULL CHECK (status IN ('up_to_date', 'available', 'unknown')),
        remote_digest  TEXT,
        remote_created TEXT,
        local_digests  TEXT    NOT NULL DEFAULT '[]',
        reason         TEXT,
        message        TEXT,
        endpoint       TEXT,
        checked_ms     INTEGER NOT NULL,
        fetched_ms     INTEGER,
        task_id        INTEGER
    );
    CREATE TABLE registry_cache (
        reference  TEXT    PRIMARY KEY,
        digest     TEXT    NOT NULL,
        created    TEXT,
        endpoint   TEXT    NOT NULL,
        fetched_ms INTEGER NOT NULL
    );
    CREATE TABLE registry_holds (
        host     TEXT    PRIMARY KEY,
        until_ms INTEGER NOT NULL
    );
    CREATE TABLE update_notices (
        unit    TEXT    NOT NULL,
        digest  TEXT    NOT NULL,
        sent_ms INTEGER NOT NULL,
        PRIMARY KEY (unit, digest)
    );",
    // 12: per-service policy: waiting tasks, the MinAge clock, last good policies.
    policy::MIGRATION,
    // 13: covering indexes for the metrics' grouped queries.
    metrics::MIGRATION,
];

/// The schema version this build writes.
pub const VERSION: i64 = MIGRATIONS.len() as i64;

fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Why the schema could not be brought up to date.
#[derive(Debug)]
pub enum MigrateError {
    Sql(rusqlite::Error),
    TooNew(i64),
    /// A migration left a row whose foreign key points nowhere (in this table).
    ForeignKey(String),
}

impl MigrateError {
    /// True when another process held a lock and trying again can succeed.
    pub fn is_busy(&self) -> bool {
        matches!(self, MigrateError::Sql(rusqlite::Error::SqliteFailure(e, _))
            if matches!(e.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked))
    }
}

impl std::fmt::Display for MigrateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MigrateError::Sql(e) => write!(f, "{e}"),
            MigrateError::ForeignKey(table) => {
                write!(
                    f,
                    "the migration left a row of {table} whose foreign key points nowhere"
                )
            }
            MigrateError::TooNew(found) => {
                write!(
                    f,
                    "the database has schema version {found}, newer than the {VERSION} this podup knows"
                )
            }
        }
    }
}

impl From<rusqlite::Error> for MigrateError {
    fn from(e: rusqlite::Error) -> MigrateError {
        MigrateError::Sql(e)
    }
}

/// Brings the schema up to `VERSION`. Concurrent callers serialize on the
/// IMMEDIATE transaction and re-read the version under the lock.
pub fn migrate(conn: &mut Connection) -> Result<(), MigrateError> {
    let found = version(conn)?;
    if found == VERSION {
        return Ok(());
    }
    if found > VERSION {
        return Err(MigrateError::TooNew(found));
    }
    // A migration may rebuild a table others reference; with foreign keys on, dropping
    // it would cascade. The pragma is a no-op inside a transaction, so it is set here and
    // the keys are checked before the commit instead.
    let keys: i64 = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?;
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    let result = apply(conn);
    conn.pragma_update(None, "foreign_keys", if keys == 1 { "ON" } else { "OFF" })?;
    result
}

fn apply(conn: &mut Connection) -> Result<(), MigrateError> {
    let tx = super::immediate(conn)?;
    let found = version(&tx)?;
    if found > VERSION {
        return Err(MigrateError::TooNew(found));
    }
    for sql in &MIGRATIONS[found as usize..] {
        tx.execute_batch(sql)?;
    }
    let broken: Option<String> = tx
        .query_row("SELECT \"table\" FROM pragma_foreign_key_check LIMIT 1", [], |r| {
            r.get(0)
        })
        .optional()?;
    if let Some(table) = broken {
        return Err(MigrateError::ForeignKey(table));
    }
    tx.pragma_update(None, "user_version", VERSION)?;
    Ok(tx.commit()?)
}
