//! Typed builders, one per documented task type.
