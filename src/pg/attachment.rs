//! Attached profiles: recomputing contacts' scores from the CRM's own tables.
//!
//! Every write path (triggers, tick, rescore, publish) comes down to
//! [`rescore_contacts`]: lock the contacts' state rows in key order, read the contacts
//! (with their accounts) and all their events in two set-based queries, score each with
//! the engine, and upsert the results in one statement. Recomputing from history
//! instead of adding and subtracting keeps scores exact: nothing can drift.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use pgrx::JsonB;
use pgrx::PgSqlErrorCode::ERRCODE_UNDEFINED_OBJECT;
use serde_json::{json, Value as Json};

use crate::pg::catalog::{load_profile, Edition};
use crate::pg::clock::to_unix_micros;
use crate::pg::errors::raise;
use crate::scoring::condition::Source;
use crate::scoring::decay::DecayedSum;
use crate::scoring::engine::{
    add_events, score_contact, Additive, CompiledProfile, ContactScore, Event, EventTally,
};
use crate::scoring::json_facts::JsonFacts;
use crate::scoring::rule::Rule;

/// How many contacts one query reads and one statement writes.
const BATCH: usize = 5_000;

/// A profile's attachment, with identifiers quoted for SQL.
pub(crate) struct Attachment {
    pub profile_id: i64,
    pub profile_name: String,
    pub version: i32,
    /// `regclass::text`: schema-qualified and quoted as needed.
    pub contacts: String,
    pub contact_key: String,
    pub key_type: String,
    pub events: String,
    pub event_contact: String,
    pub event_type: String,
    pub event_time: String,
    pub event_props: Option<String>,
    pub accounts: Option<(String, String, String)>,
    pub state_table: String,
}

/// A name as a quoted SQL identifier.
pub(crate) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Load the attachment of a profile, or `None` when it is not attached.
pub(crate) fn load_attachment(client: &SpiClient<'_>, profile_id: i64) -> Option<Attachment> {
    let table = client
        .select(
            "SELECT p.name, p.active_version, a.contacts::text, a.contact_key::text, a.key_type::text,
                    a.events::text, a.event_contact::text, a.event_type::text, a.event_time::text,
                    a.event_props::text, a.accounts::text, a.contact_account::text, a.account_key::text,
                    a.state_table::text
               FROM lead_score.attachment_store a
               JOIN lead_score.profile_store p ON p.id = a.profile_id
              WHERE a.profile_id = $1",
            Some(1),
            &[profile_id.into()],
        )
        .ok()?;
    if table.is_empty() {
        return None;
    }
    let row = table.first();
    let text = |i: usize| row.get::<String>(i).ok().flatten();
    let accounts = match (text(11), text(12), text(13)) {
        (Some(table), Some(contact_account), Some(account_key)) => {
            Some((table, ident(&contact_account), ident(&account_key)))
        }
        _ => None,
    };
    Some(Attachment {
        profile_id,
        profile_name: text(1)?,
        version: row.get::<i32>(2).ok().flatten()?,
        contacts: text(3)?,
        contact_key: ident(&text(4)?),
        key_type: text(5)?,
        events: text(6)?,
        event_contact: ident(&text(7)?),
        event_type: ident(&text(8)?),
        event_time: ident(&text(9)?),
        event_props: text(10).map(|p| ident(&p)),
        accounts,
        state_table: format!("lead_score.{}", ident(&text(14)?)),
    })
}

/// A published version ready to score with: compiled rules, and the columns they read.
pub(crate) struct ScoringVersion {
    pub compiled: CompiledProfile,
    plan: FactsPlan,
}

thread_local! {
    /// Published versions, compiled once per backend. A version never changes once
    /// published, so entries never go stale; only dropped profiles leave garbage.
    static COMPILED: RefCell<HashMap<(i64, i32), Rc<ScoringVersion>>> = RefCell::new(HashMap::new());
}

pub(crate) fn compiled_version(attachment: &Attachment) -> Rc<ScoringVersion> {
    let key = (attachment.profile_id, attachment.version);
    if let Some(found) = COMPILED.with(|c| c.borrow().get(&key).cloned()) {
        return found;
    }
    let compiled = load_profile(&attachment.profile_name, Edition::Active).compiled;
    let plan = FactsPlan::of(&compiled);
    let loaded = Rc::new(ScoringVersion { compiled, plan });
    COMPILED.with(|c| c.borrow_mut().insert(key, loaded.clone()));
    loaded
}

