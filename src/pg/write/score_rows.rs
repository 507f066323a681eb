//! The profiles' score rows: reading them (beside contacts, or locked in key order),
//! comparing them with fresh results, and writing results back in one statement.

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};

use pgrx::datum::DatumWithOid;
use pgrx::pg_sys;
use pgrx::prelude::TimestampWithTimeZone;
use pgrx::spi::SpiClient;
use serde_json::Value as Json;

use crate::pg::base::attached::{run, Attached, Statement};
use crate::pg::base::clock::from_unix_micros;
use crate::pg::base::errors::internal;
use crate::pg::base::params::{Params, Placeholder};
use crate::pg::base::queries::key_array;
use crate::pg::base::spi_rows::{RawRow, Row};
use crate::pg::base::state_table::{self, stored_columns, STORED_COLUMN_COUNT, WRITTEN_COUNT};
use crate::pg::write::summaries::Scored;
use lead_score_core::decay::DecayedSum;
use lead_score_core::engine::{ContactScore, EventTally, LimitState};
use lead_score_core::qualification::{may_change, Held};

/// How many contacts one query reads and one statement writes.
pub(crate) const BATCH: usize = 5_000;

/// How a batch of contacts changed when rescored.
#[derive(Default, Clone, Copy)]
pub(crate) struct Outcome {
    /// Contacts that exist and were scored.
    pub scored: usize,
    /// Of those, contacts whose stored result differs from before (new ones included).
    pub changed: usize,
}

/// A contact's state row as a full pass found it: what its result is compared with, so
/// that only contacts whose result changed are written.
pub(crate) struct StoredRow {
    pub fit: f64,
    pub engagement: DecayedSum,
    pub(crate) dimensions: BTreeMap<String, DecayedSum>,
    pub disqualified_by: Vec<String>,
    pub(crate) next_due: Option<i64>,
    pub(crate) tally: Vec<i64>,
    pub(crate) limits: Vec<i64>,
    /// Its lifecycle stage (never rewritten by a score write; read to settle it).
    pub stage: Option<String>,
    /// Which stages' conditions held (`ContactScore::stages_met`), if known.
    pub(crate) stages_met: Option<i64>,
}

impl StoredRow {
    /// The `state_table::stored_columns` of a row whose first one is `first`; `None` without a row.
    pub(crate) fn read(row: &impl Row, first: i32) -> Option<StoredRow> {
        Some(StoredRow {
            fit: row.float(first)?,
            engagement: row.decayed(first + 1)?,
            // (NULL when empty, the usual case: nothing to parse.)
            dimensions: match row.json(first + 2) {
                Json::Null => BTreeMap::new(),
                stored => serde_json::from_value(stored).unwrap_or_default(),
            },
            disqualified_by: row.text_array(first + 3).unwrap_or_default(),
            next_due: row.time(first + 4),
            tally: row.int8_array(first + 5).unwrap_or_default(),
            limits: row.int8_array(first + 6).unwrap_or_default(),
            stage: row.text(first + 7).map(str::to_owned),
            stages_met: row.int8(first + 8),
        })
    }

    /// Whether `result` scores the contact as the row does: fit, engagement, dimensions
    /// and disqualifiers, typed (`11` and `11.0` are equal).
    pub(crate) fn same_score(&self, result: &ContactScore) -> bool {
        self.fit == result.fit
            && self.engagement == result.engagement
            && self.dimensions == result.dimensions
            && self.disqualified_by == result.disqualified_by
    }

