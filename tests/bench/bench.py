#!/usr/bin/env python3
"""make bench: podup beside adnanh/webhook (Debian's `webhook`), on loopback, with wrk.

Prints a table and writes it to target/bench/latest.md. Ratios are what count: the
machine's speed drifts, so both peers are measured in the same run, one after the
other, with the same payload (the real 11 KB `registry_package` capture from
tests/fixtures/github, minified as GitHub sends it) and the same wrk settings.

Needs: wrk, webhook, a release build of podup (make bench builds it). The cold start
and deploy figures need root and the real test bed packages (tests/real/README.md);
without them those rows say why they were skipped.
"""
import hashlib, hmac, json, os, re, shutil, signal, socket, sqlite3, statistics, subprocess, sys, tempfile, time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PODUP = os.path.join(TOP, "target", "release", "podup")
SECRET = "bench-secret-0123456789"
DURATION = os.environ.get("BENCH_SECS", "10")
CONNS = os.environ.get("BENCH_CONNS", "32")
# Connections for the rejected-signature sweep (row 1 by connections; issue 24's benchmark 3).
SWEEP = [int(n) for n in os.environ.get("BENCH_SWEEP", "1,8,32,64").split(",")]
# BENCH_ONLY=throughput,cold,scale,deploy,check,update,metrics runs some sections (throughput includes memory).
ONLY = set(filter(None, os.environ.get("BENCH_ONLY", "throughput,cold,scale,deploy,check,update,metrics").split(",")))
OUT = os.path.join(TOP, "target", "bench")
rows = []  # (measure, podup, peer, ratio or goal)


def say(*a):
    print(*a, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, proc, secs=10):
    end = time.time() + secs
    while time.time() < end:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.args}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"port {port} never opened")


def payload():
    with open(os.path.join(TOP, "tests/fixtures/github/registry_package.published.docker-pkg-github.2019.json")) as f:
        return json.dumps(json.load(f), separators=(",", ":")).encode()


def sign(body):
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def wrk(url, body, headers, work, conns=None):
    lua = os.path.join(work, "req.lua")
    body_path = os.path.join(work, "body.bin")
    with open(body_path, "wb") as f:
        f.write(body)
    hdrs = "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in headers.items())
    with open(lua, "w") as f:
        f.write(
            f'local f = io.open("{body_path}", "rb"); wrk.body = f:read("*a"); f:close()\n'
            f'wrk.method = "POST"\n{hdrs}'
            "done = function(summary, latency, requests)\n"
            '  io.write(string.format("RESULT %f %f %f %d %d\\n", summary.requests / (summary.duration / 1e6),'
            " latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests,"
            " summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))\n"
            "end\n"
        )
    out = subprocess.run(["wrk", "-t1", f"-c{conns or CONNS}", f"-d{DURATION}s", "-s", lua, url], capture_output=True, text=True, check=True).stdout
    line = [l for l in out.splitlines() if l.startswith("RESULT")][0].split()
    return {"rps": float(line[1]), "p50": float(line[2]), "p99": float(line[3]), "requests": int(line[4]), "errors": int(line[5])}


def rss_kib(pid):
    hwm = rss = 0
    with open(f"/proc/{pid}/status") as f:
        for l in f:
            if l.startswith("VmHWM:"):
                hwm = int(l.split()[1])
            if l.startswith("VmRSS:"):
                rss = int(l.split()[1])
    return hwm, rss


