//! The transport contract suite (written once in `capmonster_testdata::suite`), run over
//! [`capmonster_ureq::UreqTransport`], whose futures are complete when returned.
#![allow(missing_docs)]

capmonster_testdata::transport_suite!(capmonster_ureq::UreqTransport, run, ureq::Error);

/// Runs a future of the ureq transport: it is complete when returned.
fn run<F: Future>(f: F) -> F::Output {
    capmonster_core::blocking::block_on(f).expect("ureq's futures are complete")
}