    /// What of this row differs from `result`, a recomputation as of `now` whose due
    /// time after qualification is `due`: the parts by name, none when the row holds the
    /// result. Sums are compared by their worth at `now` (within 1e-9 relative, 1e-9
    /// absolute near zero): the same points added in another order differ in their last
    /// bits. Due times may differ by a second: the instant fading points carry a contact
    /// over a threshold is found to the second from wherever the search starts.
    pub fn differences(
        &self,
        result: &ContactScore,
        due: Option<i64>,
        now: i64,
    ) -> Vec<&'static str> {
        let close = |a: f64, b: f64| (a - b).abs() <= (1e-9 * a.abs().max(b.abs())).max(1e-9);
        let worth = |sum: Option<&DecayedSum>| sum.map_or(0.0, |s| s.value_at(now));
        // A year on, by which any sum's terms show their half-lives and anchors too.
        let later = now.saturating_add(365 * 86_400_000_000);
        let mut found = Vec::new();
        if !close(self.fit, result.fit) {
            found.push("fit");
        }
        if !close(self.fit + self.engagement.value_at(now), result.score_at(now))
            || !close(self.engagement.value_at(later), result.engagement.value_at(later))
        {
            found.push("score");
        }
        if self.disqualified_by != result.disqualified_by {
            found.push("disqualified_by");
        }
        let worth_later = |sum: Option<&DecayedSum>| sum.map_or(0.0, |s| s.value_at(later));
        let mut labels = self.dimensions.keys().chain(result.dimensions.keys());
        if labels.any(|l| {
            !close(worth(self.dimensions.get(l)), worth(result.dimensions.get(l)))
                || !close(
                    worth_later(self.dimensions.get(l)),
                    worth_later(result.dimensions.get(l)),
                )
        }) {
            found.push("dimensions");
        }
        // Late or missing is a difference: something time changes would be applied late.
        // Early is not: tick() then finds nothing changed. (A crossing by fading points
        // is sampled from where the search starts, so two searches may see a brief one
        // differently.)
        let due_matches = match (self.next_due, due) {
            (_, None) => true,
            (Some(stored), Some(recomputed)) => stored <= recomputed.saturating_add(1_000_000),
            (None, Some(_)) => false,
        };
        if !due_matches {
            found.push("due");
        }
        if !self.tally.iter().copied().eq(result.tally.to_array().map(|c| c as i64)) {
            found.push("tally");
        }
        if self.limits != LimitState::flatten(&result.limits) {
            found.push("limits");
        }
        // (NULL: written before the column existed; the next full computation fills it.)
        if self.stages_met.is_some_and(|met| met != result.stages_met as i64) {
            found.push("stage conditions");
        }
        found
    }

    /// Whether writing `result` would store what the row holds already (`write_batch`
    /// compares the same columns).
    pub fn holds(&self, result: &ContactScore) -> bool {
        self.same_score(result)
            && self.stages_met == Some(result.stages_met as i64)
            && self.next_due == result.next_due
            && self.tally.iter().copied().eq(result.tally.to_array().map(|c| c as i64))
            && self.limits == LimitState::flatten(&result.limits)
    }
}

/// Lock the contacts' state rows in key order (so statements touching overlapping
/// contacts never deadlock) and read what they hold, and their qualification.
pub(crate) fn lock_and_read(
    client: &SpiClient<'_>,
    attached: &Attached,
    keys: &[String],
) -> HashMap<String, (StoredRow, Vec<String>)> {
    let (state, key_type) = (&attached.attachment.state_table, &attached.attachment.key_type);
    let mut params = Params::default();
    let keys = params.bind(key_array(keys));
    let lock = attached.statement(client, Statement::LockAndRead, &params, true, || {
        format!(
            "SELECT s.contact_key::text{stored}, s.tags
               FROM {state} s WHERE s.contact_key = ANY ({keys}::text[]::{key_type}[])
              ORDER BY s.contact_key FOR UPDATE",
            stored = stored_columns(attached.attachment.stages_stored)
        )
    });
    run(client, attached, &lock, "locking scores", &params)
        .iter()
        .filter_map(|row| {
            let key = row.text(1)?.to_owned();
            let stored = StoredRow::read(&row, 2)?;
            let tags = row.text_array(2 + STORED_COLUMN_COUNT).unwrap_or_default();
            Some((key, (stored, tags)))
        })
        .collect()
}

/// A contact's score row as the caller sees it (row-level security applies).
pub(crate) struct Standing {
    /// The key as the key type prints it (`'007'` is contact 7).
    pub(crate) key: String,
    pub(crate) fit: f64,
    pub(crate) engagement: DecayedSum,
    pub(crate) tags: Vec<String>,
    pub(crate) disqualified: bool,
    pub(crate) limits: Vec<LimitState>,
    /// Its lifecycle stage, when it entered it, and its engagement then.
    pub(crate) stage: Option<(String, i64, DecayedSum)>,
}