def start_podup(work, fakes):
    port = free_port()
    state = os.path.join(work, "podup-state")
    env = {
        "PATH": f"{fakes}:/usr/bin:/bin",
        "HOME": work,
        "PODUP_STATE_DIR": state,
        "PODUP_GITHUB_SECRET": SECRET,
        "PODUP_SERVICES": "server.service=docker.pkg.github.com/dingggu/utaitebox/server:1.2.3",
        "PODUP_LIMIT_AUTH_FAILURES": "100000000/1s",
        "PODUP_LIMIT_IMAGE": "100000000/1s",
        "PODUP_LOG_LEVEL": "warn",
    }
    p = subprocess.Popen([PODUP, "serve", "--listen", f"127.0.0.1:{port}"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, p)
    return p, port, os.path.join(state, "podup.db")


def start_peer(work):
    port = free_port()
    hooks = [{
        "id": "github",
        "execute-command": "/bin/true",
        "trigger-rule": {"match": {"type": "payload-hmac-sha256", "secret": SECRET, "parameter": {"source": "header", "name": "X-Hub-Signature-256"}}},
    }]
    path = os.path.join(work, "hooks.json")
    with open(path, "w") as f:
        json.dump(hooks, f)
    p = subprocess.Popen(["webhook", "-hooks", path, "-ip", "127.0.0.1", "-port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, p)
    return p, port


def throughput(work, fakes, body):
    good = sign(body)
    bad = sign(b"something else")
    base = {"Content-Type": "application/json", "X-GitHub-Event": "registry_package"}
    podup, pport, db = start_podup(work, fakes)
    peer, wport = start_peer(work)
    try:
        r_bad = {"podup": wrk(f"http://127.0.0.1:{pport}/hooks/github", body, {**base, "X-Hub-Signature-256": bad, "X-GitHub-Delivery": "x"}, work),
                 "peer": wrk(f"http://127.0.0.1:{wport}/hooks/github", body, {**base, "X-Hub-Signature-256": bad}, work),
                 # Both keep connections alive above; here every request on a new
                 # connection, as GitHub's deliveries come, and a no-op server's ceiling
                 # for that pattern:
                 "podup_close": wrk(f"http://127.0.0.1:{pport}/hooks/github", body, {**base, "X-Hub-Signature-256": bad, "X-GitHub-Delivery": "x", "Connection": "close"}, work),
                 "peer_close": wrk(f"http://127.0.0.1:{wport}/hooks/github", body, {**base, "X-Hub-Signature-256": bad, "Connection": "close"}, work),
                 "noop": noop_ceiling(work, body, {**base, "X-Hub-Signature-256": bad, "Connection": "close"})}
        # The same, by connections: one alone is every request waiting for the one before
        # (what a single CI job or a quiet forge sends), 64 more than the workers.
        r_conns = {n: {"podup": wrk(f"http://127.0.0.1:{pport}/hooks/github", body, {**base, "X-Hub-Signature-256": bad, "X-GitHub-Delivery": "x"}, work, n),
                       "peer": wrk(f"http://127.0.0.1:{wport}/hooks/github", body, {**base, "X-Hub-Signature-256": bad}, work, n)}
                   for n in SWEEP}
        with sqlite3.connect(db) as c:
            # Past 20 a second, a source's refused requests share one row per reason and
            # second, whose `count` says how many (docs/state.md): count requests, not rows.
            n_rows, n_stored = c.execute("SELECT coalesce(sum(count), 0), count(*) FROM event_log WHERE reason = 'signature_mismatch'").fetchone()
        # Valid and recognised, nothing to dispatch: the first delivery creates the
        # task (the fake systemd-run accepts it), every repeat is a duplicate.
        dup = {**base, "X-Hub-Signature-256": good, "X-GitHub-Delivery": "bench-duplicate"}
        subprocess.run(["curl", "-s", "-o", "/dev/null", "-X", "POST", f"http://127.0.0.1:{pport}/hooks/github", *sum((["-H", f"{k}: {v}"] for k, v in dup.items()), []), "--data-binary", "@" + os.path.join(work, "body.bin")], check=True)
        r_good = {"podup": wrk(f"http://127.0.0.1:{pport}/hooks/github", body, dup, work),
                  "peer": wrk(f"http://127.0.0.1:{wport}/hooks/github", body, {**base, "X-Hub-Signature-256": good}, work)}
        with sqlite3.connect(db) as c:
            dups = c.execute("SELECT count(*) FROM event_log WHERE reason = 'duplicate_delivery'").fetchone()[0]
            tasks = c.execute("SELECT count(*) FROM tasks").fetchone()[0]
        rss = {"podup": rss_kib(podup.pid), "peer": rss_kib(peer.pid)}
    finally:
        for p in (podup, peer):
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=20)
    b, g = r_bad, r_good
    rows.append(("1. rejected signature: requests/s", f"{b['podup']['rps']:.0f}", f"{b['peer']['rps']:.0f}", f"{b['podup']['rps'] / b['peer']['rps']:.1f}x (goal 3x)"))
    rows.append(("1. same, both one request per connection (Connection: close)", f"{b['podup_close']['rps']:.0f}", f"{b['peer_close']['rps']:.0f}", f"{b['podup_close']['rps'] / b['peer_close']['rps']:.1f}x"))
    rows.append(("1. ceiling for one request per connection: a no-op server (tests/bench/noop_server.rs), req/s", "-", "-", f"{b['noop']['rps']:.0f}; podup at {100 * b['podup_close']['rps'] / b['noop']['rps']:.0f}% of it"))
    rows.append(("1. rejected signature: p50 / p99 ms", f"{b['podup']['p50']:.2f} / {b['podup']['p99']:.2f}", f"{b['peer']['p50']:.2f} / {b['peer']['p99']:.2f}", ""))
    load = " ".join(open("/proc/loadavg").read().split()[:3])
    for n, r in r_conns.items():
        goal = "goal 2x" if n < 8 else "goal 3x"
        rows.append((f"1. rejected signature at {n} connection{'s' if n > 1 else ''}: requests/s ({os.cpu_count()} cores, load {load} after)",
                     f"{r['podup']['rps']:.0f}", f"{r['peer']['rps']:.0f}", f"{r['podup']['rps'] / r['peer']['rps']:.1f}x ({goal})"))
    answered = b['podup']['requests'] + b['podup_close']['requests'] + sum(r['podup']['requests'] for r in r_conns.values())
    rows.append(("1. rejected requests recorded in the event log", f"{n_rows} of {answered} answered, in {n_stored} rows", "-", "every one counted" if n_rows >= answered else "MISSING ROWS"))
    rows.append(("2. valid signature, duplicate delivery: requests/s", f"{g['podup']['rps']:.0f}", f"{g['peer']['rps']:.0f}", f"{g['podup']['rps'] / g['peer']['rps']:.1f}x (goal 3x)"))
    rows.append(("2. duplicates answered without dispatch", f"{dups} rows, {tasks} task", "-", ""))
    return rss


def noop_ceiling(work, body, headers):
    """wrk against tests/bench/noop_server.rs: what accept, read, answer and close cost here."""
    exe = os.path.join(work, "noop_server")
    subprocess.run(["rustc", "-O", "--edition", "2021", "-o", exe, os.path.join(TOP, "tests/bench/noop_server.rs")], check=True)
    port = free_port()
    p = subprocess.Popen([exe, str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, p)
    try:
        return wrk(f"http://127.0.0.1:{port}/hooks/github", body, headers, work)
    finally:
        p.kill()
        p.wait()


def memory(work, fakes, body, rss_after_load):
    """Peak RSS over 10,000 valid deliveries (wrk, the same connections as the throughput runs)."""
    good = sign(body)
    base = {"Content-Type": "application/json", "X-GitHub-Event": "registry_package", "X-Hub-Signature-256": good}
    res = {}
    for name in ("podup", "peer"):
        if name == "podup":
            p, port, _ = start_podup(work, fakes)
            hdr = {**base, "X-GitHub-Delivery": "mem"}
        else:
            p, port = start_peer(work)
            hdr = base
        try:
            lua = os.path.join(work, "count.lua")
            with open(os.path.join(work, "body.bin"), "wb") as f:
                f.write(body)
            hdrs = "".join(f'wrk.headers["{k}"] = "{v}"\n' for k, v in hdr.items())
            with open(lua, "w") as f:
                f.write(f'local f = io.open("{work}/body.bin", "rb"); wrk.body = f:read("*a"); f:close()\nwrk.method = "POST"\n{hdrs}'
                        "local n = 0\nrequest = function() n = n + 1; if n > 10000 then wrk.thread:stop() end; return wrk.format() end\n")
            subprocess.run(["wrk", "-t1", f"-c{CONNS}", "-d60s", "-s", lua, f"http://127.0.0.1:{port}/hooks/github"], capture_output=True, check=True)
            during = rss_kib(p.pid)
            time.sleep(1)
            after = rss_kib(p.pid)
            res[name] = (during[0], after[1])
        finally:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=20)
    mb = lambda k: f"{k / 1024:.1f} MB"
    rows.append(("3. peak RSS over 10,000 valid deliveries", mb(res["podup"][0]), mb(res["peer"][0]), "goal: podup < 16 MB"))
    rows.append(("3. RSS after them", mb(res["podup"][1]), mb(res["peer"][1]), ""))
    rows.append(("3. peak RSS over the throughput runs", mb(rss_after_load["podup"][0]), mb(rss_after_load["peer"][0]), ""))


def scale(work):
    """GET /api/v1/tasks and /api/v1/events, first and deep pages, 100,000 tasks and 1,000,000 events."""
    state = os.path.join(work, "scale-state")
    env = {"PATH": "/usr/bin:/bin", "HOME": work, "PODUP_STATE_DIR": state, "PODUP_LOG_LEVEL": "warn"}
    token = subprocess.run([PODUP, "token", "add", "bench", "--role", "admin"], env=env, capture_output=True, text=True, check=True).stdout.strip()
    db = os.path.join(state, "podup.db")
    c = sqlite3.connect(db)
    spec = json.dumps({"units": [{"unit": "app.service", "image": "ghcr.io/a/app:1", "digest": None}], "scope": "system", "verify_secs": 10, "dry_run": False, "mode": "deploy"})
    kinds = ["webhook", "manual", "update-all", "auto-update", "maintenance"]
    statuses = ["succeeded", "failed", "rolled_back", "cancelled", "skipped", "unknown"]
    now = int(time.time() * 1000)
    c.executemany("INSERT INTO tasks (kind, status, created_ms, finished_ms, source, units_text, spec) VALUES (?, ?, ?, ?, 'bench', ?, ?)",
                  ((kinds[i % 5], statuses[i % 6], now - i, now - i, f"app{i % 50}.service", spec) for i in range(100_000)))
    c.executemany("INSERT INTO task_units (task_id, unit, status) VALUES (?, ?, 'succeeded')", ((i + 1, f"app{i % 50}.service") for i in range(100_000)))
    c.executemany("INSERT INTO event_log (request_id, ts_ms, method, path, status, action, reason, duration_ms, meta) VALUES (?, ?, 'POST', '/hooks/github', 202, 'github_webhook', 'accepted', 1, '{}')",
                  ((f"b{i}", now - i) for i in range(1_000_000)))
    c.commit()
    c.close()
    size = os.path.getsize(db) + (os.path.getsize(db + "-wal") if os.path.exists(db + "-wal") else 0)
    port = free_port()
    p = subprocess.Popen([PODUP, "serve", "--listen", f"127.0.0.1:{port}"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, p)
    try:
        def p95(path):
            times = []
            for _ in range(60):
                t = time.perf_counter()
                out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", f"Authorization: Bearer {token}", f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True).stdout
                times.append((time.perf_counter() - t) * 1000)
                if out != "200":
                    return None, out
            times.sort()
            return times[int(len(times) * 0.95) - 1], "200"
        for label, path in [("tasks, first page", "/api/v1/tasks?limit=50"), ("tasks, deep page", "/api/v1/tasks?limit=50&before=1000"),
                            ("tasks, filtered by unit + status", "/api/v1/tasks?limit=50&unit=app7&status=failed"),
                            ("events, first page", "/api/v1/events?limit=50"), ("events, deep page", "/api/v1/events?limit=50&before=1000")]:
            v, code = p95(path)
            rows.append((f"5. GET {label}: p95 ms (curl, whole request)", f"{v:.1f}" if v is not None else f"HTTP {code}", "-", "goal < 20 ms"))
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=20)
    rows.append(("5. state DB with 100,000 tasks + 1,000,000 events", f"{size / 1e6:.0f} MB", "-", ""))


def metrics_scrape(work):
    """Row 8: GET /metrics on a state database of 100,000 tasks and 1,000,000 events, filled
    with direct inserts in one transaction, scraped N times (BENCH_SCRAPES, 50) by curl."""
    state = os.path.join(work, "metrics-state")
    env = {"PATH": "/usr/bin:/bin", "HOME": work, "PODUP_STATE_DIR": state, "PODUP_LOG_LEVEL": "warn"}
    token = subprocess.run([PODUP, "token", "add", "scraper", "--role", "read"], env=env, capture_output=True, text=True, check=True).stdout.strip()
    db = os.path.join(state, "podup.db")
    t0 = time.perf_counter()
    c = sqlite3.connect(db)
    spec = json.dumps({"units": [{"unit": "app.service", "image": "ghcr.io/a/app:1", "digest": None}], "scope": "system", "verify_secs": 10, "dry_run": False, "mode": "deploy"})
    kinds = ["webhook", "manual", "update-all", "auto-update", "maintenance", "check"]
    statuses = ["succeeded", "succeeded", "succeeded", "failed", "rolled_back", "skipped", "unknown"]
    now = int(time.time() * 1000)
    n_tasks, n_events, services = 100_000, 1_000_000, 50
    digest = lambda i: "sha256:" + hashlib.sha256(str(i).encode()).hexdigest()
    c.execute("BEGIN")
    c.executemany("INSERT INTO tasks (id, kind, status, created_ms, started_ms, finished_ms, source, units_text, spec) VALUES (?, ?, ?, ?, ?, ?, 'bench', ?, ?)",
                  ((i + 1, kinds[i % 6], statuses[i % 7], now - 60_000 * i, now - 60_000 * i, now - 60_000 * i + (i % 600) * 1000,
                    f"app{i % services}.service", spec) for i in range(n_tasks)))
    c.executemany("INSERT INTO task_units (task_id, unit, image, from_digest, to_digest, status, started_ms, finished_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                  ((i + 1, f"app{i % services}.service", f"ghcr.io/acme/app{i % services}:1", digest(i), digest(i + 1), statuses[i % 7],
                    now - 60_000 * i, now - 60_000 * i + (i % 600) * 1000) for i in range(n_tasks)))
    # A few waiting tasks and update checks, as a host with approvals has.
    c.executemany("INSERT INTO tasks (kind, status, created_ms, source, units_text, spec) VALUES ('webhook', 'awaiting_approval', ?, 'bench', ?, ?)",
                  ((now - i * 3_600_000, f"app{i}.service", spec) for i in range(5)))
    c.executemany("INSERT INTO task_units (task_id, unit, status) SELECT id, units_text, 'pending' FROM tasks WHERE status = 'awaiting_approval' AND units_text = ?",
                  ((f"app{i}.service",) for i in range(5)))
    c.executemany("INSERT INTO update_checks (unit, image, status, remote_digest, local_digests, checked_ms) VALUES (?, ?, ?, ?, ?, ?)",
                  ((f"app{i}.service", f"ghcr.io/acme/app{i}:1", "available" if i % 10 == 0 else "up_to_date", digest(-i), json.dumps([digest(i)]), now)
                   for i in range(services)))
    senders = ["github", "gitea", "forgejo", "harbor", "registry", "acr", "jfrog", "quay", "dockerhub"]
    answers = [(202, "accepted"), (202, "accepted"), (202, "joined"), (202, "ignored_action"), (401, "signature_mismatch"), (200, "duplicate_delivery")]
    def event(i):
        if i % 10 < 7:
            st, reason = answers[i % 6]
            s = senders[i % 9]
            return (f"m{i}", now - i, "POST", f"/hooks/{s}", st, f"{s}_webhook", reason)
        if i % 10 == 7:
            return (f"m{i}", now - i, "POST", "/api/v1/update-all", 429, "update_all", "update_all_rate_limited")
        return (f"m{i}", now - i, "GET", "/api/v1/tasks", 200, "list_tasks", "ok")
    c.executemany("INSERT INTO event_log (request_id, ts_ms, method, path, status, action, reason, duration_ms, meta) VALUES (?, ?, ?, ?, ?, ?, ?, 1, '{}')",
                  (event(i) for i in range(n_events)))
    c.commit()
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.close()
    fill = time.perf_counter() - t0
    size = os.path.getsize(db)
    port = free_port()
    p = subprocess.Popen([PODUP, "serve", "--listen", f"127.0.0.1:{port}"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, p)
    times, lines = [], 0
    try:
        for _ in range(int(os.environ.get("BENCH_SCRAPES", "50"))):
            t = time.perf_counter()
            out = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", "-H", f"Authorization: Bearer {token}", f"http://127.0.0.1:{port}/metrics"],
                                 capture_output=True, text=True).stdout
            times.append((time.perf_counter() - t) * 1000)
            body, code = out.rsplit("\n", 1)
            if code != "200":
                raise SystemExit(f"bench: GET /metrics answered {code}: {body[:500]}")
            lines = body.count("\n")
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=20)
    times.sort()
    p95 = times[max(0, int(len(times) * 0.95) - 1)]
    load = " ".join(open("/proc/loadavg").read().split()[:3])
    say(f"bench: metrics: filled in {fill:.1f} s; {len(times)} scrapes, {lines} lines each")
    rows.append((f"8. GET /metrics at 100,000 tasks + 1,000,000 events: median / p95 of {len(times)} scrapes (curl, whole request)",
                 f"{statistics.median(times):.1f} / {p95:.1f} ms", "-", f"{os.cpu_count()} cores, load {load} after"))
    rows.append(("8. that state DB (filled in one transaction)", f"{size / 1e6:.0f} MB", "-", ""))


