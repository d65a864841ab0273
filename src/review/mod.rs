//! Reading the receipt back for review: rows folded into calls
//! ([`calls`]), calls grouped by what they touched ([`shape`]), a period
//! summed up ([`digest`]), and the edits and writes agents report turned
//! into unified diffs ([`diff`]). Pure: the commands read the store and the
//! policy and hand the rows in.

pub mod calls;
pub mod diff;
pub mod digest;
pub mod shape;