/// The score row of the contact whose key reads as `contact` in the key type, read as
/// the caller: `None` for a contact that does not exist or that the caller may not see.
/// (22P02 for text that is no key of the key type.)
pub(crate) fn standing(
    client: &SpiClient<'_>,
    attached: &Attached,
    contact: &str,
) -> Option<Standing> {
    let attachment = &attached.attachment;
    let mut params = Params::default();
    let key = params.bind(contact);
    let read = attached.statement(client, Statement::Standing, &params, false, || {
        format!(
            "SELECT contact_key::text, fit, engagement, tags, cardinality(disqualified_by) > 0, limits,
                    {}
               FROM {} WHERE contact_key = {key}::text::{}",
            if attachment.stages_stored {
                "stage, stage_entered_at, stage_base"
            } else {
                "NULL::text, NULL::timestamptz, NULL::lead_score.decayed"
            },
            attachment.state_table, attachment.key_type
        )
    });
    let rows = run(client, attached, &read, "reading a contact's score row", &params);
    let row = rows.first()?;
    let corrupted = || -> ! {
        internal(
            format!("profile \"{}\": a score row", attachment.profile_name),
            "a column is NULL",
        )
    };
    Some(Standing {
        key: row.text(1).unwrap_or_else(|| corrupted()).to_owned(),
        fit: row.float(2).unwrap_or_else(|| corrupted()),
        engagement: row.decayed(3).unwrap_or_else(|| corrupted()),
        tags: row.text_array(4).unwrap_or_default(),
        disqualified: row.boolean(5).unwrap_or(false),
        limits: row.int8_array(6).and_then(|flat| LimitState::unflatten(&flat)).unwrap_or_default(),
        stage: row.text(7).and_then(|stage| {
            Some((stage.to_owned(), row.time(8)?, row.decayed(9).unwrap_or_default()))
        }),
    })
}

/// A state row locked by the fast path.
pub(crate) struct Locked {
    /// Where the row is: locked, it stays there until this statement updates it, which
    /// then needs no second index lookup.
    pub(crate) tid: pg_sys::ItemPointerData,
    /// What its `count`-limited rules selected (see `LimitState`); `None` when the row
    /// is due (`next_due` at or before now: an event has come due or left a window
    /// since it was written), as its selection may be stale.
    pub(crate) limits: Option<Vec<LimitState>>,
}

/// Lock the contacts' state rows in key order, one entry per key (`keys` are in key
/// order; `None` for a contact without a state row).
pub(crate) fn lock_reading_limits<'a>(
    client: &SpiClient<'_>,
    attached: &Attached,
    keys: impl Iterator<Item = &'a String> + Clone,
    now: i64,
) -> Vec<Option<Locked>> {
    let (state, key_type) = (&attached.attachment.state_table, &attached.attachment.key_type);
    let mut params = Params::default();
    let key_array = params.bind(keys.clone().cloned().map(Some).collect::<Vec<_>>());
    let now = params.bind(now as f64);
    let lock = attached.statement(client, Statement::Lock, &params, true, || {
        format!(
            "SELECT s.contact_key::text, s.ctid,
                    CASE WHEN s.next_due <= to_timestamp({now} / 1e6) THEN NULL
                         ELSE coalesce(s.limits, '{{}}') END
               FROM {state} s
              WHERE s.contact_key = ANY ({key_array}::text[]::{key_type}[])
              ORDER BY s.contact_key FOR UPDATE"
        )
    });
    let rows = run(client, attached, &lock, "locking scores", &params);
    // The rows come in key order, as `keys` do: a merge, no lookup.
    let mut locked = Vec::with_capacity(keys.clone().count());
    let mut keys = keys;
    for row in rows.iter() {
        let (Some(found), Some(tid)) = (row.text(1), row.tid(2)) else { continue };
        for key in keys.by_ref() {
            if key == found {
                let limits = row.int8_array(3).and_then(|stored| LimitState::unflatten(&stored));
                locked.push(Some(Locked { tid, limits }));
                break;
            }
            locked.push(None);
        }
    }
    locked.extend(keys.map(|_| None));
    locked
}

