//! The fast path for inserted events: a statement's new events, summarised per
//! contact, added to the stored sums in one UPDATE without reading any history.

use std::borrow::Cow;

use pgrx::pg_sys;
use pgrx::spi::SpiClient;

use crate::pg::base::attached::{run, Attached, Statement};
use crate::pg::base::attachment::ident;
use crate::pg::base::clock::from_unix_micros;
use crate::pg::base::params::{tid_array, Params};
use crate::pg::base::rights::as_crm_owner;
use crate::pg::base::spi_rows::{for_each_row, SlotRow};
use crate::pg::write::accounts::{reached, tag_accounts, with_account_entry, Reached};
use crate::pg::write::recomputed;
use crate::pg::write::score_rows::{
    add_events_sql, int8_array_literal, lock_reading_limits, returned_by_adding_count,
    settled_by_adding, sum_unnest, AfterAdding, Crossed, Locked, NewSums, SumColumns, BATCH,
    SUM_COLUMNS,
};
use crate::pg::write::summaries::{fold_row, fold_rows, SummaryKey};
use crate::pg::write::transitions::{record, Cause};
use lead_score_core::engine::{EventSummary, LimitState};
use lead_score_core::qualification::{transitions, Held, Transition};

/// From how many new rows a statement's events are streamed from the executor rather
/// than read as one result.
pub(crate) const STREAM_FROM: i64 = 1_000;

/// The fast path for inserted events: a statement's new events, summarised per
/// contact, are added to the contacts' stored sums in SQL without rereading any
/// history, when they are additive (see `EventSummary::is_additive`, and
/// `EventSummary::settle_limits` for events of `count`-limited rules) and the contact
/// has a stored row. (No version is compared: every stored row was scored by the
/// active version, see `add_events_sql`.) Reads the new rows from the trigger's
/// transition table `changed` (of `relation`: the events table or one of its
/// partitions), which holds `new_row_count` rows. Returns the contacts
/// it could not handle, in key order, for a full recompute, and the contacts whose
/// accounts are still to be refreshed (every contact the events name, but one whose
/// account `add_one` kept current).
pub(crate) fn add_inserted_events(
    client: &SpiClient<'_>,
    attached: &Attached,
    relation: pg_sys::Oid,
    new_row_count: i64,
    now: i64,
) -> (Vec<String>, Vec<String>) {
    let summaries = if attached.attachment.integer_keys() {
        new_summaries::<i64>(client, attached, relation, new_row_count, now)
    } else {
        new_summaries::<String>(client, attached, relation, new_row_count, now)
    };
    if summaries.is_empty() {
        return (Vec::new(), Vec::new());
    }
    // From here on a contact is its place in `summaries`, which is in key order.
    let (additive, locked) = classify(client, attached, &summaries, now);
    let mut added = vec![false; summaries.len()];
    let mut crossings = Vec::new();
    // The contact whose account the fast path's UPDATE kept current (see `add_one`).
    let accounts = attached.attachment.account_scores.is_some();
    let mut account_kept = None;
    let mut accounts_reached = Vec::new();
    if let [one] = &additive[..] {
        let (after, reached) = add_one(client, attached, &summaries, one, now);
        accounts_reached = reached;
        if let Some(after) = after {
            added[one.place] = true;
            account_kept = accounts.then_some(one.place);
            crossings.extend(crossing(one, after));
        }
    } else {
        for batch in additive.chunks(BATCH) {
            pgrx::check_for_interrupts!();
            for (addable, after) in add_batch(client, attached, &summaries, &locked, batch, now) {
                added[addable.place] = true;
                crossings.extend(crossing(addable, after));
            }
        }
    }
    let pql_tagged = settle_crossings(client, attached, &summaries, crossings, now);
    tag_accounts(client, attached, accounts_reached, now, Cause::Event);
    // (Entering a stage or taking another tag changes nothing an account keeps.)
    account_kept = account_kept.filter(|place| !pql_tagged.contains(place));
    // The rest, still in key order: events that need history, and contacts without a
    // state row (not inserted yet).
    let keys = summaries.iter().map(|(key, _)| key);
    let slow = keys.zip(added).filter(|(_, added)| !added).map(|(key, _)| key.clone()).collect();
    let touched = if accounts {
        let kept = |place: &usize| Some(*place) == account_kept;
        let places = 0..summaries.len();
        places.filter(|place| !kept(place)).map(|place| summaries[place].0.clone()).collect()
    } else {
        Vec::new()
    };
    (slow, touched)
}

/// A contact whose new events can be added to its stored sums.
struct Addable<'a> {
    /// Its place in the statement's summaries (key order).
    place: usize,
    /// What to add: borrowed as folded; owned when settling limits changed it.
    summary: Cow<'a, EventSummary>,
    /// Its new limits (`None`: unchanged), an int8[] literal.
    limits: Option<String>,
}

