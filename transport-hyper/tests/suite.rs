//! The transport contract suite (written once in `capmonster_transport_suite`), run over
//! [`capmonster_hyper::HyperTransport`] on a tokio runtime.
#![allow(missing_docs)]

/// The hyper transport, as the suite sees it.
struct Hyper;

impl capmonster_transport_suite::SuiteTransport for Hyper {
    type T = capmonster_hyper::HyperTransport;
    type Native = hyper_util::client::legacy::Error;

    /// Runs a future of the hyper transport on one multi-threaded tokio runtime shared by the
    /// tests (callable from several threads at once), so that a client's pooled connections
    /// outlive each call.
    fn run<F: Future>(f: F) -> F::Output {
        static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
        RUNTIME
            .get_or_init(|| {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("tokio runtime")
            })
            .block_on(f)
    }
}

capmonster_transport_suite::transport_suite!(Hyper);
