//! Typed accessors over a [`Solution`](super::Solution), per task family.
