//! The per-contact summaries of a pass: events and manual adjustments folded into an
//! `EventSummary` per contact (integer keys placed by `KeyPlaces`), then finished with
//! the contact's own facts into results.

use pgrx::spi::SpiClient;

use crate::pg::base::attached::Attached;
use crate::pg::base::attached::{run, Statement};
use crate::pg::base::errors::internal;
use crate::pg::base::params::{Params, Placeholder};
use crate::pg::base::queries::key_array;
use crate::pg::base::spi_rows::{for_each_row, RawRow, Row, Rows};
use lead_score_core::decay::HalfLife;
use lead_score_core::engine::{Adjustment, ContactScore, Event, EventSummary};
use lead_score_core::json_facts::JsonFacts;
use lead_score_core::key_places::KeyPlaces;
use lead_score_core::key_ranges::KeyRange;
use lead_score_core::record_facts::RecordFacts;
use pgrx::datum::DatumWithOid;

/// What recomputing some contacts found: per contact, its key and fresh result.
pub(crate) type Scored = Vec<(String, ContactScore)>;

/// Per-contact summaries of events, by key as text (a lookup per event row).
pub(crate) type Summaries = rustc_hash::FxHashMap<String, EventSummary>;

/// A pass's summaries over integer keys: `place` holds only each contact's place in
/// `all` (see `KeyPlaces`). With a million contacts a map of whole summaries is
/// hundreds of megabytes, and each event's lookup a cache miss.
pub(crate) struct IntegerSummaries {
    pub(crate) place: KeyPlaces,
    pub(crate) all: Vec<EventSummary>,
}

/// How many contacts' summaries a map makes room for before the first event: growing
/// rehashes every summary so far, but room for millions is memory most statements never
/// use.
pub(crate) const UP_FRONT: usize = 1 << 20;

/// How summaries are kept, by key. Integer keys spare the full pass a text conversion,
/// a string hash and an allocation per contact.
pub(crate) trait SummaryKey {
    type Map;
    /// What the events query casts the contact column to.
    const CAST: &'static str;

    /// An empty map for up to about `contacts` contacts (room for at most `UP_FRONT`
    /// of them made up front).
    fn map(contacts: usize) -> Self::Map;

    /// Add to the summary of the contact in column 1 of an events row (a new summary
    /// for a contact seen first); nothing for a NULL contact.
    fn with_summary(summaries: &mut Self::Map, row: &impl Row, add: impl FnOnce(&mut EventSummary));

    /// Take out the summary of the contact whose key's text is `key`.
    fn take(summaries: &mut Self::Map, key: &str) -> Option<EventSummary>;

    /// How many contacts have a summary.
    fn count(summaries: &Self::Map) -> usize;

    /// The key in column 1 of a row, as the map keeps it.
    fn read(row: &impl Row) -> Option<Self>
    where
        Self: Sized;

    /// All the summaries with their keys' text, in the key type's own order (see
    /// `in_key_order`).
    fn sorted(
        client: &SpiClient<'_>,
        attached: &Attached,
        summaries: Self::Map,
    ) -> Vec<(String, EventSummary)>;
}

impl SummaryKey for String {
    type Map = Summaries;
    const CAST: &'static str = "text";

    fn map(contacts: usize) -> Summaries {
        Summaries::with_capacity_and_hasher(contacts.min(UP_FRONT), Default::default())
    }

    fn with_summary(
        summaries: &mut Summaries,
        row: &impl Row,
        add: impl FnOnce(&mut EventSummary),
    ) {
        let Some(key) = row.text(1) else { return };
        match summaries.get_mut(key) {
            Some(summary) => add(summary),
            None => add(summaries.entry(key.to_owned()).or_default()),
        }
    }

    fn take(summaries: &mut Summaries, key: &str) -> Option<EventSummary> {
        summaries.remove(key)
    }

    fn count(summaries: &Summaries) -> usize {
        summaries.len()
    }

    fn read(row: &impl Row) -> Option<String> {
        row.text(1).map(str::to_owned)
    }

