//! Migration 12: per-service policy (docs/policy.md). `tasks` is rebuilt again (SQLite
//! cannot widen a CHECK in place) so that a task may wait: `awaiting_approval` until
//! someone decides or `deadline_ms` passes, `scheduled` until `not_before_ms`. Who decided
//! is kept in `decided_by`/`decided_ms`. The triggers hold the waiting part of the status
//! machine (docs/tasks.md) as the older ones hold the rest: nothing goes back to waiting,
//! a waiting task is approved, rejected, expired, superseded or cancelled first, and an
//! approval names who gave it. `image_seen` is the clock of `MinAge=`: when podup first
//! heard of a digest for a unit. `policies` keeps each unit's last good policy. `update_checks.remote_tag`: the
//! version tag a `Follow=` policy proposes, when it is not the running tag.

pub const MIGRATION: &str = "CREATE TABLE tasks_new (
        id             INTEGER PRIMARY KEY,
        kind           TEXT    NOT NULL CHECK (kind IN ('webhook', 'manual', 'update-all', 'auto-update', 'maintenance', 'check')),
        status         TEXT    NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'rolled_back', 'cancelled', 'skipped', 'unknown',
                                         'awaiting_approval', 'scheduled')),
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
        runner         TEXT,
        not_before_ms  INTEGER,
        deadline_ms    INTEGER,
        decided_by     TEXT,
        decided_ms     INTEGER
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
    CREATE TRIGGER tasks_never_wait_again BEFORE UPDATE OF status ON tasks
    WHEN NEW.status IN ('awaiting_approval', 'scheduled') AND NEW.status IS NOT OLD.status
         AND NOT (OLD.status = 'awaiting_approval' AND NEW.status = 'scheduled')
    BEGIN SELECT RAISE(ABORT, 'a task never goes back to waiting'); END;
    CREATE TRIGGER tasks_waiting_ends_by_decision BEFORE UPDATE OF status ON tasks
    WHEN OLD.status IN ('awaiting_approval', 'scheduled')
         AND NEW.status NOT IN ('awaiting_approval', 'scheduled', 'pending', 'skipped', 'cancelled', 'failed')
    BEGIN SELECT RAISE(ABORT, 'a waiting task becomes pending, or ends skipped, cancelled or failed'); END;
    CREATE TRIGGER tasks_approval_is_decided BEFORE UPDATE OF status ON tasks
    WHEN OLD.status = 'awaiting_approval' AND NEW.status IN ('pending', 'scheduled', 'failed')
         AND (NEW.decided_by IS NULL OR NEW.decided_ms IS NULL)
    BEGIN SELECT RAISE(ABORT, 'an approval records who gave it'); END;
    CREATE TABLE image_seen (
        unit     TEXT    NOT NULL,
        digest   TEXT    NOT NULL,
        first_ms INTEGER NOT NULL,
        PRIMARY KEY (unit, digest)
    );
    ALTER TABLE update_checks ADD COLUMN remote_tag TEXT;
    CREATE TABLE IF NOT EXISTS policies (unit TEXT PRIMARY KEY, policy TEXT NOT NULL, sources TEXT NOT NULL, read_ms INTEGER NOT NULL) STRICT;";
