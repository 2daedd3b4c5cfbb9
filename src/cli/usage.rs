//! The text of `podup help`, also printed after a usage error.

/// Commands, their flags, the options every command takes and the exit codes.
pub const USAGE: &str = "\
Usage: podup <command> [options]

Commands:
  demo [--listen ADDR] [--state DIR]
                 try podup: the admin panel on ADDR (default 127.0.0.1:8777)
                 over a simulated host with three days of history, a fresh
                 state database in DIR (default ./state-demo); prints a token
  serve [--listen ADDR] [--idle-exit SECS]
                 answer HTTP requests: on the sockets systemd hands over
                 (podup.socket, Accept=no or Accept=yes), else on ADDR
                 (default 127.0.0.1:8777; 'unix:/path' for a Unix socket)
  trigger SERVICE... | --all [--caller C] [--reason R] [--dry-run] [--wait]
                 update services now, as POST /api/v1/services/S/update does
  auto-update [--caller C] [--dry-run]
                 run podman auto-update as a task (what the timer runs);
                 repairs what lost workers left first, as recover does;
                 PODUP_AUTO_UPDATE_ENGINE=podup: podup finds, checks and
                 deploys the labelled units itself
  recover [--caller C]
                 repair units a lost worker left half-deployed (killed, out of
                 memory, power loss): re-tag, verify or roll back, each as a
                 maintenance task (what podup-recover.service runs at boot)
  tasks [--status S] [--limit N] [--json]
                 list tasks, newest first (--json: GET /api/v1/tasks)
  task ID [--json]
                 show one task: units and log (--json: GET /api/v1/tasks/ID)
  task stop|force-stop|retry|approve|reject ID
                 stop (SIGTERM), force-stop (SIGKILL) or retry a task, or
                 approve or reject one awaiting approval (docs/policy.md), as
                 the API and the panel do; 'kill' is the old name of force-stop
  check [--json] run every self-check and print a verdict with a fix each
  check-updates [--fresh] [--json] [SERVICE...]
                 ask each service's registry whether its tag has a newer image
                 (a HEAD, cached for PODUP_CHECK_TTL unless --fresh), as a check
                 task; prints each verdict; exits 1 when one is unknown
  policy [--json] [SERVICE...]
                 show each service's update policy (docs/policy.md) and the
                 file:line that set each key; exits 1 when a service's files
                 have an error (the service keeps its last good policy)
  prune [--dry-run] [--older-than DURATION] [--json]
                 remove old events and finished tasks (default: the retention
                 settings PODUP_RETENTION_EVENTS / PODUP_RETENTION_TASKS)
  discover [--json]
                 find webhook-capable units (Quadlet markers, labelled containers)
  services [--names] [--json]
                 the declared services (with --discover, the discovered too):
                 image, policy, running digest, update waiting; --names prints
                 one unit name a line; --json prints GET /api/v1/services
  token add NAME --role admin|trigger|read
                 create an API token and print it (once)
  token list [--json]
                 list tokens (never their values)
  token revoke NAME
  notify --flush | list [--json] | test [SINK]
                 deliver the notifications that are due (what the flush timer
                 and the timer job run); list the sinks, secrets masked, with
                 their last delivery; send a test message to one sink (its
                 number in list) or to all
  run-task ID --db PATH
                 carry out a task (what podup-task-<id>.service runs)
  completions bash|zsh|fish
                 print the shell's completion script (commands, flags, service
                 names and task ids); packages install them
  version        print the version
  help           print this help

Options for every command:
  -v, --verbose  more log output (repeat for more); PODUP_LOG_LEVEL sets the base
  --discover     also take units found by discovery (as PODUP_AUTO_DISCOVER=1)
  -h, --help     print this help

Configuration comes from PODUP_* environment variables; env/podup.env.example
lists every one with its default.

Exit codes:
  0  ok
  1  runtime failure
  2  usage or configuration error
";

/// `podup COMMAND --help`: the usage lines of that command (each of its forms), then
/// the options every command takes and the exit codes.
pub fn for_command(name: &str) -> String {
    let commands = USAGE
        .split_once("Commands:\n")
        .and_then(|(_, rest)| rest.split_once("\n\n"))
        .map_or("", |(commands, _)| commands);
    let mut out = format!("Usage: podup {name} [options]\n\n");
    let mut inside = false;
    for line in commands.lines() {
        // A form starts two spaces in; its description is indented further.
        if let Some(form) = line.strip_prefix("  ").filter(|l| !l.starts_with(' ')) {
            inside = form.split_whitespace().next() == Some(name);
        }
        if inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    let tail = USAGE.split_once("\nOptions for every command:").map_or("", |(_, t)| t);
    out.push_str("\nOptions for every command:");
    out.push_str(tail);
    out
}
