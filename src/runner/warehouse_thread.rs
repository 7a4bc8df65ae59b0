//! The warehouse connection of one run lives on one blocking thread that owns it:
//! commands go in, results come out. Async jobs `call` it, blocking ones (the fiscal
//! printing loop) `call_blocking` it; the connection itself never moves between threads.

use std::sync::mpsc;

use tokio::sync::oneshot;

use crate::config::AppConfig;
use crate::secrets::{SecretKey, Secrets};
use crate::warehouse::{Warehouse, WarehouseError};

type Task = Box<dyn FnOnce(&mut Warehouse) + Send>;

/// A handle to the thread holding the warehouse connection; the thread ends (and the
/// connection closes) when the last handle is dropped.
#[derive(Clone)]
pub struct WarehouseThread {
    tasks: mpsc::Sender<Task>,
}

/// The thread ended (it panicked); the run stops.
fn gone() -> WarehouseError {
    WarehouseError::Connect("the warehouse connection thread ended".into())
}

impl WarehouseThread {
    /// Connects to the warehouse of `config` on a new thread; fails when it cannot.
    pub async fn open(config: &AppConfig, secrets: &Secrets) -> Result<Self, WarehouseError> {
        let (config, secrets) = (config.database.clone(), secrets.clone());
        let (ready_tx, ready_rx) = oneshot::channel();
        let (tasks, rx) = mpsc::channel::<Task>();
        std::thread::Builder::new()
            .name("skladlink-warehouse".into())
            .spawn(move || {
                let password = secrets.get(&SecretKey::database()).ok().flatten();
                let mut wh = match Warehouse::from_config(&config, password.as_ref()) {
                    Ok(wh) => {
                        let _ = ready_tx.send(Ok(()));
                        wh
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                while let Ok(task) = rx.recv() {
                    task(&mut wh);
                }
            })
            .map_err(|e| WarehouseError::Connect(e.to_string()))?;
        ready_rx.await.map_err(|_| gone())??;
        Ok(WarehouseThread { tasks })
    }

    /// Hands `f` to the warehouse thread; its result arrives on the returned receiver.
    fn submit<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Warehouse) -> Result<R, WarehouseError> + Send + 'static,
    ) -> Result<oneshot::Receiver<Result<R, WarehouseError>>, WarehouseError> {
        let (tx, rx) = oneshot::channel();
        self.tasks
            .send(Box::new(move |wh| {
                let _ = tx.send(f(wh));
            }))
            .map_err(|_| gone())?;
        Ok(rx)
    }

    /// Runs `f` on the warehouse thread and waits for its result.
    pub async fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Warehouse) -> Result<R, WarehouseError> + Send + 'static,
    ) -> Result<R, WarehouseError> {
        self.submit(f)?.await.map_err(|_| gone())?
    }

    /// Like [`call`](Self::call), from a blocking thread.
    pub fn call_blocking<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Warehouse) -> Result<R, WarehouseError> + Send + 'static,
    ) -> Result<R, WarehouseError> {
        self.submit(f)?.blocking_recv().map_err(|_| gone())?
    }
}