/// What the active rules read, so that queries fetch only that: whole rows as JSON
/// would cost a conversion and a parse per column nobody looks at.
pub(crate) struct FactsPlan {
    contact_columns: Vec<String>,
    account_columns: Vec<String>,
    event_columns: Vec<String>,
    props: bool,
    /// Types of the events whose rules have a condition: only those need facts.
    condition_types: Vec<String>,
}

impl FactsPlan {
    fn of(compiled: &CompiledProfile) -> FactsPlan {
        let mut plan = FactsPlan {
            contact_columns: Vec::new(),
            account_columns: Vec::new(),
            event_columns: Vec::new(),
            props: false,
            condition_types: Vec::new(),
        };
        for (_, rule) in &compiled.rules {
            for field in rule.fields() {
                let column = field.path.join(".");
                let list = match field.source {
                    Source::Contact => &mut plan.contact_columns,
                    Source::Account => &mut plan.account_columns,
                    Source::Event => &mut plan.event_columns,
                    Source::Props => {
                        plan.props = true;
                        continue;
                    }
                };
                if !list.contains(&column) {
                    list.push(column);
                }
            }
            if let Rule::Event(event) = rule {
                if event.when.is_some() {
                    plan.condition_types.extend(event.event_types.iter().cloned());
                }
            }
        }
        plan.condition_types.sort();
        plan.condition_types.dedup();
        plan
    }
}

/// `jsonb_build_object('a', t."a", ...)` over the given columns (keys as SQL literals).
fn json_of(alias: &str, columns: &[String], extra: Option<String>) -> String {
    let mut pairs: Vec<String> = columns
        .iter()
        .map(|c| format!("'{}', {alias}.{}", c.replace('\'', "''"), ident(c)))
        .collect();
    pairs.extend(extra);
    if pairs.is_empty() {
        "'{}'::jsonb".to_owned()
    } else {
        format!("jsonb_build_object({})", pairs.join(", "))
    }
}

impl Attachment {
    fn contacts_query(&self, plan: &FactsPlan) -> String {
        let (key, contacts, key_type) = (&self.contact_key, &self.contacts, &self.key_type);
        match &self.accounts {
            Some((accounts, contact_account, account_key)) if !plan.account_columns.is_empty() => {
                let account = json_of("a", &plan.account_columns, None);
                format!(
                    "SELECT c.{key}::text, {facts}
                       FROM {contacts} c LEFT JOIN {accounts} a ON a.{account_key} = c.{contact_account}
                      WHERE c.{key} = ANY ($1::text[]::{key_type}[])",
                    facts = json_of("c", &plan.contact_columns, Some(format!("'account', {account}")))
                )
            }
            _ => format!(
                "SELECT c.{key}::text, {facts} FROM {contacts} c WHERE c.{key} = ANY ($1::text[]::{key_type}[])",
                facts = json_of("c", &plan.contact_columns, None)
            ),
        }
    }

    fn events_query(&self, plan: &FactsPlan) -> String {
        format!(
            "{} WHERE e.{contact} = ANY ($1::text[]::{key_type}[])",
            self.events_select(plan, &self.events),
            contact = self.event_contact,
            key_type = self.key_type
        )
    }

    /// (contact, type, time, facts) of every row of `relation` (the events table, or a
    /// trigger's transition table).
    fn events_select(&self, plan: &FactsPlan, relation: &str) -> String {
        let props = match (&self.event_props, plan.props) {
            (Some(p), true) => Some(format!("'props', e.{p}")),
            _ => None,
        };
        let facts = if plan.condition_types.is_empty() {
            "NULL::jsonb".to_owned()
        } else {
            let types: Vec<String> = plan
                .condition_types
                .iter()
                .map(|t| format!("'{}'", t.replace('\'', "''")))
                .collect();
            format!(
                "CASE WHEN e.{event_type}::text IN ({types}) THEN {json} END",
                event_type = self.event_type,
                types = types.join(", "),
                json = json_of("e", &plan.event_columns, props)
            )
        };
        format!(
            "SELECT e.{contact}::text, e.{event_type}::text, e.{time}::timestamptz, {facts} FROM {relation} e",
            contact = self.event_contact,
            event_type = self.event_type,
            time = self.event_time,
        )
    }
}

struct EventRow {
    event_type: Option<String>,
    at: Option<i64>,
    facts: Json,
}

/// What recomputing some contacts found: per contact, its key and fresh result.
pub(crate) type Scored = Vec<(String, ContactScore)>;

