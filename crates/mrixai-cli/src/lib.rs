//! The mrixai experiment pipeline: profiles, the grid of model cells, resumable
//! cell execution, aggregation and scale-out. The `mrixai` binary and `cargo xtask
//! reproduce` are thin front ends over this library.

pub mod pipeline;