    fn sorted(
        client: &SpiClient<'_>,
        attached: &Attached,
        mut summaries: Summaries,
    ) -> Vec<(String, EventSummary)> {
        let keys = in_key_order(client, attached, summaries.keys().cloned().collect());
        keys.into_iter()
            .filter_map(|key| {
                let summary = summaries.remove(&key)?;
                Some((key, summary))
            })
            .collect()
    }
}

impl SummaryKey for i64 {
    type Map = IntegerSummaries;
    const CAST: &'static str = "int8";

    fn map(contacts: usize) -> IntegerSummaries {
        IntegerSummaries {
            place: KeyPlaces::for_contacts(contacts),
            all: Vec::with_capacity(contacts.min(UP_FRONT)),
        }
    }

    fn with_summary(
        summaries: &mut IntegerSummaries,
        row: &impl Row,
        add: impl FnOnce(&mut EventSummary),
    ) {
        let Some(key) = row.int8(1) else { return };
        let IntegerSummaries { place, all } = summaries;
        let place = place.place_of(key, || {
            all.push(EventSummary::default());
            (all.len() - 1) as u32
        });
        add(&mut all[place as usize]);
    }

    fn take(summaries: &mut IntegerSummaries, key: &str) -> Option<EventSummary> {
        // The text is the integer's own output: it parses back exactly.
        let place = summaries.place.remove(key.parse::<i64>().ok()?)?;
        Some(std::mem::take(&mut summaries.all[place as usize]))
    }

    fn count(summaries: &IntegerSummaries) -> usize {
        summaries.all.len()
    }

    fn read(row: &impl Row) -> Option<i64> {
        row.int8(1)
    }

    fn sorted(
        _client: &SpiClient<'_>,
        _attached: &Attached,
        summaries: IntegerSummaries,
    ) -> Vec<(String, EventSummary)> {
        let IntegerSummaries { place, mut all } = summaries;
        place
            .into_sorted()
            .into_iter()
            .map(|(key, place)| (key.to_string(), std::mem::take(&mut all[place as usize])))
            .collect()
    }
}

/// Fold an events row, (contact, type, time, facts), into its contact's summary.
pub(crate) fn fold_row<K: SummaryKey>(
    attached: &Attached,
    summaries: &mut K::Map,
    row: &impl Row,
    now: i64,
) {
    K::with_summary(summaries, row, |summary| add_event(attached, summary, row, now));
}

/// Fold an events row into `summary`, as of `now`.
fn add_event(attached: &Attached, summary: &mut EventSummary, row: &impl Row, now: i64) {
    let facts = row.json(4);
    let facts = JsonFacts { record: &facts, now };
    let event = Event { event_type: row.text(2), at: row.time(3), facts: &facts };
    summary.add(&attached.compiled, &event, now);
}

/// Fold the event rows of `rows` into one summary per contact.
pub(crate) fn fold_rows<K: SummaryKey>(
    attached: &Attached,
    rows: &Rows<'_>,
    summaries: &mut K::Map,
    now: i64,
) {
    for row in rows.iter() {
        fold_row::<K>(attached, summaries, &row, now);
    }
}

/// An adjustments row after its contact (column 1): id, points, time, half-life in
/// seconds (as `extract(epoch from ...)` measures it, like every half-life here), reason.
const ADJUSTMENT_COLUMNS: &str = "a.id, a.points, a.adjusted_at, \
     pg_catalog.date_part('epoch', a.half_life), a.reason";

/// Fold an adjustments row (contact, `ADJUSTMENT_COLUMNS`) into its contact's summary.
pub(crate) fn fold_adjustment<K: SummaryKey>(
    attached: &Attached,
    summaries: &mut K::Map,
    row: &impl Row,
    now: i64,
) {
    K::with_summary(summaries, row, |summary| add_adjustment(attached, summary, row, now));
}

/// Fold an adjustments row into `summary`, as of `now`.
fn add_adjustment(attached: &Attached, summary: &mut EventSummary, row: &impl Row, now: i64) {
    let corrupted = |what: &str| -> ! {
        let profile = &attached.attachment.profile_name;
        internal(format!("profile \"{profile}\": reading an adjustment"), what)
    };
    let half_life = row.float(5).map(|seconds| {
        HalfLife::from_seconds(seconds).unwrap_or_else(|e| corrupted(&e.to_string()))
    });
    let adjustment = Adjustment {
        id: row.int8(2).unwrap_or_else(|| corrupted("no id")),
        points: row.float(3).unwrap_or_else(|| corrupted("no points")),
        at: row.time(4).unwrap_or_else(|| corrupted("no time")),
        half_life,
        reason: row.text(6).unwrap_or_else(|| corrupted("no reason")),
    };
    summary.adjust(&adjustment, now);
}

