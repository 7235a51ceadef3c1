//! Fault soak harness (work in progress).