/// Which contacts' new events can be added in place (in key order), and, when more
/// than one contact or a limited rule is involved, every contact's state row locked
/// in key order (`None` for a contact without one). The rest need a full recompute:
/// events that need history, and contacts without a state row (not inserted yet).
fn classify<'a>(
    client: &SpiClient<'_>,
    attached: &Attached,
    summaries: &'a [(String, EventSummary)],
    now: i64,
) -> (Vec<Addable<'a>>, Vec<Option<Locked>>) {
    // One statement locks all its contacts first, in key order: with the updates
    // locking in whatever order, two statements could deadlock. The same read tells
    // what the contacts' limited rules selected.
    let locking = summaries.len() > 1 || summaries.iter().any(|(_, s)| s.has_candidates());
    let mut locked = Vec::new();
    if locking {
        for batch in summaries.chunks(BATCH) {
            pgrx::check_for_interrupts!();
            let batch_keys = batch.iter().map(|(key, _)| key);
            locked.extend(lock_reading_limits(client, attached, batch_keys, now));
        }
    }
    let mut additive = Vec::new();
    for (place, (key, summary)) in summaries.iter().enumerate() {
        pgrx::check_for_interrupts!();
        let row = locked.get(place).and_then(Option::as_ref);
        if locking && row.is_none() {
            continue;
        }
        // (Recomputed since this statement began, its new events may be counted
        // already: recomputed again, not added to.)
        if recomputed::during_this_statement(attached.attachment.profile_id, key) {
            continue;
        }
        if summary.is_additive() {
            additive.push(Addable { place, summary: Cow::Borrowed(summary), limits: None });
        } else if summary.has_candidates() {
            let settled = row
                .and_then(|row| row.limits.as_ref())
                .and_then(|stored| summary.settle_limits(&attached.compiled, stored))
                .filter(|(settled, _)| settled.is_additive());
            if let Some((settled, limits)) = settled {
                let limits = Some(int8_array_literal(&LimitState::flatten(&limits)));
                additive.push(Addable { place, summary: Cow::Owned(settled), limits });
            }
        }
    }
    (additive, locked)
}

/// A contact whose new events carried it over a threshold or a stage minimum: its
/// place, the row as it now is, and the rule of the latest of those events.
struct Crossing {
    place: usize,
    row: Crossed,
    rule: Option<usize>,
}

fn crossing(addable: &Addable, after: AfterAdding) -> Option<Crossing> {
    match after {
        AfterAdding::Settled(_) => None,
        AfterAdding::Crossing(_, row) => {
            Some(Crossing { place: addable.place, row, rule: addable.summary.latest_rule() })
        }
    }
}

/// Settle the crossings from the rows as the UPDATE left them: the tags reached, the
/// stage entered, recorded and announced as the full path records them (no history
/// read: adding events changes no disqualifier and no stage's condition, and without
/// fading negative points no later crossing is due). The places of the contacts that
/// became PQLs.
fn settle_crossings(
    client: &SpiClient<'_>,
    attached: &Attached,
    summaries: &[(String, EventSummary)],
    crossings: Vec<Crossing>,
    now: i64,
) -> Vec<usize> {
    if crossings.is_empty() {
        return Vec::new();
    }
    let mut pql_tagged = Vec::new();
    let compiled = &attached.compiled;
    let mut found = Vec::new();
    for Crossing { place, row, rule } in &crossings {
        pgrx::check_for_interrupts!();
        let holding = Held::of(&compiled.settings, &row.tags, row.stage.as_deref());
        let pushed_by = || rule.map(|index| compiled.rules[index].0.clone()).unwrap_or_default();
        let changes = transitions(
            &compiled.settings,
            holding,
            row.stages_met,
            &[],
            &[],
            row.score,
            pushed_by,
        );
        let pql = |t: &Transition| t.describe().1 == Some(compiled.settings.pql_tag.as_str());
        if changes.iter().any(pql) {
            pql_tagged.push(*place);
        }
        found.extend(changes.into_iter().map(|t| (summaries[*place].0.clone(), t)));
    }
    record(client, attached, &found, Cause::Event, now);
    pql_tagged
}

/// Add one contact's new events (the usual single-row INSERT): scalar parameters
/// straight into the UPDATE (no unnest, which materialises its rows in a tuplestore on
/// every call), which, with account scores, updates the contact's entry in its account
/// too (see `with_account_entry`). What is left to do for it (see `settled_by_adding`;
/// `None` for the full path), and the account tags its account reached.
fn add_one(
    client: &SpiClient<'_>,
    attached: &Attached,
    summaries: &[(String, EventSummary)],
    one: &Addable,
    now: i64,
) -> (Option<AfterAdding>, Vec<Reached>) {
    let Addable { place, summary, limits } = one;
    let mut sums = SumColumns::default();
    sums.push(&summaries[*place].0, &summary.engagement, &summary.dimensions, summary.tally);
    let mut params = Params::default();
    let sums = sums.bind_first(attached, &mut params).map(|p| p.to_string());
    let version = params.bind(attached.attachment.version);
    let now_param = params.bind(now as f64);
    let limits = params.bind(limits.clone()).to_string();
    let due = params.bind(summary.next_due.map(from_unix_micros)).to_string();
    let accounts = attached.attachment.account_scores.is_some();
    let returned = returned_by_adding_count(attached);
    let add = attached.statement(client, Statement::AddOneContactsEvents, &params, true, || {
        let key = sums[0].clone();
        let new = NewSums {
            sums,
            limits,
            due,
            position: "1".into(),
            from: String::new(),
            also: "",
            account_entry: accounts,
        };
        let update = add_events_sql(attached, &new, version, now_param);
        with_account_entry(attached, &update, returned, &key, &now_param.to_string())
    });
    let updated = run(client, attached, &add, "adding new events", &params);
    let Some(row) = updated.iter().next() else { return (None, Vec::new()) };
    let reached = if accounts { reached(attached, &row, returned as i32 + 1) } else { Vec::new() };
    (settled_by_adding(attached, &row, now), reached)
}

