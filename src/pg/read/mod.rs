//! What evaluation and learning read from the caller's and the CRM's tables: the
//! outcomes (as the caller) and train's candidate rules (as the tables' owner).

pub(crate) mod candidates;
pub(crate) mod outcomes;
