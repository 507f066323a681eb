//! The write paths: what a statement touched and which way it is scored (new events
//! in place, some contacts recomputed, everyone in one pass; a replicated row as a
//! statement of one), the summaries they fold,
//! the score rows they store, the transitions they record, and maintenance.

pub(crate) mod accounts;
pub(crate) mod everyone;
pub(crate) mod maintenance;
pub(crate) mod new_events;
pub(crate) mod recomputed;
pub(crate) mod replicated_rows;
pub(crate) mod routing;
pub(crate) mod score_rows;
pub(crate) mod some_contacts;
pub(crate) mod statement;
pub(crate) mod summaries;
pub(crate) mod transition_log;
pub(crate) mod transitions;
