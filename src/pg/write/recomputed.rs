//! Contacts recomputed from their whole history during the current statement (the
//! client's: nested statements and triggers share it). AFTER triggers fire once their
//! statement is done, in the order they were queued, so a recompute can run between an
//! events INSERT and its own trigger and read the new rows already: a row trigger of
//! the CRM's that updates the contact (whose contacts trigger recomputes it), a DELETE
//! of events in the same query, a replicated UPDATE moving an event between partitions
//! (a DELETE on one, an INSERT on the other). The INSERT's trigger must then not add
//! those rows to the contact again: it recomputes such a contact instead (see
//! `new_events::classify`). Kept per backend, for the statement in progress.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use pgrx::pg_sys;

#[derive(Default)]
struct Recomputed {
    /// The transaction's and the statement's start: another statement starts afresh.
    statement: (pg_sys::TimestampTz, pg_sys::TimestampTz),
    /// By profile id: every contact (a full pass), or these.
    everyone: HashSet<i64>,
    contacts: HashMap<i64, HashSet<String>>,
}

thread_local! {
    static RECOMPUTED: RefCell<Recomputed> = RefCell::new(Recomputed::default());
}

fn this_statement() -> (pg_sys::TimestampTz, pg_sys::TimestampTz) {
    // SAFETY: plain reads of the transaction's and statement's start times.
    unsafe {
        (pg_sys::GetCurrentTransactionStartTimestamp(), pg_sys::GetCurrentStatementStartTimestamp())
    }
}

/// `f` on the statement's record (emptied first when another statement began).
fn with_current<R>(f: impl FnOnce(&mut Recomputed) -> R) -> R {
    let statement = this_statement();
    RECOMPUTED.with(|cell| {
        let mut recomputed = cell.borrow_mut();
        if recomputed.statement != statement {
            *recomputed = Recomputed { statement, ..Recomputed::default() };
        }
        f(&mut recomputed)
    })
}

/// More contacts than this recomputed in one statement count as all of them: the
/// record stays small whatever a statement touches (a later events INSERT of the
/// statement then recomputes its contacts rather than add to them: slower, exact).
const MOST_KEPT: usize = 100_000;

/// Profile `profile_id`'s contacts `keys` were recomputed from their history.
pub(crate) fn note_contacts(profile_id: i64, keys: &[String]) {
    with_current(|r| {
        if r.everyone.contains(&profile_id) {
            return;
        }
        let kept = r.contacts.entry(profile_id).or_default();
        kept.extend(keys.iter().cloned());
        if kept.len() > MOST_KEPT {
            r.contacts.remove(&profile_id);
            r.everyone.insert(profile_id);
        }
    });
}

/// Every contact of profile `profile_id` was recomputed from its history.
pub(crate) fn note_everyone(profile_id: i64) {
    with_current(|r| {
        r.everyone.insert(profile_id);
    });
}

/// Whether contact `key` of profile `profile_id` was recomputed during this statement.
pub(crate) fn during_this_statement(profile_id: i64, key: &str) -> bool {
    with_current(|r| {
        r.everyone.contains(&profile_id)
            || r.contacts.get(&profile_id).is_some_and(|keys| keys.contains(key))
    })
}
