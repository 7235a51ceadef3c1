//! Solutions: the `solution` object of a ready getTaskResult answer, kept raw, with the
//! answer's metadata (`cost`, `solveCount`, times, ...) and typed accessors per task family.
//! [`Solution`] and [`Metadata`] are named at the crate
//! root; this module holds what the typed accessors return.

pub(crate) mod raw;
mod views;

pub(crate) use raw::*;
pub use views::*;