/// How a batch of contacts changed when rescored.
#[derive(Default, Clone, Copy)]
pub(crate) struct Outcome {
    /// Contacts that exist and were scored.
    pub scored: usize,
    /// Of those, contacts whose stored result differs from before (new ones included).
    pub changed: usize,
}

/// Recompute the given contacts (keys as text) as of `now` and store the results.
/// Contacts that no longer exist lose their state row.
pub(crate) fn rescore_contacts(
    client: &mut SpiClient<'_>,
    attachment: &Attachment,
    keys: &[String],
    now: i64,
) -> Outcome {
    let version = compiled_version(attachment);
    let mut outcome = Outcome::default();
    for batch in keys.chunks(BATCH) {
        let before = lock_and_read(client, attachment, batch);
        let scored = compute_batch(client, attachment, &version, batch, now);
        outcome.scored += scored.len();
        outcome.changed += scored
            .iter()
            .filter(|(key, result)| before.get(key) != Some(&comparable(result)))
            .count();
        write_batch(client, attachment, batch, &scored, now);
    }
    outcome
}

/// What is compared to tell whether a contact changed: fit, engagement, dimensions and
/// disqualifiers, as typed values (their JSON spellings may differ: `11` vs `11.0`).
type Comparable = (f64, DecayedSum, BTreeMap<String, DecayedSum>, Vec<String>);

fn comparable(result: &ContactScore) -> Comparable {
    (
        result.fit,
        result.engagement.clone(),
        result.dimensions.clone(),
        result.disqualified_by.clone(),
    )
}

fn spi_failed(attachment: &Attachment, what: &str, error: pgrx::spi::Error) -> ! {
    raise(
        ERRCODE_UNDEFINED_OBJECT,
        format!("profile \"{}\": {what}: {error}", attachment.profile_name),
    )
}

fn key_array(keys: &[String]) -> Vec<Option<String>> {
    keys.iter().cloned().map(Some).collect()
}

/// Lock the contacts' state rows in key order (so statements touching overlapping
/// contacts never deadlock) and read what they hold.
fn lock_and_read(
    client: &mut SpiClient<'_>,
    attachment: &Attachment,
    keys: &[String],
) -> HashMap<String, Comparable> {
    let (state, key_type) = (&attachment.state_table, &attachment.key_type);
    client
        .update(
            &format!(
                "SELECT contact_key::text, jsonb_build_array(fit, engagement::text::jsonb, dimensions,
                                                             to_jsonb(disqualified_by))
                   FROM {state} WHERE contact_key = ANY ($1::text[]::{key_type}[])
                  ORDER BY contact_key FOR UPDATE"
            ),
            None,
            &[key_array(keys).into()],
        )
        .unwrap_or_else(|e| spi_failed(attachment, "locking scores", e))
        .filter_map(|row| {
            let key = row.get::<String>(1).ok().flatten()?;
            let stored = row.get::<JsonB>(2).ok().flatten()?;
            Some((key, serde_json::from_value::<Comparable>(stored.0).ok()?))
        })
        .collect()
}