/// Drop the state rows of the given contacts that were not scored: they no longer exist.
pub(crate) fn remove_missing(
    client: &SpiClient<'_>,
    attached: &Attached,
    keys: &[String],
    scored: &Scored,
) {
    if scored.len() == keys.len() {
        return;
    }
    let (state, key_type) = (&attached.attachment.state_table, &attached.attachment.key_type);
    let mut params = Params::default();
    let given = params.bind(key_array(keys));
    let existing = params.bind(scored.iter().map(|(k, _)| Some(k.clone())).collect::<Vec<_>>());
    let profile_id = params.bind(attached.attachment.profile_id);
    let delete = attached.statement(client, Statement::RemoveMissing, &params, true, || {
        // A deleted contact's sticky tags go with it (its transitions stay).
        format!(
            "WITH gone AS (
                 DELETE FROM {state} s WHERE s.contact_key = ANY ({given}::text[]::{key_type}[])
                    AND NOT s.contact_key = ANY ({existing}::text[]::{key_type}[])
                 RETURNING s.contact_key::text AS key)
             DELETE FROM lead_score.tag_store t USING gone
              WHERE t.profile_id = {profile_id} AND t.contact_key = gone.key"
        )
    });
    run(client, attached, &delete, "removing deleted contacts", &params);
}

/// A Postgres array literal of integers: `{1,2,3}`.
pub(crate) fn int8_array_literal(values: &[i64]) -> String {
    let items: Vec<String> = values.iter().map(i64::to_string).collect();
    format!("{{{}}}", items.join(","))
}

