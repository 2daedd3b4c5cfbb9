// The shapes of the JSON API (docs/api.md), for `tsc --checkJs`. Nothing runs here.

/**
 * `awaiting_approval` and `scheduled` wait (docs/policy.md): for someone's decision until
 * `deadline_ms`, or for their time, `not_before_ms`.
 * @typedef {'pending'|'running'|'succeeded'|'failed'|'rolled_back'|'cancelled'|'skipped'|'unknown'|'awaiting_approval'|'scheduled'} TaskStatus
 */
/** @typedef {'webhook'|'manual'|'update-all'|'auto-update'|'maintenance'|'check'} TaskKind */
/** @typedef {'all'|'manual'|'webhook'|'automatic'|'maintenance'|'check'} TaskCategory */

/**
 * @typedef {object} UnitSpec
 * @property {string} unit
 * @property {string|null} image
 * @property {string|null} digest
 * @property {string} [retag] following a version (`Follow=`): the new reference, e.g. `ghcr.io/acme/app:1.5.0`, where `image` is the running one
 */

/**
 * @typedef {object} TaskSpec
 * @property {UnitSpec[]} units
 * @property {string} scope
 * @property {number} verify_secs
 * @property {boolean} dry_run
 * @property {'deploy'|'auto-update'|'prune'|'recover'|'notify-test'|'check'} mode
 * @property {number} [recovers] for `recover`: the lost task whose units it repairs
 * @property {string} [sink] for `notify-test`: the key of the sink it tests (every sink when absent)
 * @property {boolean} [fresh] for `check`: ask the registries even when their last answer is fresh
 */

/**
 * @typedef {object} Task
 * @property {number} id
 * @property {TaskKind} kind
 * @property {TaskStatus} status
 * @property {string|null} reason
 * @property {string|null} message
 * @property {number} created_ms
 * @property {number|null} started_ms
 * @property {number|null} finished_ms
 * @property {string} source
 * @property {string|null} caller
 * @property {string|null} trigger_reason
 * @property {string|null} request_id
 * @property {string|null} delivery_id
 * @property {number|null} retry_of
 * @property {string[]} units
 * @property {TaskSpec|null} spec
 * @property {number|null} [not_before_ms] a scheduled task's start: not before this time
 * @property {number|null} [deadline_ms] an awaiting task's deadline: past it, it ends skipped (`approval_expired`)
 * @property {string|null} [decided_by] who approved or rejected it
 * @property {number|null} [decided_ms]
 */

/**
 * @typedef {object} TaskUnit
 * @property {string} unit
 * @property {string|null} image
 * @property {string|null} from_digest
 * @property {string|null} to_digest
 * @property {string} status
 * @property {string} phase
 * @property {number|null} started_ms
 * @property {number|null} finished_ms
 * @property {string|null} message
 */

/**
 * @typedef {object} TaskLogEntry
 * @property {number} ts_ms
 * @property {'info'|'warn'|'error'} level
 * @property {string} step
 * @property {string|null} unit
 * @property {string} message
 * @property {string[]|null} argv
 * @property {number|null} exit_status
 * @property {string|null} stderr
 */

/**
 * An event_log row. `meta` is an object in /api/v1/events and a JSON string in a task's `events`.
 * @typedef {object} Event
 * @property {number} [id]
 * @property {string} request_id
 * @property {number} ts_ms
 * @property {string} method
 * @property {string} path
 * @property {number} status
 * @property {string} action
 * @property {string} reason
 * @property {number} duration_ms
 * @property {string|null} remote_addr
 * @property {Object<string, unknown>|string} meta
 * @property {number|null} task_id
 * @property {number} [count] requests the row stands for: more than 1 when refused requests past the per-source rate were folded into it
 */

/**
 * @typedef {object} TaskDetail
 * @property {Task} task
 * @property {TaskUnit[]} units
 * @property {TaskLogEntry[]} logs
 * @property {Event[]} events
 * @property {TaskNotification[]} [notifications] the messages its end wrote, one per sink (absent before notifications)
 */

/** @typedef {{tasks: Task[], next_before: number|null}} TaskList */
/** @typedef {{events: Event[], next_before: number|null}} EventList */

/**
 * @typedef {object} Service
 * @property {string} unit
 * @property {string|null} image
 * @property {string} image_source
 * @property {string|null} running_digest the digest it ran when podup last deployed it
 * @property {'declared'|'discovered'} source
 * @property {'system'|'user'} scope
 * @property {{id: number, kind: TaskKind, status: TaskStatus, created_ms: number}|null} last_task
 * @property {UpdateVerdict|null} update what the last update check found; null when it was never checked
 * @property {WaitingTask[]} [waiting] its tasks that wait for an approval or a time, newest first (absent before policies)
 * @property {ServicePolicy} [policy] its update policy and where each key came from (absent before policies)
 */