/// Run an events query (contact, type, time, facts) and group its rows by contact,
/// keeping the order in which contacts first appear.
fn read_events(
    client: &SpiClient<'_>,
    attachment: &Attachment,
    query: &str,
    args: &[pgrx::datum::DatumWithOid<'_>],
) -> (Vec<String>, HashMap<String, Vec<EventRow>>) {
    let mut order = Vec::new();
    let mut grouped: HashMap<String, Vec<EventRow>> = HashMap::new();
    for row in client
        .select(query, None, args)
        .unwrap_or_else(|e| spi_failed(attachment, "reading events", e))
    {
        let Some(key) = row.get::<String>(1).ok().flatten() else { continue };
        if !grouped.contains_key(&key) {
            order.push(key.clone());
        }
        grouped.entry(key).or_default().push(EventRow {
            event_type: row.get::<String>(2).ok().flatten(),
            at: row
                .get::<TimestampWithTimeZone>(3)
                .ok()
                .flatten()
                .filter(|t| t.is_finite())
                .map(to_unix_micros),
            facts: row.get::<JsonB>(4).ok().flatten().map_or(Json::Null, |j| j.0),
        });
    }
    (order, grouped)
}

/// Read the contacts and their events, and score them. Writes nothing.
pub(crate) fn compute_batch(
    client: &SpiClient<'_>,
    attachment: &Attachment,
    version: &ScoringVersion,
    keys: &[String],
    now: i64,
) -> Scored {
    let key_list = key_array(keys);
    let (compiled, plan) = (&version.compiled, &version.plan);
    let mut contacts: Vec<(String, Json)> = client
        .select(&attachment.contacts_query(plan), None, &[key_list.clone().into()])
        .unwrap_or_else(|e| spi_failed(attachment, "reading contacts", e))
        .filter_map(|row| {
            let key = row.get::<String>(1).ok().flatten()?;
            let facts = row.get::<JsonB>(2).ok().flatten().map_or(Json::Null, |j| j.0);
            Some((key, facts))
        })
        .collect();
    contacts.sort_by(|a, b| a.0.cmp(&b.0));

    let (_, mut events) =
        read_events(client, attachment, &attachment.events_query(plan), &[key_list.into()]);

    contacts
        .into_iter()
        .map(|(key, contact)| {
            let mut history = events.remove(&key).unwrap_or_default();
            // One order for every run, so sums round the same way and verify() compares
            // like with like.
            history.sort_by(|a, b| (a.at, &a.event_type).cmp(&(b.at, &b.event_type)));
            let facts: Vec<JsonFacts> =
                history.iter().map(|e| JsonFacts { record: &e.facts, now }).collect();
            let result = score_contact(
                compiled,
                &JsonFacts { record: &contact, now },
                history.iter().zip(&facts).map(|(e, f)| Event {
                    event_type: e.event_type.as_deref(),
                    at: e.at,
                    facts: f,
                }),
                now,
            );
            (key, result)
        })
        .collect()
}

fn write_batch(
    client: &mut SpiClient<'_>,
    attachment: &Attachment,
    keys: &[String],
    scored: &Scored,
    now: i64,
) {
    let (state, key_type) = (&attachment.state_table, &attachment.key_type);
    let existing: Vec<Option<String>> = scored.iter().map(|(k, _)| Some(k.clone())).collect();
    client
        .update(
            &format!(
                "DELETE FROM {state} s WHERE s.contact_key = ANY ($1::text[]::{key_type}[])
                   AND NOT s.contact_key = ANY ($2::text[]::{key_type}[])"
            ),
            None,
            &[key_array(keys).into(), existing.into()],
        )
        .unwrap_or_else(|e| spi_failed(attachment, "removing deleted contacts", e));
    if scored.is_empty() {
        return;
    }
    let rows: Vec<Json> = scored
        .iter()
        .map(|(key, result)| {
            let t = result.tally;
            json!({
                "key": key,
                "fit": result.fit,
                "engagement": serde_json::to_string(&result.engagement).unwrap_or_else(|_| "{\"terms\":[]}".into()),
                "dimensions": result.dimensions,
                "disqualified_by": result.disqualified_by,
                "next_due": result.next_due.map(|d| d as f64 / 1e6),
                "tally": [t.scored, t.unmatched, t.not_counted, t.future, t.null_time, t.null_type],
            })
        })
        .collect();
    client
        .update(
            &format!(
                "INSERT INTO {state} AS s (contact_key, version, fit, engagement, dimensions,
                                           disqualified_by, next_due, tally, scored_at)
                 SELECT r.key::{key_type}, $2, r.fit, r.engagement::lead_score.decayed, r.dimensions,
                        r.disqualified_by, to_timestamp(r.next_due), r.tally, to_timestamp($3::float8 / 1e6)
                   FROM jsonb_to_recordset($1) AS r(key text, fit float8, engagement text, dimensions jsonb,
                                                    disqualified_by text[], next_due float8, tally bigint[])
                 ON CONFLICT (contact_key) DO UPDATE
                    SET version = excluded.version, fit = excluded.fit, engagement = excluded.engagement,
                        dimensions = excluded.dimensions, disqualified_by = excluded.disqualified_by,
                        next_due = excluded.next_due, tally = excluded.tally, scored_at = excluded.scored_at"
            ),
            None,
            &[JsonB(Json::Array(rows)).into(), attachment.version.into(), (now as f64).into()],
        )
        .unwrap_or_else(|e| spi_failed(attachment, "writing scores", e));
}

/// Every contact of the attached contacts table, as text keys in key order.
pub(crate) fn all_contact_keys(client: &SpiClient<'_>, attachment: &Attachment) -> Vec<String> {
    client
        .select(
            &format!(
                "SELECT c.{key}::text FROM {contacts} c WHERE c.{key} IS NOT NULL ORDER BY c.{key}",
                key = attachment.contact_key,
                contacts = attachment.contacts
            ),
            None,
            &[],
        )
        .unwrap_or_else(|e| spi_failed(attachment, "listing contacts", e))
        .filter_map(|row| row.get::<String>(1).ok().flatten())
        .collect()
}

