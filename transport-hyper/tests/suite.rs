//! The transport contract suite (written once in `capmonster_testdata::suite`), run over
//! [`capmonster_hyper::HyperTransport`] on a tokio runtime.
#![allow(missing_docs)]

capmonster_testdata::transport_suite!(
    capmonster_hyper::HyperTransport,
    run,
    hyper_util::client::legacy::Error
);

/// Runs a future of the hyper transport on a fresh multi-threaded tokio runtime.
fn run<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(f)
}
