//! The pulls of one task, shared by its deploys: at most `bound` at once
//! (`PODUP_PULL_PARALLEL`), and one per reference however many units run it; the
//! others wait for that one and take its answer.

use crate::host::{Host, HostError};
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, OnceLock};

type Answer = Arc<OnceLock<Result<String, HostError>>>;

pub struct Pulls {
    bound: usize,
    running: Mutex<usize>,
    freed: Condvar,
    answers: Mutex<HashMap<String, Answer>>,
}

/// Whether a pull ran for this caller or another unit's pull answered it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Source {
    Pulled,
    Shared,
}

impl Pulls {
    pub fn new(bound: usize) -> Pulls {
        Pulls {
            bound: bound.max(1),
            running: Mutex::new(0),
            freed: Condvar::new(),
            answers: Mutex::new(HashMap::new()),
        }
    }

    /// `host.pull(reference)`, once per reference for the whole task.
    pub fn pull(&self, host: &Host, reference: &str) -> (Result<String, HostError>, Source) {
        let answer = {
            let mut answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
            answers.entry(reference.to_string()).or_default().clone()
        };
        let mut source = Source::Shared;
        let result = answer.get_or_init(|| {
            source = Source::Pulled;
            self.acquire();
            let r = host.pull(reference);
            self.release();
            r
        });
        (result.clone(), source)
    }

    fn acquire(&self) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        while *running >= self.bound {
            running = self.freed.wait(running).unwrap_or_else(|e| e.into_inner());
        }
        *running += 1;
    }

    fn release(&self) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        *running -= 1;
        self.freed.notify_one();
    }
}