/// The fast path for inserted events: add them to the contacts' stored sums without
/// rereading any history, when the profile allows it for every one of them (see
/// `CompiledProfile::is_additive`). Reads the statement's new rows from `relation`.
/// Returns the contacts it could not handle, for a full recompute.
pub(crate) fn add_inserted_events(
    client: &mut SpiClient<'_>,
    attachment: &Attachment,
    relation: &str,
    now: i64,
) -> Vec<String> {
    let version = compiled_version(attachment);
    let (compiled, plan) = (&version.compiled, &version.plan);
    let (state, key_type) = (&attachment.state_table, &attachment.key_type);
    // New rows, grouped by contact in the key's own order.
    let query = format!(
        "{} WHERE e.{contact} IS NOT NULL ORDER BY e.{contact}",
        attachment.events_select(plan, relation),
        contact = attachment.event_contact
    );
    let (order, new_events) = read_events(client, attachment, &query, &[]);
    if order.is_empty() {
        return order;
    }
    let mut stored: HashMap<String, (i32, Additive)> = HashMap::new();
    for batch in order.chunks(BATCH) {
        let rows = client
            .update(
                &format!(
                    "SELECT contact_key::text, version, engagement::text, dimensions, tally
                       FROM {state} WHERE contact_key = ANY ($1::text[]::{key_type}[])
                      ORDER BY contact_key FOR UPDATE"
                ),
                None,
                &[key_array(batch).into()],
            )
            .unwrap_or_else(|e| spi_failed(attachment, "locking scores", e));
        for row in rows {
            let parsed = (|| {
                let key = row.get::<String>(1).ok().flatten()?;
                let version = row.get::<i32>(2).ok().flatten()?;
                let engagement =
                    serde_json::from_str(&row.get::<String>(3).ok().flatten()?).ok()?;
                let dimensions =
                    serde_json::from_value(row.get::<JsonB>(4).ok().flatten()?.0).ok()?;
                let t = row.get::<Vec<i64>>(5).ok().flatten()?;
                let count = |i: usize| t.get(i).copied().unwrap_or(0).max(0) as u64;
                let tally = EventTally {
                    scored: count(0),
                    unmatched: count(1),
                    not_counted: count(2),
                    future: count(3),
                    null_time: count(4),
                    null_type: count(5),
                };
                Some((key, (version, Additive { engagement, dimensions, tally })))
            })();
            if let Some((key, value)) = parsed {
                stored.insert(key, value);
            }
        }
    }

    let mut slow = Vec::new();
    let mut updates = Vec::new();
    for key in order {
        let events = &new_events[&key];
        let handled = match stored.get_mut(&key) {
            Some((version, additive)) if *version == attachment.version => {
                let facts: Vec<JsonFacts> =
                    events.iter().map(|e| JsonFacts { record: &e.facts, now }).collect();
                add_events(
                    compiled,
                    additive,
                    events.iter().zip(&facts).map(|(e, f)| Event {
                        event_type: e.event_type.as_deref(),
                        at: e.at,
                        facts: f,
                    }),
                    now,
                )
            }
            _ => false,
        };
        if handled {
            let additive = &stored[&key].1;
            let t = additive.tally;
            updates.push(json!({
                "key": key,
                "engagement": serde_json::to_string(&additive.engagement).unwrap_or_else(|_| "{\"terms\":[]}".into()),
                "dimensions": additive.dimensions,
                "tally": [t.scored, t.unmatched, t.not_counted, t.future, t.null_time, t.null_type],
            }));
        } else {
            slow.push(key);
        }
    }
    if !updates.is_empty() {
        client
            .update(
                &format!(
                    "UPDATE {state} s SET engagement = r.engagement::lead_score.decayed, dimensions = r.dimensions,
                            tally = r.tally, scored_at = to_timestamp($2::float8 / 1e6)
                       FROM jsonb_to_recordset($1) AS r(key text, engagement text, dimensions jsonb, tally bigint[])
                      WHERE s.contact_key = r.key::{key_type}"
                ),
                None,
                &[JsonB(Json::Array(updates)).into(), (now as f64).into()],
            )
            .unwrap_or_else(|e| spi_failed(attachment, "adding new events", e));
    }
    slow
}
