//! Faults on the real bed: the registry going down in the middle of a pull. The unit's
//! image is reached through a small throttling TCP proxy in front of the bed's registry,
//! so that a big layer takes seconds to pull; the proxy then goes away (connections
//! cut, port closed), as a registry host does when it goes down. (The worker killed
//! mid-deploy is `deploy.rs`, step (7).)

use crate::harness::{Harness, assert_intact, ids, serve, shout, state_db, wait_until};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Bytes per second the proxy passes from the registry to each client.
const THROTTLE_BYTES_PER_SEC: u64 = 2 * 1024 * 1024;
/// Size of the big layer of the new image.
const PAD_MIB: u32 = 24;

/// A TCP proxy on 127.0.0.1 to `target`, throttled towards the client.
struct Proxy {
    port: u16,
    down: Arc<AtomicBool>,
    /// The most bytes any one connection has passed towards its client.
    largest: Arc<AtomicU64>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    fn start(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let proxy = Proxy {
            port,
            down: Arc::new(AtomicBool::new(false)),
            largest: Arc::new(AtomicU64::new(0)),
            streams: Arc::new(Mutex::new(Vec::new())),
        };
        let (down, largest, streams) = (proxy.down.clone(), proxy.largest.clone(), proxy.streams.clone());
        std::thread::spawn(move || {
            while !down.load(Ordering::SeqCst) {
                let client = match listener.accept() {
                    Ok((c, _)) => c,
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(10));
                        continue;
                    }
                };
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                let _ = client.set_nonblocking(false);
                {
                    let mut all = streams.lock().unwrap();
                    all.push(client.try_clone().unwrap());
                    all.push(server.try_clone().unwrap());
                }
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || pump(client, server, None, None));
                let (down, largest) = (down.clone(), largest.clone());
                std::thread::spawn(move || pump(s2, c2, Some(largest), Some(down)));
            }
            // Down: the port is closed when the listener is dropped here.
        });
        proxy
    }

    /// The registry goes away: every connection is cut and the port refuses new ones.
    fn go_down(&self) {
        self.down.store(true, Ordering::SeqCst);
        for s in self.streams.lock().unwrap().iter() {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.go_down();
    }
}

/// Copies `from` to `to`; with `largest`, throttled and counted; stops when `down` is set.
fn pump(mut from: TcpStream, mut to: TcpStream, largest: Option<Arc<AtomicU64>>, down: Option<Arc<AtomicBool>>) {
    let mut buf = [0u8; 16 * 1024];
    let start = Instant::now();
    let mut total: u64 = 0;
    loop {
        if down.as_ref().is_some_and(|d| d.load(Ordering::SeqCst)) {
            break;
        }
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        total += n as u64;
        if let Some(l) = &largest {
            l.fetch_max(total, Ordering::SeqCst);
            let due = Duration::from_secs_f64(total as f64 / THROTTLE_BYTES_PER_SEC as f64);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                std::thread::sleep(wait);
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

on_kinds!(the_registry_going_down_mid_pull_fails_the_deploy_and_the_old_container_keeps_running);
fn the_registry_going_down_mid_pull_fails_the_deploy_and_the_old_container_keeps_running() {
    let Some(bed) = Harness::up("fault-registry") else {
        return;
    };
    let registry = bed.registry().replace("localhost", "127.0.0.1");
    let proxy = Proxy::start(registry);
    let through = format!("localhost:{}", proxy.port);
    // The proxy's address is a registry podman may reach over plain HTTP, like the bed's.
    let conf = bed.env_var("CONTAINERS_REGISTRIES_CONF");
    let mut text = std::fs::read_to_string(&conf).unwrap();
    text += &format!("\n[[registry]]\nlocation = \"{through}\"\ninsecure = true\n");
    std::fs::write(&conf, text).unwrap();

    let v1 = bed.push_image("acme/app", "v1", None);
    let image = format!("{through}/acme/app:latest");
    let unit = bed.container_unit("app", &image);
    bed.systemctl_ok(&["start", &unit]);
    assert_eq!(bed.running_digest("app"), v1);
    let v2 = bed.push_padded_image("acme/app", "v2", None, PAD_MIB);
    let services = format!("{unit}={image}");
    let podup = serve(&bed, &[("PODUP_SERVICES", &services), ("PODUP_VERIFY_SECS", "3")]);
    let db = state_db(&bed);
    let before = ids(&db);

    let r = podup.api(
        "POST",
        &format!("/api/v1/services/{unit}/update"),
        &format!(r#"{{"digest": "{v2}"}}"#),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let id = r.body["task_id"].as_i64().unwrap();
    // Mid-pull: the big layer is a few MiB in.
    let started = Instant::now();
    let mid = wait_until(Duration::from_secs(90), || {
        proxy.largest.load(Ordering::SeqCst) > 3 * 1024 * 1024
    });
    assert!(mid, "the pull of the big layer never got going: {:#}", podup.task(id));
    let t = podup.task(id);
    assert_eq!(
        (t["task"]["status"].as_str(), t["units"][0]["phase"].as_str()),
        (Some("running"), Some("pull")),
        "{t:#}"
    );
    proxy.go_down();
    let t = podup.wait_task(id, Duration::from_secs(180));
    shout(&format!(
        "registry down mid-pull: the task ended {} ({}) {:.1} s after the pull began: {}",
        t["task"]["status"],
        t["task"]["reason"],
        started.elapsed().as_secs_f64(),
        t["task"]["message"]
    ));
    assert_eq!(
        (t["task"]["status"].as_str(), t["task"]["reason"].as_str()),
        (Some("failed"), Some("pull_failed")),
        "{t:#}"
    );
    let message = t["task"]["message"].as_str().unwrap();
    assert!(message.starts_with("pull failed: 'podman pull"), "{message}");
    assert!(message.contains(&v2), "the message names the digest: {message}");
    // The clear line: the pull's argv, its exit status and stderr are in the task's log.
    let logs = t["logs"].as_array().unwrap();
    let pull = logs
        .iter()
        .find(|l| l["step"] == "pull" && l["argv"].as_array().is_some_and(|a| a.iter().any(|x| x == "pull")))
        .unwrap_or_else(|| panic!("no pull command in the log: {logs:#?}"));
    assert_ne!(pull["exit_status"].as_i64(), Some(0), "{pull:#}");
    assert!(!pull["stderr"].as_str().unwrap_or("").is_empty(), "{pull:#}");
    assert!(
        logs.iter().any(|l| l["level"] == "error" && l["message"] == message),
        "{logs:#?}"
    );
    // Nothing was restarted: the old container runs on.
    assert_eq!(t["units"][0]["status"], "failed", "{t:#}");
    assert!(
        !logs.iter().any(|l| l["step"] == "restart"),
        "no restart after a failed pull"
    );
    assert_eq!(bed.running_digest("app"), v1);
    assert_eq!(bed.unit_property(&unit, "ActiveState"), "active");
    assert_eq!(bed.unit_property(&unit, "NRestarts"), "0");
    // The deploy lock is free again and nothing was lost.
    let locks = podup.api("GET", "/api/v1/locks", "");
    assert_eq!(locks.body["locks"].as_array().map(Vec::len), Some(0), "{}", locks.body);
    assert_intact(&db, &before);
}