/**
 * A task that waits to deploy one service (`GET /api/v1/services`).
 * @typedef {object} WaitingTask
 * @property {number} task_id
 * @property {'awaiting_approval'|'scheduled'} status
 * @property {string|null} image the reference the service runs
 * @property {string|null} to_digest the digest it would deploy
 * @property {string|null} to_image the reference it would deploy (another tag when following a version)
 * @property {string|null} message why it waits
 * @property {number} created_ms
 * @property {number|null} not_before_ms
 * @property {number|null} deadline_ms
 */

/** @typedef {'Policy'|'MinAge'|'Window'|'Timer'|'Follow'} PolicyKey */

/**
 * Where one policy key came from: a file and line, or `"default"`.
 * @typedef {{file: string, line: number}|string} PolicySource
 */

/**
 * A service's effective policy (docs/policy.md).
 * @typedef {object} Policy
 * @property {'auto'|'approve'|'notify'|'manual'} policy
 * @property {number} min_age_secs
 * @property {string|null} window as written, e.g. `Mon..Fri 02:00-04:00 TZ=Europe/Berlin`; null: any time
 * @property {boolean} timer whether podup-auto-update.timer touches the unit
 * @property {string} follow `digest`, `semver:<level>` or `regex:<re>`
 */

/**
 * @typedef {object} ServicePolicy
 * @property {Policy} policy
 * @property {Partial<Record<PolicyKey, PolicySource>>} sources
 * @property {string[]} errors each `<file>:<line>: <Key>=: <what is wrong>`
 * @property {boolean} last_good with errors: true when it keeps the policy last read without one, false when it keeps the default
 */

/** @typedef {'up_to_date'|'available'|'unknown'} UpdateStatus */

/**
 * The last update check's verdict for one service (docs/updates.md).
 * @typedef {object} UpdateVerdict
 * @property {UpdateStatus} status `up_to_date` also when the unit was deployed to the registry's digest since the check
 * @property {string|null} remote_digest the digest the registry's tag points at
 * @property {string|null} remote_created when the registry says that image was made, as it said it
 * @property {string[]} local_digests every digest the running image is known by
 * @property {number} checked_at ms
 * @property {number|null} fetched_at when the registry was asked (older than `checked_at` when the cache answered)
 * @property {string|null} reason for `unknown`: a code, e.g. `rate_limited`, `registry_unreachable`, `tag_not_found`
 * @property {string|null} message
 * @property {string|null} endpoint `host/name:tag` that answered
 * @property {number|null} task_id the check task that found it
 */

/**
 * How many services each verdict has, and the newest check task.
 * @typedef {object} UpdateCounts
 * @property {number} available
 * @property {number} up_to_date
 * @property {number} unknown
 * @property {number} [waiting] tasks that wait for an approval or a time (absent before policies)
 * @property {{id: number, status: TaskStatus, created_ms: number, finished_ms: number|null}|null} last_check
 */

/** @typedef {{services: Service[], counts: {declared: number, discovered: number}, updates: UpdateCounts}} ServiceList */

/**
 * @typedef {object} PlannedUnit
 * @property {string} unit
 * @property {string|null} image
 * @property {string|null} digest
 * @property {string[][]} commands
 */

/** @typedef {{dry_run: true, kind: string, spec: TaskSpec, plan: PlannedUnit[]}} DryRun */
/** @typedef {{status: string, task_id: number, status_url: string, retry_of?: number}} Accepted */

/**
 * @typedef {object} Session
 * @property {boolean} signed_in
 * @property {string} [name]
 * @property {'admin'|'read'} [role]
 * @property {'token'|'forward_auth'} [via]
 * @property {string} [csrf_token]
 * @property {number} [expires_ms]
 * @property {boolean} [tokens_configured]
 * @property {boolean} [forward_auth]
 * @property {boolean} demo
 */

/**
 * @typedef {object} Check
 * @property {string} name
 * @property {boolean} ok
 * @property {string} detail
 * @property {string|null} fix
 */

/**
 * @typedef {object} Overview
 * @property {string} version
 * @property {boolean} demo
 * @property {number} uptime_secs
 * @property {string} scope
 * @property {Check[]} checks
 * @property {{unit: string, load_state?: string, active_state?: string, next?: string, error?: string}} timer
 * @property {Task[]} tasks
 * @property {Task[]} running
 * @property {Event[]} events
 * @property {Object<string, number>} counts_24h
 */