/// Fold the adjustments of some contacts (keys as text) into the summaries of each
/// instant (see `read_adjustments_of`).
pub(crate) fn fold_adjustments_of(
    client: &SpiClient<'_>,
    attached: &Attached,
    keys: &[String],
    instants: &mut [(i64, Summaries)],
) {
    read_adjustments_of(client, attached, keys, |row| {
        for (now, summaries) in instants.iter_mut() {
            pgrx::check_for_interrupts!();
            fold_adjustment::<String>(attached, summaries, row, *now);
        }
    });
}

/// Hand each adjustment of some contacts (keys as text) to `each`, as a row (contact,
/// `ADJUSTMENT_COLUMNS`). Read as whoever calls: the table's policy shows a role only
/// the adjustments of contacts it may see, and the extension's owner all of them.
pub(crate) fn read_adjustments_of(
    client: &SpiClient<'_>,
    attached: &Attached,
    keys: &[String],
    mut each: impl FnMut(&RawRow),
) {
    if !attached.attachment.current_sql {
        return;
    }
    let mut params = Params::default();
    let profile = params.bind(attached.attachment.profile_id);
    let given = params.bind(key_array(keys));
    let made_here = made_on_these_contacts(attached, &mut params);
    let read = attached.statement(client, Statement::AdjustmentsOfContacts, &params, false, || {
        format!(
            "SELECT a.contact_key, {ADJUSTMENT_COLUMNS} FROM lead_score.adjustment_store a
              WHERE a.profile_id = {profile} AND a.contact_key = ANY ({given}::text[]){made_here}"
        )
    });
    for row in run(client, attached, &read, "reading adjustments", &params).iter() {
        each(&row);
    }
}

/// The condition (after the profile's) that keeps only the adjustments made on the
/// attachment's own contacts table and key column: a key of another table, or of
/// another column, is another contact, or none (empty under 0.2.0's SQL, which records
/// neither).
fn made_on_these_contacts<'a>(attached: &'a Attached, params: &mut Params<'a>) -> String {
    let attachment = &attached.attachment;
    if !attachment.adjustments_by_table {
        return String::new();
    }
    let contacts = params.bind(attachment.contacts_oid);
    let column = params.bind(attachment.contact_key_name.as_str());
    format!(
        " AND a.contacts OPERATOR(pg_catalog.=) {contacts}::pg_catalog.regclass
          AND a.key_column OPERATOR(pg_catalog.=) {column}::pg_catalog.name"
    )
}

/// A key range's bounds as parameters (`None` for an open side).
pub(crate) fn bind_range<'a, K: Clone + Into<DatumWithOid<'a>>>(
    params: &mut Params<'a>,
    range: &KeyRange<K>,
) -> (Option<Placeholder>, Option<Placeholder>) {
    let after = range.after.clone().map(|key| params.bind(key));
    (after, range.upto.clone().map(|key| params.bind(key)))
}

/// Fold every adjustment of the profile into a full pass's summaries (keys as `K`),
/// or those of the contacts in `range` (see `Attachment::key_in_range`).
pub(crate) fn fold_all_adjustments<K: SummaryKey + Clone + for<'a> Into<DatumWithOid<'a>>>(
    attached: &Attached,
    summaries: &mut K::Map,
    now: i64,
    range: &KeyRange<K>,
) {
    if !attached.attachment.current_sql {
        return;
    }
    let mut params = Params::default();
    let profile = params.bind(attached.attachment.profile_id);
    // Keys as the pass holds them. A key that is not one of the key type (kept from an
    // attachment to other tables) belongs to no contact: NULL, skipped, never an error.
    // Only a key as int8 prints it is one: '007' is no contact's stored key, and
    // `read_adjustments_of` (comparing text) never gives it to contact 7 either.
    let key = match K::CAST {
        "int8" => "CASE WHEN a.contact_key ~ '^(0|-?[1-9][0-9]{0,18})$'
                         AND a.contact_key::numeric BETWEEN -9223372036854775808 AND 9223372036854775807
                        THEN a.contact_key::int8 END",
        _ => "a.contact_key",
    };
    let made_here = made_on_these_contacts(attached, &mut params);
    let (after, upto) = bind_range(&mut params, range);
    let in_range = attached.attachment.key_in_range(&format!("({key})"), after, upto);
    let read = format!(
        "SELECT {key}, {ADJUSTMENT_COLUMNS} FROM lead_score.adjustment_store a
          WHERE a.profile_id = {profile}{made_here}{in_range}"
    );
    for_each_row(&read, &params, &mut |row| fold_adjustment::<K>(attached, summaries, row, now));
}

