//! Scoring every contact: one sequential pass over the events table and one over the
//! contacts in key order, both streamed from the executor, handing results to a sink a
//! batch at a time (publish, attach, rescore, verify); a key range at a time when the
//! pass would outgrow `maintenance_work_mem`.

use pgrx::datum::DatumWithOid;
use pgrx::spi::{Spi, SpiClient};

use crate::pg::base::attached::Attached;
use crate::pg::base::memory::{self, pass_budget};
use crate::pg::base::params::Params;
use crate::pg::base::queries::Contacts;
use crate::pg::base::rights::{as_crm_owner, as_extension_owner};
use crate::pg::base::spi_rows::{for_each_row, for_each_row_while, SlotRow};
use crate::pg::write::score_rows::{StoredRow, BATCH};
use crate::pg::write::summaries::{
    bind_range, finish_row, fold_all_adjustments, fold_row, record_column_count, Scored, SummaryKey,
};
use lead_score_core::engine::EventSummary;
use lead_score_core::key_ranges::{pieces_for, KeyRange};

/// Score every contact in one pass over the events table (summaries kept per contact
/// in memory, the profile's manual adjustments folded in) and one over the contacts in
/// key order, handing results to `sink` a batch at a time, in key order, each with the
/// contact's state row as it was. When the summaries would hold more than
/// `maintenance_work_mem`, the same a key range at a time (in key order within each
/// range; ranges of text keys follow one another in byte order).
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

/// How many events rows go by between two looks at the memory the summaries hold.
const LOOK_EVERY: u64 = 4_096;

/// About how many contacts' keys a pass samples to cut its key ranges at.
const SAMPLED_KEYS: f64 = 20_000.0;

pub(crate) fn score_everyone_by<K>(
    client: &SpiClient<'_>,
    attached: &Attached,
    now: i64,
    mut sink: impl FnMut(&SpiClient<'_>, &mut Scored, Vec<Option<StoredRow>>),
) -> usize
where
    K: SummaryKey + Ord + Clone + for<'a> Into<DatumWithOid<'a>>,
{
    let budget = pass_budget();
    let estimated = attached.attachment.estimated_contacts(client);
    // One range, every key, unless the summaries outgrow `maintenance_work_mem`: then
    // the range is cut at sampled keys and each piece scored on its own (a scan of the
    // events per piece), until the pieces fit or hold a single sampled key.
    let mut pending = vec![(KeyRange::<K>::everything(), true)];
    let mut sample: Option<Vec<K>> = None;
    let mut total = 0;
    while let Some((range, limited)) = pending.pop() {
        pgrx::check_for_interrupts!();
        let limit = limited.then_some(budget);
        match summarize::<K>(attached, now, &range, limit, estimated) {
            Ok(summaries) => total += finish::<K>(attached, now, &range, summaries, &mut sink),
            Err(Outgrown { held, seen }) => {
                let sample = sample.get_or_insert_with(|| sample_keys::<K>(attached, estimated));
                let share = range.sample_share(sample) as f64 / sample.len().max(1) as f64;
                let contacts = (estimated as f64 * share) as usize;
                let pieces = range.split(sample, pieces_for(held, seen, contacts, budget));
                let profile = &attached.attachment.profile_name;
                if range == KeyRange::everything() {
                    pgrx::debug1!(
                        "profile \"{profile}\": the summaries of every contact would take more \
                         than maintenance_work_mem ({} kB); scoring a key range at a time",
                        budget / 1024
                    );
                }
                pgrx::debug2!(
                    "profile \"{profile}\": the summaries of {seen} contacts took {held} bytes; \
                     scoring their key range in {} pieces",
                    pieces.len()
                );
                let last = pieces.len() == 1;
                pending.extend(pieces.into_iter().rev().map(|piece| (piece, !last)));
            }
        }
    }
    total
}

/// A key range's summaries grew past the pass's budget: `held` bytes for `seen` contacts.
struct Outgrown {
    held: usize,
    seen: usize,
}

/// The summaries of the events of the contacts in `range` (their manual adjustments
/// folded in), or `Outgrown` as soon as they hold more than `limit` bytes.
fn summarize<K>(
    attached: &Attached,
    now: i64,
    range: &KeyRange<K>,
    limit: Option<usize>,
    estimated: usize,
) -> Result<K::Map, Outgrown>
where
    K: SummaryKey + Clone + for<'a> Into<DatumWithOid<'a>>,
{
    let (attachment, plan) = (&attached.attachment, &attached.plan);
    let before = memory::held();
    // Sized for every contact up front (growing it rehashes every summary so far), but
    // within half the budget.
    let room = limit.map_or(estimated, |limit| {
        estimated.min(limit / 2 / (size_of::<(String, EventSummary)>() + 8))
    });
    let mut summaries = K::map(room);
    let mut params = Params::default();
    let facts = plan.bind(&mut params);
    let which = Contacts::in_range(bind_range(&mut params, range));
    let events = attachment.events_query(plan, which, facts, K::CAST);
    let mut rows = 0_u64;
    let mut outgrown = None;
    let fold = &mut |row: &SlotRow| {
        fold_row::<K>(attached, &mut summaries, row, now);
        rows += 1;
        if let Some(limit) = limit.filter(|_| rows.is_multiple_of(LOOK_EVERY)) {
            let held = memory::held().saturating_sub(before);
            if held > limit {
                outgrown = Some(Outgrown { held, seen: K::count(&summaries) });
                return false;
            }
        }
        true
    };
    as_crm_owner(attachment.crm_owner, |_| {
        for_each_row_while(&events, &params, fold);
    });
    if let Some(outgrown) = outgrown {
        return Err(outgrown);
    }
    fold_all_adjustments::<K>(attached, &mut summaries, now, range);
    Ok(summaries)
}

/// A sample of the contacts' keys (see `Attachment::sample_keys_query`), sorted, each
/// once: where to cut key ranges.
/// (`estimated`: the planner's count of the contacts.)
fn sample_keys<K: SummaryKey + Ord>(attached: &Attached, estimated: usize) -> Vec<K> {
    let attachment = &attached.attachment;
    let mut params = Params::default();
    let share = params.bind((100.0 * SAMPLED_KEYS / estimated.max(1) as f64).min(100.0));
    let query = attachment.sample_keys_query(share);
    let mut keys = Vec::new();
    as_crm_owner(attachment.crm_owner, |_| {
        for_each_row(&query, &params, &mut |row| keys.extend(K::read(row)));
    });
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// Score the contacts in `range` from their summaries, in key order, handing results to
/// `sink` a batch at a time; how many were scored.
fn finish<K: SummaryKey + Clone + for<'a> Into<DatumWithOid<'a>>>(
    attached: &Attached,
    now: i64,
    range: &KeyRange<K>,
    mut summaries: K::Map,
    sink: &mut impl FnMut(&SpiClient<'_>, &mut Scored, Vec<Option<StoredRow>>),
) -> usize {
    let (attachment, plan) = (&attached.attachment, &attached.plan);
    // The contacts stream from the executor too (no result table to copy each batch
    // into), and go to `sink` a batch at a time.
    let stored_from = 2 + record_column_count(attached);
    let mut params = Params::default();
    let which = Contacts::in_range(bind_range(&mut params, range));
    let contacts = attachment.contacts_query(plan, which);
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
        for_each_row(&contacts, &params, each);
        hand_over(&mut scored, &mut stored);
        total
    })
}
