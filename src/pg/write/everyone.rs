//! Scoring every contact: one sequential pass over the events table and one over the
//! contacts in key order, both streamed from the executor, handing results to a sink a
//! batch at a time (publish, attach, rescore, verify).

use pgrx::spi::{Spi, SpiClient};

use crate::pg::base::attached::Attached;
use crate::pg::base::params::Params;
use crate::pg::base::queries::Contacts;
use crate::pg::base::rights::{as_crm_owner, as_extension_owner};
use crate::pg::base::spi_rows::{for_each_row, SlotRow};
use crate::pg::write::score_rows::{StoredRow, BATCH};
use crate::pg::write::summaries::{
    finish_row, fold_all_adjustments, fold_row, record_column_count, Scored, SummaryKey,
};

/// Score every contact in one pass over the events table (summaries kept per contact
/// in memory, the profile's manual adjustments folded in) and one over the contacts in
/// key order, handing results to `sink` a
/// batch at a time, in key order, each with the contact's state row as it was.
pub(crate) fn score_everyone(
    client: &SpiClient<'_>,
    attached: &Attached,
    now: i64,
    sink: impl FnMut(&SpiClient<'_>, &mut Scored, Vec<Option<StoredRow>>),
) -> usize {
    if attached.attachment.integer_keys() {
        score_everyone_by::<i64>(client, attached, now, sink)
    } else {
        score_everyone_by::<String>(client, attached, now, sink)
    }
}

pub(crate) fn score_everyone_by<K: SummaryKey>(
    client: &SpiClient<'_>,
    attached: &Attached,
    now: i64,
    mut sink: impl FnMut(&SpiClient<'_>, &mut Scored, Vec<Option<StoredRow>>),
) -> usize {
    let (attachment, plan) = (&attached.attachment, &attached.plan);
    // Sized for every contact up front: growing it rehashes every summary so far.
    let mut summaries = K::map(attachment.estimated_contacts(client));
    let mut params = Params::default();
    let facts = plan.bind(&mut params);
    let events = attachment.events_query(plan, Contacts::All, facts, K::CAST);
    let fold = &mut |row: &SlotRow| fold_row::<K>(attached, &mut summaries, row, now);
    as_crm_owner(attachment.crm_owner, |_| {
        for_each_row(&events, &params, fold);
    });
    fold_all_adjustments::<K>(attached, &mut summaries, now);

    // The contacts stream from the executor too (no result table to copy each batch
    // into), and go to `sink` a batch at a time.
    let stored_from = 2 + record_column_count(attached);
    let contacts = attachment.contacts_query(plan, Contacts::All);
    as_crm_owner(attachment.crm_owner, |outer| {
        let mut total = 0;
        let mut scored: Scored = Vec::with_capacity(BATCH);
        let mut stored = Vec::with_capacity(BATCH);
        let mut hand_over = |scored: &mut Scored, stored: &mut Vec<Option<StoredRow>>| {
            if scored.is_empty() {
                return;
            }
            pgrx::check_for_interrupts!();
            total += scored.len();
            // A connection of its own: the contacts query is still running on this one
            // (what it writes comes after that query's snapshot, so the query reads none
            // of it). It writes the extension's tables, with the extension's rights.
            as_extension_owner(outer, || {
                Spi::connect(|client| sink(client, scored, std::mem::take(stored)))
            });
            scored.clear();
        };
        let each = &mut |row: &SlotRow| {
            let Some(result) = finish_row::<K>(attached, &mut summaries, row, now) else {
                return;
            };
            scored.push(result);
            stored.push(StoredRow::read(row, stored_from));
            if scored.len() == BATCH {
                hand_over(&mut scored, &mut stored);
            }
        };
        for_each_row(&contacts, &Params::default(), each);
        hand_over(&mut scored, &mut stored);
        total
    })
}
