//! One interface over the two transports, so every command works with either.
//!
//! Everything runs on one tokio runtime: the hyper client natively, the blocking ureq client
//! on tokio's blocking thread pool (`spawn_blocking`), so `solve-many` drives both the same way.

use capmonster_core::{
    Config, Error, ErrorKind, Solved, Task, TaskId, TaskStatus, TransportError, TransportErrorKind,
};

use crate::args::{ReportWhat, TransportKind};

/// A client of either transport. Cheap to clone.
#[derive(Clone)]
pub(crate) enum Backend {
    /// capmonster-hyper (async).
    Hyper(capmonster_hyper::Client),
    /// capmonster-ureq (blocking, run on the blocking pool).
    Ureq(capmonster_ureq::Client),
}

/// Runs a blocking call on tokio's blocking pool. A panic there (a bug) becomes an error
/// instead of tearing the command down.
async fn blocking<T, F>(f: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, Error> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => Err(internal(&e)),
    }
}

/// An error standing for a failed worker (a panic in a library: a bug).
pub(crate) fn internal(what: &dyn std::fmt::Display) -> Error {
    Error::new(ErrorKind::Transport(TransportError::new(
        TransportErrorKind::Io,
        format!("internal error: {what}"),
    )))
}

impl Backend {
    /// A client for `config` on the chosen transport.
    pub(crate) fn new(kind: TransportKind, config: Config) -> Result<Self, Error> {
        Ok(match kind {
            TransportKind::Hyper => Self::Hyper(capmonster_hyper::Client::from_config(config)?),
            TransportKind::Ureq => Self::Ureq(capmonster_ureq::Client::from_config(config)?),
        })
    }

    /// createTask, then poll to the end.
    pub(crate) async fn solve(&self, task: Task) -> Result<Solved, Error> {
        match self {
            Self::Hyper(c) => c.solve(&task).await,
            Self::Ureq(c) => {
                let c = c.clone();
                blocking(move || c.solve(&task)).await
            }
        }
    }

    /// createTask only.
    pub(crate) async fn create_task(&self, task: Task) -> Result<TaskId, Error> {
        match self {
            Self::Hyper(c) => c.create_task(&task).await,
            Self::Ureq(c) => {
                let c = c.clone();
                blocking(move || c.create_task(&task)).await
            }
        }
    }

    /// One getTaskResult.
    pub(crate) async fn task_result(&self, id: TaskId) -> Result<TaskStatus, Error> {
        match self {
            Self::Hyper(c) => c.task_result(id).await,
            Self::Ureq(c) => {
                let c = c.clone();
                blocking(move || c.task_result(id)).await
            }
        }
    }

    /// getBalance.
    pub(crate) async fn balance(&self) -> Result<f64, Error> {
        match self {
            Self::Hyper(c) => c.balance().await,
            Self::Ureq(c) => {
                let c = c.clone();
                blocking(move || c.balance()).await
            }
        }
    }

    /// reportIncorrectImageCaptcha / reportIncorrectTokenCaptcha.
    pub(crate) async fn report_incorrect(&self, what: ReportWhat, id: TaskId) -> Result<(), Error> {
        match (self, what) {
            (Self::Hyper(c), ReportWhat::Image) => c.report_incorrect_image(id).await,
            (Self::Hyper(c), ReportWhat::Token) => c.report_incorrect_token(id).await,
            (Self::Ureq(c), what) => {
                let c = c.clone();
                blocking(move || match what {
                    ReportWhat::Image => c.report_incorrect_image(id),
                    ReportWhat::Token => c.report_incorrect_token(id),
                })
                .await
            }
        }
    }

    /// The current user agent.
    pub(crate) async fn user_agent(&self) -> Result<String, Error> {
        match self {
            Self::Hyper(c) => c.user_agent().await,
            Self::Ureq(c) => {
                let c = c.clone();
                blocking(move || c.user_agent()).await
            }
        }
    }
}
