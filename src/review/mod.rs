//! Reading the receipt back as a reviewer: pure functions over typed
//! receipt rows, no I/O. `diff` turns the edits and writes agents report
//! into unified diffs.

pub mod diff;