/// The number of contact and account columns after the key in a contacts row.
pub(crate) fn record_column_count(attached: &Attached) -> i32 {
    let layout = &attached.plan.layout;
    (layout.contact.len() + layout.account.len()) as i32
}

/// Score the contact of a contacts row, (key, columns of `FactsPlan::layout`), from its
/// events' summary (taken out of `summaries`).
pub(crate) fn finish_row<K: SummaryKey>(
    attached: &Attached,
    summaries: &mut K::Map,
    row: &impl Row,
    now: i64,
) -> Option<(String, ContactScore)> {
    let layout = &attached.plan.layout;
    let key = row.text(1)?.to_owned();
    let columns = record_column_count(attached);
    let values = (2..2 + columns).map(|column| row.column_value(column)).collect();
    let facts = RecordFacts { layout, values, now };
    let summary = K::take(summaries, &key).unwrap_or_default();
    let between = &mut || {
        pgrx::check_for_interrupts!();
    };
    Some((key, summary.finish_between(&attached.compiled, &facts, now, between)))
}

/// Score the contacts of `rows` (see `finish_row`).
pub(crate) fn finish_rows(
    attached: &Attached,
    rows: &Rows<'_>,
    summaries: &mut Summaries,
    now: i64,
) -> Scored {
    rows.iter().filter_map(|row| finish_row::<String>(attached, summaries, &row, now)).collect()
}

/// Put keys (as text) in the key type's own order, without duplicates: the one order
/// in which every writer locks state rows, so writers never deadlock.
pub(crate) fn in_key_order(
    client: &SpiClient<'_>,
    attached: &Attached,
    keys: Vec<String>,
) -> Vec<String> {
    if keys.len() <= 1 {
        return keys;
    }
    if attached.attachment.integer_keys() {
        // Integers sort the same in Rust; the keys are their own output, so they parse.
        let mut numbers: Vec<i64> = keys.iter().filter_map(|k| k.parse().ok()).collect();
        if numbers.len() == keys.len() {
            numbers.sort_unstable();
            numbers.dedup();
            return numbers.iter().map(i64::to_string).collect();
        }
    }
    let key_type = &attached.attachment.key_type;
    let mut params = Params::default();
    let given = params.bind(Some(keys));
    let order = attached.statement(client, Statement::KeyOrder, &params, false, || {
        // The output is named `key`, so `ORDER BY k` sorts the keys, not their text.
        format!(
            "SELECT k::text AS key FROM unnest({given}::text[]::{key_type}[]) AS k GROUP BY k ORDER BY k"
        )
    });
    let what = "ordering keys";
    run(client, attached, &order, what, &params).texts()
}

/// A contact key as the key type prints it (see `lead_score.stored_key`).
pub(crate) fn stored_key(client: &SpiClient<'_>, attached: &Attached, contact: &str) -> String {
    let key_type = &attached.attachment.key_type;
    let mut params = Params::default();
    let key = params.bind(contact);
    let spell = attached.statement(client, Statement::StoredKey, &params, false, || {
        format!("SELECT {key}::text::{key_type}::text")
    });
    let what = "spelling a contact key";
    let spelled = run(client, attached, &spell, what, &params);
    let key = spelled.first().and_then(|row| row.text(1).map(str::to_owned));
    key.unwrap_or_else(|| contact.to_owned())
}
