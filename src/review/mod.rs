//! Reading the receipt back for review: rows folded into calls
//! ([`calls`]), calls grouped by what they touched ([`shape`]), and a
//! period summed up ([`digest`]). Pure: the commands read the store and
//! the policy and hand the rows in.

pub mod calls;
pub mod digest;
pub mod shape;