def cold_start():
    harness = os.path.join(TOP, "tests/real/podup-harness.sh")
    if os.geteuid() != 0 or not shutil.which("podman") or not shutil.which("docker-registry"):
        rows.append(("4. cold start under the real manager", "skipped: needs root and the test bed packages", "-", ""))
        return
    bed = f"/srv/podup-real/bench-{os.getpid()}"
    os.makedirs("/srv/podup-real", exist_ok=True)
    subprocess.run([harness, "up", bed], check=True, capture_output=True)
    try:
        env = dict(l.split("=", 1) for l in subprocess.run(["bash", "-c", f". {bed}/env; env"], capture_output=True, text=True).stdout.splitlines() if "=" in l)
        unit_dir = env["PODUP_UNIT_DIR"]
        binpath = "/run/podup-bench/podup"
        subprocess.run([harness, "exec", bed, "--", "install", "-D", "-m", "0755", PODUP, binpath], check=True)
        ctl = lambda *a: subprocess.run([harness, "exec", bed, "--", "systemctl", "--user", *a], check=True, capture_output=True, text=True).stdout.strip()
        os.makedirs(os.path.join(unit_dir, "podup.service.d"), exist_ok=True)
        open(os.path.join(unit_dir, "podup.service.d", "bench.conf"), "w").write("[Service]\nEnvironment=PODUP_LOG_LEVEL=warn\n")

        def measure(hardening):
            """Cold and warm first byte, median of 20, for the shipped unit ("all"), the
            same unit without its hardening block ("none"), or with only the options
            that need no mount namespace ("no-mounts": seccomp, capabilities, ...), to
            show what the sandbox costs and which part of it."""
            port = free_port()
            for name in ("podup.socket", "podup.service"):
                text = open(os.path.join(TOP, "units", name)).read().replace("/usr/local/bin/podup", binpath).replace("127.0.0.1:8777", f"127.0.0.1:{port}")
                if name == "podup.service" and hardening != "all":
                    head, block = text.split("# Hardening")
                    options = [l for l in block.splitlines()[1:] if l and not l.startswith("#")]
                    keep = [] if hardening == "none" else [l for l in options if l.split("=")[0] not in MOUNT_OPTIONS]
                    text = head + "".join(l + "\n" for l in keep)
                open(os.path.join(unit_dir, name), "w").write(text)
            ctl("stop", "podup.socket", "podup.service")
            ctl("daemon-reload")
            ctl("start", "podup.socket")
            colds, warms = [], []
            for _ in range(21):
                ctl("stop", "podup.service")
                while ctl("show", "-p", "ActiveState", "--value", "podup.service") != "inactive":
                    time.sleep(0.05)
                for bucket in (colds, warms):
                    bucket.append(first_byte(port))
            return colds[1:], warms[1:]  # the first start also creates the database

        colds, warms = measure("all")
        bare, _ = measure("none")
        no_mounts, _ = measure("no-mounts")
        alone = podup_alone()
        cold, warm, bare, no_mounts = (statistics.median(x) for x in (colds, warms, bare, no_mounts))
        rows.append(("4. cold start (socket unit, no process): connect to first byte, median of 20", f"{cold:.1f} ms", "-", "goal < 25 ms"))
        rows.append(("4. warm request, median of 20", f"{warm:.2f} ms", "-", ""))
        rows.append(("4. cold start, same unit without its hardening block", f"{bare:.1f} ms", "-", f"the sandbox costs {cold - bare:.1f} ms"))
        rows.append(("4. cold start, hardening without the mount-namespace options", f"{no_mounts:.1f} ms", "-", f"the mount namespace costs {cold - no_mounts:.1f} ms"))
        rows.append(("4. cold start of podup alone (systemd-socket-activate, no manager, no sandbox)", f"{statistics.median(alone):.1f} ms", "-", "podup's own share"))
    finally:
        subprocess.run([harness, "down", bed], capture_output=True)


