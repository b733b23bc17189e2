//! aptp-benches: shared helpers for the benchmarks.