/// A Postgres array literal of text values: `{"a","b"}`.
pub(crate) fn text_array_literal(values: &[String]) -> String {
    let quoted: Vec<String> = values
        .iter()
        .map(|v| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{{{}}}", quoted.join(","))
}

/// What adding new events left to do for a contact the fast path updated.
pub(crate) enum AfterAdding {
    /// Nothing: its qualification cannot have changed (its position, from 1, in its
    /// statement's arrays).
    Settled(usize),
    /// Its score reached a threshold it lacks or a stage minimum above its stage: the
    /// transitions are settled from the row as it now is (its position, and the row),
    /// since adding events changes neither its disqualifiers nor its stages' conditions.
    Crossing(usize, Crossed),
}

/// A contact's row after new events were added: what settling its crossing needs.
pub(crate) struct Crossed {
    pub(crate) score: f64,
    pub(crate) tags: Vec<String>,
    pub(crate) stage: Option<String>,
    pub(crate) stages_met: u64,
}

/// What is left to do for a contact the fast path updated (see `AfterAdding`); `None`
/// when fading negative points may carry it over a threshold later: the full path then
/// settles it and stores when.
pub(crate) fn settled_by_adding(
    attached: &Attached,
    row: &RawRow,
    now: i64,
) -> Option<AfterAdding> {
    let position = row.int8(1)? as usize;
    let settings = &attached.compiled.settings;
    if settings.tags().next().is_none() && settings.stages.is_empty() {
        return Some(AfterAdding::Settled(position));
    }
    let fit = row.float(2)?;
    let engagement = row.decayed(3)?;
    let tags = row.text_array(4).unwrap_or_default();
    let disqualified = row.boolean(5).unwrap_or(false);
    let stage = row.text(6).map(str::to_owned);
    // (Not known: every stage above counts as if its condition held.)
    let stages_met = row.int8(7).map_or(u64::MAX, |met| met as u64);
    let holding = Held::of(settings, &tags, stage.as_deref());
    if !may_change(settings, holding, stages_met, disqualified, fit, &engagement, now) {
        return Some(AfterAdding::Settled(position));
    }
    if engagement.all_terms().any(|t| t.value < 0.0) || row.int8(7).is_none() {
        return None;
    }
    let score = fit + engagement.value_at(now);
    Some(AfterAdding::Crossing(position, Crossed { score, tags, stage, stages_met }))
}

/// Where the fast path's UPDATE finds a contact's new sums: one contact's parameters,
/// or the columns of `unnest` over array parameters.
pub(crate) struct NewSums {
    /// The nine `SUM_COLUMNS` values.
    pub(crate) sums: [String; 9],
    /// The new selections of `count`-limited rules (NULL: unchanged).
    pub(crate) limits: String,
    /// The new events' due time (NULL: none), a timestamptz.
    pub(crate) due: String,
    /// The contact's position in the statement, returned for each row updated.
    pub(crate) position: String,
    /// `FROM` clause, if the sums are columns.
    pub(crate) from: String,
    /// A condition ANDed before the key match.
    pub(crate) also: &'static str,
    /// Whether the new engagement and the account key are returned too, after
    /// `returned_by_adding`'s columns (see `accounts::with_account_entry`).
    pub(crate) account_entry: bool,
}

/// How many columns `returned_by_adding` gives (counted without building them: the
/// single-row path asks on every insert).
pub(crate) fn returned_by_adding_count(attached: &Attached) -> usize {
    let settings = &attached.compiled.settings;
    if settings.tags().next().is_some() || !settings.stages.is_empty() {
        7
    } else {
        1
    }
}

/// What the fast path's UPDATE returns for each row it updated (`settled_by_adding`
/// reads it): the contact's `position`, and, when a threshold or stage may be crossed,
/// what tells whether it was.
pub(crate) fn returned_by_adding(attached: &Attached, position: &str) -> Vec<String> {
    let mut returned = vec![format!("{position}::int8")];
    if returned_by_adding_count(attached) > 1 {
        let (stage, met) = if attached.attachment.stages_stored {
            ("s.stage", "s.stages_met")
        } else {
            ("NULL::text", "NULL::bigint")
        };
        returned.extend(
            ["s.fit", "s.engagement", "s.tags", "cardinality(s.disqualified_by) > 0", stage, met]
                .map(str::to_owned),
        );
    }
    returned
}

/// The fast path's UPDATE: add new sums to the stored ones, marking rows with the
/// `version` and `now` parameters. Every stored row agrees with the active version:
/// publish rescores them all in its own transaction, and a writer's cache is never
/// older than the last publish committed before its statement (see `base::attached`).
pub(crate) fn add_events_sql(
    attached: &Attached,
    new: &NewSums,
    version: Placeholder,
    now: Placeholder,
) -> String {
    let attachment = &attached.attachment;
    let (state, key_type) = (&attachment.state_table, &attachment.key_type);
    let [key, engagement, dimensions, t1, t2, t3, t4, t5, t6] = &new.sums;
    let NewSums { limits, due, position, from, also, account_entry, .. } = new;
    let mut returning = returned_by_adding(attached, position);
    if *account_entry {
        returning.extend(["s.engagement".to_owned(), "s.account_key".to_owned()]);
    }
    let returning = returning.join(", ");
    let values: [String; ADDED.len()] = [
        version.to_string(),
        format!("s.engagement OPERATOR(lead_score.+) {engagement}::lead_score.decayed"),
        format!(
            "CASE WHEN {dimensions} IS NULL THEN s.dimensions
                                  ELSE lead_score.dimensions_add(s.dimensions, {dimensions}::jsonb) END"
        ),
        format!(
            "ARRAY[s.tally[1] + {t1}, s.tally[2] + {t2}, s.tally[3] + {t3},
                              s.tally[4] + {t4}, s.tally[5] + {t5}, s.tally[6] + {t6}]"
        ),
        format!("coalesce({limits}::bigint[], s.limits)"),
        format!("to_timestamp({now} / 1e6)"),
        // (`least` passes over a NULL: no due time of the new events', or none stored.)
        format!("least(s.next_due, {due}::timestamptz)"),
    ];
    let mut set: Vec<String> =
        ADDED.iter().zip(values).map(|(column, value)| format!("{column} = {value}")).collect();
    // The ceiling only rises here (it stays a bound: `lead_score.top`), and on its grid
    // it seldom does: the update stays HOT.
    if attachment.ceiling_stored {
        set.push(format!(
            "ceiling = greatest(s.ceiling, lead_score.score_ceiling(s.fit,
                            s.engagement OPERATOR(lead_score.+) {engagement}::lead_score.decayed,
                            least(to_timestamp({now} / 1e6), transaction_timestamp())))"
        ));
    }
    format!(
        "UPDATE {state} s
            SET {set}
           {from}
          WHERE {also}s.contact_key = {key}::{key_type}
      RETURNING {returning}",
        set = set.join(",\n                ")
    )
}