/// Add a batch of contacts' new events in one UPDATE over `unnest` of array
/// parameters, each row found where its lock (`locked`, by place) found it. The
/// contacts it updated, each with what is left to do for it (see `settled_by_adding`);
/// the others take the full path.
fn add_batch<'b, 'a>(
    client: &SpiClient<'_>,
    attached: &Attached,
    summaries: &[(String, EventSummary)],
    locked: &[Option<Locked>],
    batch: &'b [Addable<'a>],
    now: i64,
) -> Vec<(&'b Addable<'a>, AfterAdding)> {
    let mut sums = SumColumns::default();
    let mut limits = Vec::new();
    let mut dues = Vec::new();
    let mut tids = Vec::new();
    for Addable { place, summary, limits: new_limits } in batch {
        pgrx::check_for_interrupts!();
        let key = &summaries[*place].0;
        sums.push(key, &summary.engagement, &summary.dimensions, summary.tally);
        limits.push(new_limits.clone());
        dues.push(summary.next_due.map(from_unix_micros));
        // (Several contacts: all were locked, only those found are here.)
        tids.extend(locked[*place].as_ref().map(|row| row.tid));
    }
    let mut params = Params::default();
    let sums = sum_unnest(&sums.bind(attached, &mut params));
    let version = params.bind(attached.attachment.version);
    let now_param = params.bind(now as f64);
    let (limits, dues) = (params.bind(limits), params.bind(dues));
    let tids = params.bind(tid_array(&tids));
    let add = attached.statement(client, Statement::AddNewEvents, &params, true, || {
        let new = NewSums {
            sums: SUM_COLUMNS.map(|column| format!("r.{column}")),
            limits: "r.limits".into(),
            due: "r.due".into(),
            position: "r.n".into(),
            from: format!(
                "FROM unnest({sums}, {limits}::text[], {dues}::timestamptz[], {tids}::tid[])
                      WITH ORDINALITY AS r({columns}, limits, due, tid, n)",
                columns = SUM_COLUMNS.join(", ")
            ),
            // Each row where its lock found it (the key too, should it not be there).
            also: "s.ctid = r.tid AND ",
            account_entry: false,
        };
        add_events_sql(attached, &new, version, now_param)
    });
    let updated = run(client, attached, &add, "adding new events", &params);
    // (`n` counts from 1 within the batch.)
    let settled = updated.iter().filter_map(|row| settled_by_adding(attached, &row, now));
    settled
        .filter_map(|after| {
            let position = match &after {
                AfterAdding::Settled(position) | AfterAdding::Crossing(position, _) => *position,
            };
            Some((batch.get(position.wrapping_sub(1))?, after))
        })
        .collect()
}

/// A statement's new events (the trigger's transition table `changed`, `new_row_count`
/// rows, of `relation`), summarised per contact, in key order.
pub(crate) fn new_summaries<K: SummaryKey>(
    client: &SpiClient<'_>,
    attached: &Attached,
    relation: pg_sys::Oid,
    new_row_count: i64,
    now: i64,
) -> Vec<(String, EventSummary)> {
    let (attachment, plan) = (&attached.attachment, &attached.plan);
    let mut params = Params::default();
    let facts = plan.bind(&mut params);
    let new_rows = || {
        format!(
            "{} WHERE e.{} IS NOT NULL",
            attachment.events_select(plan, &ident("changed"), facts, K::CAST),
            attachment.event_contact
        )
    };
    // (No more contacts than rows.)
    let mut summaries = K::map(new_row_count.max(0) as usize);
    as_crm_owner(attachment.crm_owner, |_| {
        if new_row_count <= STREAM_FROM {
            // The usual few rows: a plan prepared once, its result read in one go.
            let new_rows = attached.statement(
                client,
                Statement::NewEvents { relation },
                &params,
                false,
                new_rows,
            );
            let rows = run(client, attached, &new_rows, "reading new events", &params);
            fold_rows::<K>(attached, &rows, &mut summaries, now);
        } else {
            // Many: straight from the executor, no result table (planning once is
            // nothing beside them).
            let fold = &mut |row: &SlotRow| fold_row::<K>(attached, &mut summaries, row, now);
            for_each_row(&new_rows(), &params, fold);
        }
    });
    K::sorted(client, attached, summaries)
}
