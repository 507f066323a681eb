//! What evaluation and learning read from the caller's and the CRM's tables: the
//! outcomes (as the caller) and train's candidate rules (as the tables' owner); and
//! the top of the list by score, read from the score rows as the caller.

pub(crate) mod candidates;
pub(crate) mod outcomes;
pub(crate) mod top_scores;