/// The columns the fast path's UPDATE sets (`add_events_sql`), in its order: adding
/// events changes neither fit nor disqualifiers, and the due time only to an earlier one.
const ADDED: [&str; 7] =
    ["version", "engagement", "dimensions", "tally", "limits", "scored_at", "next_due"];
const _: () = assert!(state_table::all_written(&ADDED), "ADDED names a column no score write sets");

/// The first nine parameters of both score writes, one array each, read by `unnest`
/// as `SUM_COLUMNS`: the key, the engagement sum (in its stored layout: no text to
/// parse), the dimension sums (NULL for none) and the tally's six counts.
#[derive(Default)]
pub(crate) struct SumColumns<'a> {
    pub(crate) keys: Vec<Option<String>>,
    pub(crate) engagement: Vec<&'a DecayedSum>,
    pub(crate) dimensions: Vec<Option<String>>,
    pub(crate) tally: [Vec<Option<i64>>; 6],
}

/// The columns `unnest` makes of the nine sum arrays, in order.
pub(crate) const SUM_COLUMNS: [&str; 9] =
    ["key", "engagement", "dimensions", "t1", "t2", "t3", "t4", "t5", "t6"];

/// The nine sum parameters (arrays) as `unnest`'s arguments.
pub(crate) fn sum_unnest(sums: &[Placeholder; 9]) -> String {
    const TYPES: [&str; 9] =
        ["text", "lead_score.decayed", "text", "int8", "int8", "int8", "int8", "int8", "int8"];
    let each: Vec<String> = sums.iter().zip(TYPES).map(|(p, t)| format!("{p}::{t}[]")).collect();
    each.join(", ")
}

impl<'a> SumColumns<'a> {
    pub(crate) fn push(
        &mut self,
        key: &str,
        engagement: &'a DecayedSum,
        dimensions: &BTreeMap<String, DecayedSum>,
        tally: EventTally,
    ) {
        self.keys.push(Some(key.to_owned()));
        self.engagement.push(engagement);
        self.dimensions.push(if dimensions.is_empty() {
            None
        } else {
            serde_json::to_string(dimensions).ok()
        });
        for (column, count) in self.tally.iter_mut().zip(tally.to_array()) {
            column.push(Some(count as i64));
        }
    }

    /// Bind the first contact's nine values as scalar parameters.
    pub(crate) fn bind_first(
        self,
        attached: &Attached,
        params: &mut Params<'_>,
    ) -> [Placeholder; 9] {
        let first = |column: Vec<Option<String>>| column.into_iter().next().flatten();
        let engagement = match self.engagement.first() {
            Some(sum) => attached.decayed_types.value(sum),
            None => pgrx::datum::DatumWithOid::null_oid(attached.decayed_types.element),
        };
        let [t1, t2, t3, t4, t5, t6] = self.tally.map(|column| column.into_iter().next().flatten());
        let values = [first(self.keys).into(), engagement, first(self.dimensions).into()];
        bind_nine(params, values, [t1, t2, t3, t4, t5, t6].map(Into::into))
    }

    /// Bind the nine arrays as parameters.
    pub(crate) fn bind(self, attached: &Attached, params: &mut Params<'_>) -> [Placeholder; 9] {
        let engagement = attached.decayed_types.array(self.engagement.into_iter());
        let values = [self.keys.into(), engagement, self.dimensions.into()];
        bind_nine(params, values, self.tally.map(Into::into))
    }
}

