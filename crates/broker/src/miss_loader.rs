//! Token-read cache misses that happen at once share one query: each miss is queued, and a
//! loader takes everything queued and reads those integrations together
//! (`TokenRepository::read_for_access_many`). What arrives while a query is in flight waits
//! for the next one (`LOADERS` queries at most in flight). A miss whose batch failed, whose
//! row could not be read, or that finds the queue full reads on its own, so it gets exactly
//! the answer (or error) a lone read would.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use tether_core::ports::TokenRepository;
use tether_core::token::AccessRead;
use tether_core::{IntegrationId, StorageResult};
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::runtime::Runtime;

/// Misses read in one query at most.
const BATCH: usize = 256;
/// Queries in flight at once.
const LOADERS: usize = 2;
/// Misses waiting before the next ones read on their own.
const QUEUE: usize = 4096;

/// What a queued miss is told.
enum Loaded {
    Found(Arc<AccessRead>),
    Missing,
    /// Read it on your own (the batch failed, or this row could not be read).
    Alone,
}

type Request = (IntegrationId, oneshot::Sender<Loaded>);

pub(crate) struct MissLoader {
    repo: Arc<dyn TokenRepository>,
    /// Started on first use, on `runtime`.
    queue: OnceLock<mpsc::Sender<Request>>,
    runtime: Runtime,
}

impl MissLoader {
    pub(crate) fn new(repo: Arc<dyn TokenRepository>) -> Self {
        Self {
            repo,
            queue: OnceLock::new(),
            runtime: Runtime::current(),
        }
    }

    /// The integration and the access half of its token, `None` when it does not exist.
    pub(crate) async fn load(&self, id: IntegrationId) -> StorageResult<Option<Arc<AccessRead>>> {
        let (answer, told) = oneshot::channel();
        if self.queue().try_send((id, answer)).is_ok() {
            match told.await {
                Ok(Loaded::Found(read)) => return Ok(Some(read)),
                Ok(Loaded::Missing) => return Ok(None),
                Ok(Loaded::Alone) | Err(_) => {}
            }
        }
        Ok(self.repo.read_for_access(id).await?.map(Arc::new))
    }

    fn queue(&self) -> &mpsc::Sender<Request> {
        self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            self.runtime.spawn(run(self.repo.clone(), rx));
            tx
        })
    }
}

async fn run(repo: Arc<dyn TokenRepository>, mut rx: mpsc::Receiver<Request>) {
    let free = Arc::new(Semaphore::new(LOADERS));
    loop {
        // A free loader first: what arrives meanwhile joins the query it will make.
        let Ok(loader) = free.clone().acquire_owned().await else {
            return;
        };
        let mut requests = Vec::new();
        if rx.recv_many(&mut requests, BATCH).await == 0 {
            return;
        }
        let repo = repo.clone();
        tokio::spawn(async move {
            load(repo.as_ref(), requests).await;
            drop(loader);
        });
    }
}

async fn load(repo: &dyn TokenRepository, requests: Vec<Request>) {
    let mut ids: Vec<IntegrationId> = requests.iter().map(|(id, _)| *id).collect();
    ids.sort_unstable();
    ids.dedup();
    let found: HashMap<IntegrationId, Option<Arc<AccessRead>>> =
        match repo.read_for_access_many(&ids).await {
            Ok(rows) => rows
                .into_iter()
                .map(|(id, read)| (id, read.ok().map(Arc::new)))
                .collect(),
            Err(e) => {
                tracing::debug!(error = %e, misses = ids.len(), "a batched token read failed");
                for (_, answer) in requests {
                    let _ = answer.send(Loaded::Alone);
                }
                return;
            }
        };
    for (id, answer) in requests {
        let loaded = match found.get(&id) {
            Some(Some(read)) => Loaded::Found(read.clone()),
            Some(None) => Loaded::Alone,
            None => Loaded::Missing,
        };
        let _ = answer.send(loaded);
    }
}
