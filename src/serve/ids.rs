//! Request ids: sent as `X-Request-Id` and stored in every request's row.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Request ids unique across processes, yet opaque: the first 16 bytes (32 hex
/// digits) of the SHA-256 of a per-process random seed and a counter. The id says
/// nothing of the process start time, its pid, or how many requests it served.
pub struct RequestIds {
    seed: [u8; 32],
    next: AtomicU64,
}

impl RequestIds {
    pub fn new() -> RequestIds {
        RequestIds {
            seed: seed(),
            next: AtomicU64::new(1),
        }
    }

    pub fn next(&self) -> String {
        use sha2::{Digest, Sha256};
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let digest = Sha256::new()
            .chain_update(self.seed)
            .chain_update(n.to_le_bytes())
            .finalize();
        crate::hex::hex(&digest[..16])
    }
}

/// 32 bytes from /dev/urandom. Should that fail (no /dev in a sandbox), the clock,
/// pid and address of a stack value stand in: the ids are then guessable, but still
/// unique, and hashed, so they still reveal nothing directly.
fn seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut seed));
    if let Err(e) = read {
        log::warn!("cannot read /dev/urandom for request ids ({e}); using the clock and pid");
        use sha2::{Digest, Sha256};
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let here = &seed as *const _ as usize;
        seed = Sha256::new()
            .chain_update(now.to_le_bytes())
            .chain_update(std::process::id().to_le_bytes())
            .chain_update(here.to_le_bytes())
            .finalize()
            .into();
    }
    seed
}