/// Bind the key, engagement and dimensions, then the tally's six counts, in
/// `SUM_COLUMNS` order.
fn bind_nine<'a>(
    params: &mut Params<'a>,
    first: [DatumWithOid<'a>; 3],
    tally: [DatumWithOid<'a>; 6],
) -> [Placeholder; 9] {
    let mut bound = first.into_iter().chain(tally).map(|value| params.bind(value));
    std::array::from_fn(|_| bound.next().expect("nine values"))
}

/// Upsert results, in the order given (unnest keeps the arrays' order, so row locks
/// follow key order). A row whose result is unchanged is locked but not rewritten: a
/// publish that changes one rule writes only the contacts it rescores differently (no
/// new tuple, index entry or WAL for the rest), so a row's `version` and `scored_at`
/// say when its result last changed.
pub(crate) fn write_batch<T: Borrow<(String, ContactScore)>>(
    client: &SpiClient<'_>,
    attached: &Attached,
    scored: &[T],
    now: i64,
) {
    if scored.is_empty() {
        return;
    }
    let (state, key_type) = (&attached.attachment.state_table, &attached.attachment.key_type);
    let scored = || scored.iter().map(Borrow::borrow);
    let mut sums = SumColumns::default();
    for (key, result) in scored() {
        sums.push(key, &result.engagement, &result.dimensions, result.tally);
    }
    let fit: Vec<Option<f64>> = scored().map(|(_, r)| Some(r.fit)).collect();
    let disqualified: Vec<Option<String>> =
        scored().map(|(_, r)| Some(text_array_literal(&r.disqualified_by))).collect();
    // (Exact to the microsecond; a due time that never comes is `infinity`.)
    let next_due: Vec<Option<TimestampWithTimeZone>> =
        scored().map(|(_, r)| r.next_due.map(from_unix_micros)).collect();
    let limits: Vec<Option<String>> = scored()
        .map(|(_, r)| {
            (!r.limits.is_empty()).then(|| int8_array_literal(&LimitState::flatten(&r.limits)))
        })
        .collect();
    let mut params = Params::default();
    let sums = sum_unnest(&sums.bind(attached, &mut params));
    let fit = params.bind(fit);
    let disqualified = params.bind(disqualified);
    let next_due = params.bind(next_due);
    let version = params.bind(attached.attachment.version);
    let now = params.bind(now as f64);
    let limits = params.bind(limits);
    let stages_met: Vec<Option<i64>> = scored().map(|(_, r)| Some(r.stages_met as i64)).collect();
    let stages_met = params.bind(stages_met);
    let upsert = attached.statement(client, Statement::WriteScores, &params, true, || {
        // One value per column a score write sets, in the order of `state_table::written`.
        let values: [&str; WRITTEN_COUNT] = [
            &format!("r.key::{key_type}"),
            &version.to_string(),
            "r.fit",
            "r.engagement::lead_score.decayed",
            "coalesce(r.dimensions::jsonb, '{}')",
            "r.disqualified_by::text[]",
            "r.next_due",
            "ARRAY[r.t1, r.t2, r.t3, r.t4, r.t5, r.t6]",
            "r.limits::bigint[]",
            &format!("to_timestamp({now} / 1e6)"),
            "r.stages_met",
        ];
        let stages = attached.attachment.stages_stored;
        let written: Vec<&str> = state_table::written(stages).collect();
        let values = &values[..written.len()];
        let set: Vec<String> =
            written[1..].iter().map(|column| format!("{column} = excluded.{column}")).collect();
        // (The ceiling: see `lead_score.top`; a state table made before 0.3.0 has none
        // until the update.)
        let (ceiling_column, ceiling_value, ceiling_set, ceiling_raised) =
            if attached.attachment.ceiling_stored {
                (
                    ", ceiling",
                    format!(
                        ", lead_score.score_ceiling(r.fit, r.engagement::lead_score.decayed,
                                                    least(to_timestamp({now} / 1e6), transaction_timestamp()))"
                    ),
                    ", ceiling = excluded.ceiling",
                    " OR s.ceiling < excluded.ceiling",
                )
            } else {
                ("", String::new(), "", "")
            };
        format!(
            "INSERT INTO {state} AS s ({written}{ceiling_column})
             SELECT {values}{ceiling_value}
               FROM unnest({sums}, {fit}::float8[], {disqualified}::text[], {next_due}::timestamptz[],
                           {limits}::text[], {stages_met}::int8[])
                    AS r({columns}, fit, disqualified_by, next_due, limits, stages_met)
             ON CONFLICT (contact_key) DO UPDATE
                SET {set}{ceiling_set}
              WHERE ({compared}) IS DISTINCT FROM ({excluded}){ceiling_raised}",
            written = written.join(", "),
            values = values.join(", "),
            set = set.join(", "),
            compared = state_table::compared("s", stages),
            excluded = state_table::compared("excluded", stages),
            columns = SUM_COLUMNS.join(", ")
        )
    });
    run(client, attached, &upsert, "writing scores", &params);
}