# Options that make systemd build a mount namespace for the unit (its most expensive
# part at start: one /proc/self/mountinfo read per entry and pass).
MOUNT_OPTIONS = {"PrivateDevices", "PrivateMounts", "PrivateTmp", "ProcSubset", "ProtectControlGroups",
                 "ProtectHome", "ProtectKernelLogs", "ProtectKernelModules", "ProtectKernelTunables", "ProtectProc",
                 "ProtectSystem", "ReadOnlyPaths", "ReadWritePaths", "InaccessiblePaths", "TemporaryFileSystem"}


def first_byte(port):
    t = time.perf_counter()
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /health HTTP/1.1\r\nHost: b\r\n\r\n")
    s.recv(1)
    ms = (time.perf_counter() - t) * 1000
    s.close()
    return ms


def podup_alone():
    """Cold first byte with systemd-socket-activate handing podup the socket: exec,
    configuration, database open and the answer, without the manager's unit setup."""
    state = tempfile.mkdtemp(prefix="podup-bench-alone-")
    # systemd-socket-activate passes its own environment on only with -E: without it
    # podup used the default state directory of the machine.
    setenv = ["-E", f"PODUP_STATE_DIR={state}", "-E", "PODUP_LOG_LEVEL=warn"]
    times = []
    try:
        for _ in range(21):
            port = free_port()
            p = subprocess.Popen(["systemd-socket-activate", "-l", f"127.0.0.1:{port}", *setenv, PODUP, "serve"],
                                 env={"PATH": "/usr/bin:/bin"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                time.sleep(0.3)  # the listener is up; podup starts at the first connection
                times.append(first_byte(port))
            finally:
                p.terminate()
                p.wait()
    finally:
        shutil.rmtree(state, ignore_errors=True)
    return times[1:]  # the first start also creates the database


def deploy_split():
    """Row 6: the real deploy test prints its own split (tests/real/deploy.rs); run it three times."""
    if os.geteuid() != 0 or not shutil.which("podman") or not shutil.which("docker-registry"):
        rows.append(("6. deploy overhead", "skipped: needs root and the test bed packages", "-", ""))
        return
    env = {**os.environ, "PODUP_REAL_TESTS": "require"}
    splits = []
    for _ in range(3):
        out = subprocess.run(["cargo", "test", "--release", "--locked", "--test", "real", "a_webhook_deploys", "--", "--nocapture"],
                             cwd=TOP, env=env, capture_output=True, text=True)
        # The real test runs on each bed and prefixes its lines with the bed's name;
        # the figure here is the Debian 12 bed's, as before there were two.
        line = next((l for l in out.stderr.splitlines() if l.startswith("[bookworm] deploy: webhook to verified digest")), None)
        if out.returncode != 0 or line is None:
            raise SystemExit(f"bench: the deploy test failed:\n{out.stderr[-3000:]}")
        nums = [float(x) for x in re.findall(r"(-?[0-9.]+) s", line)]
        splits.append(nums[:4])  # total, commands, window, the rest
    # The split of the median run, so that its parts add up to its total.
    med = sorted(splits)[len(splits) // 2]
    each = " / ".join(f"{x[0]:.2f} = {x[1]:.2f} + {x[2]:.0f} + {x[3]:.2f}" for x in splits)
    rows.append(("6. deploy: webhook to verified new digest (task finished), median of 3 (real bed)", f"{med[0]:.2f} s", "-", f"runs: {each} s"))
    rows.append(("6. of which podman + systemctl commands", f"{med[1]:.2f} s", "-", ""))
    rows.append(("6. of which the stay-active window (PODUP_VERIFY_SECS, a policy wait)", f"{med[2]:.0f} s", "-", ""))
    rows.append(("6. of which the rest: podup's own work (HTTP, DB, dispatch, locks, polling) and the manager starting the task unit", f"{med[3]:.2f} s", "-", ""))


def update_check():
    """Row 7: fifty services, five with a newer image: podup's check beside podman auto-update
    --dry-run on each real bed (tests/real/bench_check.rs prints one JSON line per bed)."""
    if os.geteuid() != 0 or not shutil.which("podman") or not shutil.which("docker-registry"):
        rows.append(("7. update check", "skipped: needs root and the test bed packages", "-", ""))
        return
    env = {**os.environ, "PODUP_REAL_TESTS": "require"}
    out = subprocess.run(["cargo", "test", "--release", "--locked", "--test", "real", "bench_check", "--",
                          "--ignored", "--nocapture", "--test-threads=1"],
                         cwd=TOP, env=env, capture_output=True, text=True)
    found = re.findall(r"^\[(\w+)\] bench-check (\{.*\})$", out.stderr, re.M)
    if out.returncode != 0 or not found:
        raise SystemExit(f"bench: the update-check bench failed:\n{out.stderr[-3000:]}")
    for bed, text in found:
        r = json.loads(text)
        def reqs(d):
            return ", ".join(f"{v} {k}" for k, v in sorted(d.items())) or "none"
        head = f"7. update check of {r['services']} services ({r['new']} with a newer image), median of {len(r['podup_secs'])}, {bed} bed ({r['podman_version']})"
        rows.append((head, f"{r['podup_median']:.3f} s", f"podman auto-update --dry-run: {r['podman_median']:.3f} s",
                     f"{r['ratio']:.1f}x (goal: 5x)"))
        rows.append((f"7. registry requests per run, {bed} bed", reqs(r["podup_requests"]), reqs(r["podman_requests"]),
                     "goal: no manifest GET, at most one token per repository"))
        rows.append((f"7. of podup's {r['podup_task_ms']} ms check task, {bed} bed: its two podman calls (side by side) and its registry thread",
                     "; ".join(r["podup_podman_calls"]), "-", r["podup_registries"]))


def update_fleet():
    """Rows 9 (issue 24): twenty units each with a new image, and fifty of which five have
    one: podman auto-update beside podup's update-all (verifying 5 s and 0 s) and podup's
    timer job in podup mode, on each real bed (tests/real/bench_update.rs prints one JSON
    line per bed). BENCH_UPDATE_ROUNDS runs each that many times (median; default 1)."""
    if os.geteuid() != 0 or not shutil.which("podman") or not shutil.which("docker-registry"):
        rows.append(("9. update-all at host scale", "skipped: needs root and the test bed packages", "-", ""))
        return
    env = {**os.environ, "PODUP_REAL_TESTS": "require"}
    out = subprocess.run(["cargo", "test", "--release", "--locked", "--test", "real", "bench_update", "--",
                          "--ignored", "--nocapture", "--test-threads=1"],
                         cwd=TOP, env=env, capture_output=True, text=True)
    found = re.findall(r"^\[(\w+)\] bench-update (\{.*\})$", out.stderr, re.M)
    if out.returncode != 0 or not found:
        raise SystemExit(f"bench: the update bench failed:\n{out.stderr[-3000:]}")
    for bed, text in found:
        r = json.loads(text)
        where = f"{bed} bed ({r['podman_version']}, {r['systemd_version']}; {r['cores']} cores, load {r['load_before']} before, {r['load_after']} after; median of {r['rounds']})"
        for key, what in (("twenty_all_new", "20 units, each with a new image"), ("fifty_five_new", "50 units, 5 with a new image")):
            s = r[key]
            m, ratio = s["median"], s["ratios"]
            for method, label, goal in (("podup_verify5", "podup update-all, verifying 5 s", "goal: >= 1x"),
                                        ("podup_verify0", "podup update-all, verify 0 s", "goal: >= 3x"),
                                        ("podup_timer", "podup auto-update (engine podup, verifying 5 s)", "")):
                rows.append((f"9. {what}, start to every unit on its new digest: {label}, {where}",
                             f"{m[method]:.1f} s", f"podman auto-update: {m['podman']:.1f} s",
                             f"{ratio['podman/' + method]:.2f}x {goal}".strip()))
            if s["requests_for_the_others"]:
                def reqs(d):
                    return ", ".join(f"{v} {k}" for k, v in sorted(d.items())) or "none"
                o = s["requests_for_the_others"]
                for method in ("podup_verify5", "podup_verify0", "podup_timer"):
                    rows.append((f"9. registry requests for the 45 units without a new image: {method}, {bed} bed",
                                 reqs(o[method]), reqs(o["podman"]), "goal: at most one per image"))
            if s["failures"]:
                rows.append((f"9. {what}, {bed} bed: runs that did not end on the new digests", "; ".join(s["failures"]), "-", ""))


def versions():
    """What was measured: podup, the peer and wrk, as each names itself."""
    def first(cmd):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (out.stdout + out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return f"{cmd[0]}: unknown"
    return "; ".join(first(c) for c in ([PODUP, "--version"], ["webhook", "-version"], ["wrk", "-v"]))


def main():
    for tool in ("wrk", "webhook", "curl"):
        if not shutil.which(tool) and (tool == "curl" or "throughput" in ONLY):
            raise SystemExit(f"bench: '{tool}' is missing (apt-get install wrk webhook curl)")
    if not os.path.exists(PODUP):
        raise SystemExit("bench: no release build; run 'make bench'")
    work = tempfile.mkdtemp(prefix="podup-bench-")
    fakes = os.path.join(work, "fakes")
    os.makedirs(fakes)
    for name in ("systemd-run", "systemctl", "podman"):
        with open(os.path.join(fakes, name), "w") as f:
            f.write("#!/bin/sh\nexit 0\n")
        os.chmod(os.path.join(fakes, name), 0o755)
    try:
        body = payload()
        say(f"bench: payload {len(body)} bytes, wrk -t1 -c{CONNS} -d{DURATION}s")
        if "throughput" in ONLY:
            rss = throughput(work, fakes, body)
            memory(work, fakes, body, rss)
        if "cold" in ONLY:
            cold_start()
        if "scale" in ONLY:
            scale(work)
        if "deploy" in ONLY:
            deploy_split()
        if "check" in ONLY:
            update_check()
        if "update" in ONLY:
            update_fleet()
        if "metrics" in ONLY:
            metrics_scrape(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load = " ".join(open("/proc/loadavg").read().split()[:3])
    head = (f"# podup bench ({time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, load {load}, payload {len(body)} B, wrk -t1 -c{CONNS} -d{DURATION}s)\n\n"
            f"Versions: {versions()}\n\n")
    table = "| measure | podup | adnanh/webhook 2.8 | ratio / goal |\n|---|---|---|---|\n" + "".join(f"| {a} | {b} | {c} | {d} |\n" for a, b, c, d in rows)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "latest.md"), "w") as f:
        f.write(head + table)
    print(head + table)


if __name__ == "__main__":
    main()
