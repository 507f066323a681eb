//! Scoring some contacts: lock their score rows in key order, read the contacts (with
//! their accounts) and all their events in two set-based queries, score, write in one
//! statement. Triggers, `tick()` and `rescore(profile, contact)` use it.

use std::collections::HashMap;
use std::rc::Rc;

use pgrx::spi::{OwnedPreparedStatement, SpiClient};

use crate::pg::base::attached::{run, Attached, Statement};
use crate::pg::base::params::Params;
use crate::pg::base::queries::{key_array, Contacts};
use crate::pg::base::rights::as_crm_owner;
use crate::pg::base::spi_rows::{RawRow, Row};
use crate::pg::write::recomputed;
use crate::pg::write::score_rows::{lock_and_read, remove_missing, write_batch, Outcome, BATCH};
use crate::pg::write::summaries::{
    finish_row, finish_rows, fold_adjustment, fold_adjustments_of, fold_row, fold_rows,
    read_adjustments_of, Scored, Summaries,
};
use crate::pg::write::transitions::{record, settle, Before, Cause};
use lead_score_core::engine::{ContactScore, EventSummary};

/// Read some contacts (keys as text, in key order) and their events, and score them, in
/// the order of `keys`. Writes nothing.
pub(crate) fn compute_batch(
    client: &SpiClient<'_>,
    attached: &Attached,
    keys: &[String],
    now: i64,
) -> Scored {
    compute_into(client, attached, keys, now, Summaries::default())
}

/// `compute_batch`, folding each contact's events into its summary in `summaries` when
/// there is one (an explaining summary, say).
pub(crate) fn compute_into(
    client: &SpiClient<'_>,
    attached: &Attached,
    keys: &[String],
    now: i64,
    summaries: Summaries,
) -> Scored {
    let mut scored =
        compute_at(client, attached, keys, vec![(now, summaries)]).pop().unwrap_or_default();
    // Back in the order of `keys` (the key type's own order, not the text's: 9 before 10).
    let position: HashMap<&str, usize> =
        keys.iter().enumerate().map(|(i, key)| (key.as_str(), i)).collect();
    scored.sort_by_key(|(key, _)| position.get(key.as_str()).copied());
    scored
}

/// Recompute the given contacts (keys as text, in key order) as of `now` and store the
/// results. Contacts that no longer exist lose their state row.
pub(crate) fn rescore_contacts(
    client: &SpiClient<'_>,
    attached: &Attached,
    keys: &[String],
    now: i64,
    cause: Cause,
) -> Outcome {
    let mut outcome = Outcome::default();
    for batch in keys.chunks(BATCH) {
        pgrx::check_for_interrupts!();
        let mut before = lock_and_read(client, attached, batch);
        let mut scored = compute_batch(client, attached, batch, now);
        outcome.scored += scored.len();
        outcome.changed += scored
            .iter()
            .filter(|(key, result)| !before.get(key).is_some_and(|(row, _)| row.same_score(result)))
            .count();
        let before: Vec<Option<Before>> = scored
            .iter()
            .map(|(key, _)| {
                let (row, tags) = before.remove(key)?;
                Some(Before { tags, disqualified_by: row.disqualified_by, stage: row.stage })
            })
            .collect();
        let found = settle(attached, &mut scored, &before, cause, now);
        remove_missing(client, attached, batch, &scored);
        write_batch(client, attached, &scored, now);
        record(client, attached, &found, cause, now);
        recomputed::note_contacts(attached.attachment.profile_id, batch);
    }
    outcome
}

/// The two set-based reads of some contacts (keys as text): their events, and the
/// contacts with their accounts, each with its arguments. Prepared once per attachment.
struct ContactReads<'a> {
    events: Rc<OwnedPreparedStatement>,
    of_events: Params<'a>,
    contacts: Rc<OwnedPreparedStatement>,
    of_contacts: Params<'a>,
}

