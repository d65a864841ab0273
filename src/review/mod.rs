//! Reading the receipt back for review: rows folded into calls
//! ([`calls`]), calls grouped by what they touched ([`shape`]), a period
//! summed up ([`digest`]), the edits and writes agents report turned into
//! unified diffs ([`diff`]), and a proposed policy checked against recorded
//! history before it is adopted: [`replay`] re-decides recorded calls under
//! it and reports every decision that would change, [`suggest`] turns
//! repeated human approvals into allow rules, each checked by such a
//! replay. Only [`decider`] reads files (the policy layers); the rest is
//! pure, and nothing here writes the receipt.

pub mod calls;
pub mod decider;
pub mod diff;
pub mod digest;
pub mod replay;
pub mod shape;
pub mod suggest;

pub use decider::Decider;