/**
 * @typedef {object} Variable
 * @property {string} name
 * @property {string|null} value
 * @property {string} default
 * @property {string} description
 * @property {boolean} secret
 */

/**
 * @typedef {object} Settings
 * @property {Variable[]} variables
 * @property {string[]} unknown_variables
 * @property {{declared: {unit: string, image: string|null, image_source: string}[], discovered: {unit: string, image: string|null}[]}} services
 * @property {{declared: number, discovered: number}} counts
 * @property {boolean} demo
 */

/**
 * @typedef {object} Delivery
 * @property {number} id
 * @property {number} ts_ms
 * @property {string} path
 * @property {number} status
 * @property {string} reason
 * @property {'accepted'|'ignored'|'rejected'} verdict
 * @property {string|null} event
 * @property {string|null} delivery
 * @property {string|null} image
 * @property {string|null} detail
 * @property {boolean} test
 * @property {number|null} task_id
 */

/**
 * @typedef {object} WebhooksInfo
 * @property {'set'|'unset'} secret
 * @property {number} secret_count
 * @property {string} url
 * @property {string} content_type
 * @property {string[]} events
 * @property {{unit: string, image: string|null, url: string}[]} services
 * @property {Delivery[]} deliveries
 * @property {SenderInfo[]} senders
 */

/**
 * One sender's card on the Webhooks page.
 * @typedef {object} SenderInfo
 * @property {string} name
 * @property {string} title
 * @property {boolean} configured
 * @property {number} secret_count
 * @property {string} variable
 * @property {string} credential
 * @property {string} url
 * @property {boolean} url_secret_only
 * @property {[string, string][]} setup
 * @property {{unit: string, image: string|null, url: string}[]} services
 * @property {Delivery[]} deliveries
 */

/**
 * @typedef {object} MaintenanceInfo
 * @property {{path: string, size_bytes: number, wal_bytes: number, schema_version: number, events: number, tasks: number, task_logs: number, sessions: number, oldest_event_ms: number|null, oldest_task_ms: number|null}} db
 * @property {{update_all: string[], image: string[], auth_failures: string[]}} limits
 * @property {{key: string, hits: number, last_ms: number}[]} rate_limits
 * @property {{unit: string, task_id: number, acquired_ms: number, task_status: string|null}[]} locks
 * @property {number} now_ms
 */

/** @typedef {'failed'|'rolled_back'|'unknown'|'succeeded'|'update_available'|'approval_needed'|'auth_failures'|'test'} NotifyEvent */
/** @typedef {'pending'|'delivered'|'given_up'} NotifyStatus */

/**
 * How one sink has fared (`GET /api/v1/notify`).
 * @typedef {object} SinkState
 * @property {'delivered'|'given_up'|null} last_status of the newest delivery that ended
 * @property {number|null} last_done_ms when it ended
 * @property {string|null} last_error the newest attempt's error, when the newest attempt failed
 * @property {number|null} last_attempt_ms
 * @property {number} pending
 * @property {number} given_up
 * @property {number} delivered
 */

/**
 * A configured sink; its URL with every secret shown as `***`.
 * @typedef {object} NotifySink
 * @property {number} number its place in the list (`podup notify test N`)
 * @property {string} key stable id (a hash of its line)
 * @property {'webhook'|'exec'|'ntfy'|'slack'|'discord'|'gotify'|'matrix'} kind
 * @property {string} sink the URL, secrets masked
 * @property {NotifyEvent[]} events
 * @property {string[]} units globs on unit names; empty takes every unit
 * @property {string|null} host the host name its messages show instead of this machine's
 * @property {SinkState} state
 */

/**
 * One message to one sink (an outbox row).
 * @typedef {object} NotifyDelivery
 * @property {number} id
 * @property {string} message_id
 * @property {number|null} task_id
 * @property {NotifyEvent} event
 * @property {string} sink the sink's key
 * @property {string} sink_name the sink's URL, secrets masked
 * @property {NotifyStatus} status
 * @property {number} created_ms
 * @property {number} next_ms when a pending row is next tried
 * @property {number} attempts
 * @property {number|null} last_attempt_ms
 * @property {string|null} last_error
 * @property {number|null} done_ms
 */

/**
 * @typedef {object} NotifyAttempt
 * @property {number} ts_ms
 * @property {boolean} ok
 * @property {number} duration_ms
 * @property {string|null} error
 */

/** A task's notification with its attempts (`GET /api/v1/tasks/<id>`). @typedef {NotifyDelivery & {attempt_list: NotifyAttempt[]}} TaskNotification */

/** @typedef {{sinks: NotifySink[], deliveries: NotifyDelivery[]}} NotifyInfo */

/** @typedef {{error: string, message: string}} ApiErrorBody */

export {};