fn contact_reads<'a>(
    client: &SpiClient<'_>,
    attached: &'a Attached,
    keys: &[String],
) -> ContactReads<'a> {
    let (attachment, plan) = (&attached.attachment, &attached.plan);
    let mut of_events = Params::default();
    let given = Contacts::Given(of_events.bind(key_array(keys)));
    let facts = plan.bind(&mut of_events);
    let events = attached.statement(client, Statement::EventsOfContacts, &of_events, false, || {
        attachment.events_query(plan, given, facts, "text")
    });
    let mut of_contacts = Params::default();
    let given = Contacts::Given(of_contacts.bind(key_array(keys)));
    let contacts = attached.statement(client, Statement::Contacts, &of_contacts, false, || {
        attachment.contacts_query(plan, given)
    });
    ContactReads { events, of_events, contacts, of_contacts }
}

/// Read some contacts (keys as text), their events and their manual adjustments once,
/// and score them as of each of `instants`, each into its own summaries (empty, or
/// explaining ones). One result per instant, in the order the contacts came. Writes
/// nothing.
pub(crate) fn compute_at(
    client: &SpiClient<'_>,
    attached: &Attached,
    keys: &[String],
    mut instants: Vec<(i64, Summaries)>,
) -> Vec<Scored> {
    let reads = contact_reads(client, attached, keys);
    fold_adjustments_of(client, attached, keys, &mut instants);
    as_crm_owner(attached.attachment.crm_owner, |_| {
        // Each result table is read once per instant.
        let events = run(client, attached, &reads.events, "reading events", &reads.of_events);
        // (`fold_rows` checks for interrupts on every row, each step.)
        for (now, summaries) in &mut instants {
            fold_rows::<String>(attached, &events, summaries, *now);
        }
        let contacts =
            run(client, attached, &reads.contacts, "reading contacts", &reads.of_contacts);
        instants
            .into_iter()
            .map(|(now, mut summaries)| {
                pgrx::check_for_interrupts!();
                finish_rows(attached, &contacts, &mut summaries, now)
            })
            .collect()
    })
}

/// Score some contacts, each as of its own instant (`as_of`: key as text, instant),
/// from one read of their events, adjustments and contacts: what was known of each
/// then (contact and account fields as they are now), each result `explaining` what
/// each rule added or not. In the order the contacts came from the contacts query;
/// contacts that do not exist are left out. Writes nothing.
pub(crate) fn compute_as_of(
    client: &SpiClient<'_>,
    attached: &Attached,
    as_of: &[(String, i64)],
    explaining: bool,
) -> Vec<(String, ContactScore, i64)> {
    let keys: Vec<String> = as_of.iter().map(|(key, _)| key.clone()).collect();
    let instant: HashMap<&str, i64> = as_of.iter().map(|(key, at)| (key.as_str(), *at)).collect();
    let reads = contact_reads(client, attached, &keys);
    let mut summaries = Summaries::default();
    if explaining {
        summaries.extend(keys.iter().map(|key| (key.clone(), EventSummary::explaining())));
    }
    // Each row into its contact's summary, as of the contact's instant.
    let now_of = |row: &RawRow| row.text(1).and_then(|key| instant.get(key).copied());
    read_adjustments_of(client, attached, &keys, |row| {
        if let Some(now) = now_of(row) {
            fold_adjustment::<String>(attached, &mut summaries, row, now);
        }
    });
    as_crm_owner(attached.attachment.crm_owner, |_| {
        let events = run(client, attached, &reads.events, "reading events", &reads.of_events);
        for row in events.iter() {
            if let Some(now) = now_of(&row) {
                fold_row::<String>(attached, &mut summaries, &row, now);
            }
        }
        run(client, attached, &reads.contacts, "reading contacts", &reads.of_contacts)
            .iter()
            .filter_map(|row| {
                let now = *instant.get(row.text(1)?)?;
                let (key, result) = finish_row::<String>(attached, &mut summaries, &row, now)?;
                Some((key, result, now))
            })
            .collect()
    })
}
