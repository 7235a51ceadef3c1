//! The transport contract suite (written once in `capmonster_transport_suite`), run over
//! [`capmonster_ureq::UreqTransport`], whose futures are complete when returned.
#![allow(missing_docs)]

/// The ureq transport, as the suite sees it.
struct Ureq;

impl capmonster_transport_suite::SuiteTransport for Ureq {
    type T = capmonster_ureq::UreqTransport;
    type Native = ureq::Error;

    /// Runs a future of the ureq transport: it is complete when returned.
    fn run<F: Future>(f: F) -> F::Output {
        capmonster_core::blocking::block_on(f).expect("ureq's futures are complete")
    }
}

capmonster_transport_suite::transport_suite!(Ureq);
