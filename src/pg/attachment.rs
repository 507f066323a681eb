//! Attached profiles: recomputing contacts' scores from the CRM's own tables.
//!
//! Every write path comes down to one of three ways of scoring, all built on
//! `EventSummary` (events fold into per-contact summaries in any order):
//!
//! * [`rescore_contacts`]: some contacts. Lock their state rows in key order, read the
//!   contacts (with their accounts) and all their events in two set-based queries,
//!   score, upsert in one statement. Triggers and `tick()` use it.
//! * [`score_everyone`]: every contact, in one sequential pass over the events table
//!   and one over the contacts (publish, rescore, verify).
//! * [`add_inserted_events`]: new events whose summary is additive are added to the
//!   stored sums in one UPDATE, with no history read.
//!
//! Statements are prepared once per backend (see `plan_cache`).

use std::borrow::{Borrow, Cow};
use std::collections::{BTreeMap, HashMap, HashSet};

use pgrx::pg_sys::{self, PgBuiltInOids, PgOid};
use pgrx::prelude::TimestampWithTimeZone;
use pgrx::spi::{OwnedPreparedStatement, Spi, SpiClient, SpiTupleTable};
use pgrx::PgSqlErrorCode::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE;
use serde_json::Value as Json;

use crate::pg::clock::from_unix_micros;
use crate::pg::errors::{internal, raise};
use crate::pg::identity::{as_crm_owner, as_extension_owner};
use crate::pg::params::tid_array;
use crate::pg::plan_cache::Attached;
use crate::pg::qualify::{record, settle, Before, Cause};
use crate::pg::spi_rows::{current_rows, for_each_row, RawRow, Row, SlotRow};
use crate::scoring::condition::Source;
use crate::scoring::decay::DecayedSum;
use crate::scoring::engine::{
    CompiledProfile, ContactScore, Event, EventSummary, EventTally, LimitState,
};
use crate::scoring::json_facts::JsonFacts;
use crate::scoring::key_places::KeyPlaces;
use crate::scoring::qualification::may_change;
use crate::scoring::record_facts::{ColumnLayout, RecordFacts};
use crate::scoring::rule::Rule;

/// How many contacts one query reads and one statement writes.
const BATCH: usize = 5_000;

/// A profile's attachment: its relations fixed by oid, and as SQL, schema-qualified
/// and quoted by [`ident`], whatever the caller's `search_path`.
pub(crate) struct Attachment {
    pub profile_id: i64,
    pub profile_name: String,
    pub version: i32,
    /// `ONLY "schema"."table"`: rows of inheritance children are not the attached
    /// table's (its triggers do not see writes to them), so no statement reads them.
    pub contacts: String,
    pub contacts_oid: pg_sys::Oid,
    pub contact_key: String,
    /// The key type as SQL (`pg_catalog.int8`, ...): one of the supported types.
    pub key_type: String,
    key_type_oid: pg_sys::Oid,
    pub events: String,
    pub events_oid: pg_sys::Oid,
    pub event_contact: String,
    pub event_type: String,
    pub event_time: String,
    /// `timestamptz`, `timestamp` or `date`.
    event_time_type: pg_sys::Oid,
    pub event_props: Option<String>,
    /// (`ONLY` accounts table, contact_account, account_key) and the table's oid.
    pub accounts: Option<(String, String, String)>,
    pub accounts_oid: Option<pg_sys::Oid>,
    /// The role owning the CRM tables: statements reading their columns run as it
    /// (see `identity::as_crm_owner`).
    pub crm_owner: pg_sys::Oid,
    pub state_table: String,
    /// Its oid, for locking it (invalid if it is missing).
    pub state_oid: pg_sys::Oid,
}

/// A name as a quoted SQL identifier: the one way names reach SQL text. Identifiers
/// know no backslash escapes, so this is right under any `standard_conforming_strings`.
pub(crate) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The supported key types, by oid, as SQL.
fn key_type_sql(oid: pg_sys::Oid) -> Option<&'static str> {
    Some(match oid {
        pg_sys::INT8OID => "pg_catalog.int8",
        pg_sys::INT4OID => "pg_catalog.int4",
        pg_sys::INT2OID => "pg_catalog.int2",
        pg_sys::UUIDOID => "pg_catalog.uuid",
        pg_sys::TEXTOID => "pg_catalog.text",
        pg_sys::VARCHAROID => "pg_catalog.varchar",
        _ => return None,
    })
}

/// A relation of an attachment: `ONLY "schema"."name"` and its owner, or a 55000
/// error naming what is gone (a dropped table leaves its attachment behind).
fn relation(
    client: &SpiClient<'_>,
    profile: &str,
    what: &str,
    oid: pg_sys::Oid,
) -> (String, pg_sys::Oid) {
    let found = client
        .select(
            "SELECT n.nspname::pg_catalog.text, c.relname::pg_catalog.text, c.relowner
               FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
              WHERE c.oid OPERATOR(pg_catalog.=) $1",
            Some(1),
            &[oid.into()],
        )
        .unwrap_or_else(|e| internal(format!("profile \"{profile}\": reading its {what} table"), e));
    let found = (!found.is_empty()).then(|| {
        let row = found.first();
        let read = |e: pgrx::spi::Error| -> ! {
            internal(format!("profile \"{profile}\": reading its {what} table"), e)
        };
        (
            row.get::<String>(1).unwrap_or_else(|e| read(e)).unwrap_or_default(),
            row.get::<String>(2).unwrap_or_else(|e| read(e)).unwrap_or_default(),
            row.get::<pg_sys::Oid>(3).unwrap_or_else(|e| read(e)).unwrap_or(pg_sys::InvalidOid),
        )
    });
    match found {
        Some((schema, name, owner)) => (format!("ONLY {}.{}", ident(&schema), ident(&name)), owner),
        None => raise(
            ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!("profile \"{profile}\": its {what} table (oid {}) no longer exists; detach the profile", oid.to_u32()),
        ),
    }
}

/// Load the attachment of a profile, or `None` when it is not attached. Raises 55000
/// when its tables are gone, or no longer have one owner.
pub(crate) fn load_attachment(client: &SpiClient<'_>, profile_id: i64) -> Option<Attachment> {
    let table = client
        .select(
            "SELECT p.name, p.active_version, a.contacts::pg_catalog.oid, a.contact_key::pg_catalog.text,
                    a.key_type::pg_catalog.oid, a.events::pg_catalog.oid, a.event_contact::pg_catalog.text,
                    a.event_type::pg_catalog.text, a.event_time::pg_catalog.text,
                    a.event_props::pg_catalog.text, a.accounts::pg_catalog.oid,
                    a.contact_account::pg_catalog.text, a.account_key::pg_catalog.text,
                    a.state_table::pg_catalog.text,
                    (SELECT c.oid FROM pg_catalog.pg_class c
                      WHERE c.relname OPERATOR(pg_catalog.=) a.state_table
                        AND c.relnamespace OPERATOR(pg_catalog.=) 'lead_score'::pg_catalog.regnamespace),
                    (SELECT t.atttypid FROM pg_catalog.pg_attribute t
                      WHERE t.attrelid OPERATOR(pg_catalog.=) a.events
                        AND t.attname OPERATOR(pg_catalog.=) a.event_time AND NOT t.attisdropped)
               FROM lead_score.attachment_store a
               JOIN lead_score.profile_store p ON p.id OPERATOR(pg_catalog.=) a.profile_id
              WHERE a.profile_id OPERATOR(pg_catalog.=) $1",
            Some(1),
            &[profile_id.into()],
        )
        .unwrap_or_else(|e| internal(format!("loading the attachment of profile {profile_id}"), e));
    if table.is_empty() {
        return None;
    }
    let row = table.first();
    let text = |i: usize| row.get::<String>(i).ok().flatten();
    let oid = |i: usize| row.get::<pg_sys::Oid>(i).ok().flatten();
    let profile_name = text(1)?;
    let (contacts, crm_owner) = relation(client, &profile_name, "contacts", oid(3)?);
    let (events, events_owner) = relation(client, &profile_name, "events", oid(6)?);
    let mut owners = vec![("events", events_owner)];
    let accounts_oid = oid(11);
    let accounts = match (accounts_oid, text(12), text(13)) {
        (Some(accounts_oid), Some(contact_account), Some(account_key)) => {
            let (table, owner) = relation(client, &profile_name, "accounts", accounts_oid);
            owners.push(("accounts", owner));
            Some((table, ident(&contact_account), ident(&account_key)))
        }
        _ => None,
    };
    if let Some((what, _)) = owners.iter().find(|(_, owner)| *owner != crm_owner) {
        raise(
            ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!(
                "profile \"{profile_name}\": its contacts and {what} tables have different owners; \
                 scoring reads the attached tables as their one owner"
            ),
        );
    }
    let key_type_oid = oid(5)?;
    // The key columns are compared with built-in operators only while they keep the
    // type they had at attach: a column swapped for another of the same name since is a
    // misconfiguration, caught here rather than evaluated.
    let (contacts_oid, events_oid) = (oid(3)?, oid(6)?);
    for (what, relation, column) in
        [("contacts", contacts_oid, text(4)?), ("events", events_oid, text(7)?)]
    {
        let found = client
            .select(
                "SELECT a.atttypid FROM pg_catalog.pg_attribute a
                  WHERE a.attrelid OPERATOR(pg_catalog.=) $1 AND a.attname OPERATOR(pg_catalog.=) $2
                    AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped",
                Some(1),
                &[relation.into(), column.as_str().into()],
            )
            .and_then(|t| if t.is_empty() { Ok(None) } else { t.first().get_one::<pg_sys::Oid>() })
            .unwrap_or_else(|e| {
                internal(format!("profile \"{profile_name}\": reading its key columns"), e)
            });
        if found != Some(key_type_oid) {
            raise(
                ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
                format!(
                    "profile \"{profile_name}\": column {} of its {what} table is gone or no longer \
                     has the contacts' key type; detach the profile and attach it again",
                    ident(&column)
                ),
            );
        }
    }
    let Some(key_type) = key_type_sql(key_type_oid) else {
        raise(
            ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!(
                "profile \"{profile_name}\": its contact key has an unsupported type (oid {})",
                key_type_oid.to_u32()
            ),
        )
    };
    Some(Attachment {
        profile_id,
        version: row.get::<i32>(2).ok().flatten()?,
        contacts,
        contacts_oid,
        contact_key: ident(&text(4)?),
        key_type: key_type.to_owned(),
        key_type_oid,
        events,
        events_oid,
        event_contact: ident(&text(7)?),
        event_type: ident(&text(8)?),
        event_time: ident(&text(9)?),
        event_time_type: oid(16).unwrap_or(pg_sys::TIMESTAMPTZOID),
        event_props: text(10).map(|p| ident(&p)),
        accounts,
        accounts_oid,
        crm_owner,
        state_table: format!("lead_score.{}", ident(&text(14)?)),
        state_oid: oid(15).unwrap_or(pg_sys::InvalidOid),
        profile_name,
    })
}

/// What the active rules read, so that queries fetch only that: whole rows as JSON
/// would cost a conversion and a parse per column nobody looks at.
pub(crate) struct FactsPlan {
    /// The contact and account columns fit and disqualifier rules read.
    pub layout: ColumnLayout,
    /// Per column of `layout` (contacts', then accounts'): whether its type is read as
    /// it is (numbers, booleans, text) rather than as its JSON form.
    plain: Vec<bool>,
    event_columns: Vec<String>,
    props: bool,
    /// Types of the events whose rules have a condition: only those need facts.
    condition_types: Vec<String>,
}

/// Column types read as they are; any other type is read as its JSON form (`to_jsonb`).
/// `float4` is not among them: its JSON form is its shortest decimal spelling, which
/// widening it to a double would not give.
/// (`int2`, `int4`, `int8`, `float8`, `bool`, `text`, `varchar`, by oid.)
const PLAIN_TYPES: &str = "'{21,23,20,701,16,25,1043}'::pg_catalog.oid[]";

impl FactsPlan {
    pub(crate) fn of(compiled: &CompiledProfile) -> FactsPlan {
        let mut plan = FactsPlan {
            layout: ColumnLayout::default(),
            plain: Vec::new(),
            event_columns: Vec::new(),
            props: false,
            condition_types: Vec::new(),
        };
        for (_, rule) in &compiled.rules {
            for field in rule.fields() {
                let column = field.path.join(".");
                let list = match field.source {
                    Source::Contact => &mut plan.layout.contact,
                    Source::Account => &mut plan.layout.account,
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

    /// Look up the types of the contact and account columns in the catalog.
    pub(crate) fn learn_column_types(&mut self, client: &SpiClient<'_>, attachment: &Attachment) {
        let plain_columns = |relation: pg_sys::Oid| -> HashSet<String> {
            let query = format!(
                "SELECT attname::pg_catalog.text FROM pg_catalog.pg_attribute
                  WHERE attrelid OPERATOR(pg_catalog.=) $1 AND attnum OPERATOR(pg_catalog.>) 0
                    AND NOT attisdropped AND atttypid OPERATOR(pg_catalog.=) ANY ({PLAIN_TYPES})"
            );
            client
                .select(query.as_str(), None, &[relation.into()])
                .map(|rows| rows.filter_map(|r| r.get::<String>(1).ok().flatten()).collect())
                .unwrap_or_else(|e| spi_failed(attachment, "reading column types", e))
        };
        let contact = plain_columns(attachment.contacts_oid);
        let account = attachment.accounts_oid.map(plain_columns);
        self.plain = (self.layout.contact.iter().map(|c| contact.contains(c)))
            .chain(
                self.layout.account.iter().map(|c| account.as_ref().is_some_and(|a| a.contains(c))),
            )
            .collect();
    }

    /// The select list of the contact and account columns (aliases `c` and `a`).
    fn record_columns(&self, with_account: bool) -> String {
        let contact = self.layout.contact.iter().map(|c| ("c", c));
        let account = self.layout.account.iter().map(|c| ("a", c));
        let columns: Vec<String> = contact
            .chain(account)
            .enumerate()
            .map(|(i, (alias, column))| match (alias, self.plain.get(i)) {
                ("a", _) if !with_account => "NULL".to_owned(),
                (_, Some(true)) => format!("{alias}.{}", ident(column)),
                _ => format!("to_jsonb({alias}.{})", ident(column)),
            })
            .collect();
        columns.iter().map(|c| format!(", {c}")).collect()
    }

    /// `condition_types` as a statement's text[] parameter (values never go into SQL).
    fn types_arg(&self) -> pgrx::datum::DatumWithOid<'static> {
        self.types().into()
    }

    fn types(&self) -> Vec<Option<String>> {
        self.condition_types.iter().cloned().map(Some).collect()
    }

    /// The keys of the events' facts documents, in `json_of`'s order: the event
    /// columns the rules read, then `props`. Passed as a text[] parameter.
    fn names(&self) -> Vec<Option<String>> {
        let props = self.props.then(|| "props".to_owned());
        self.event_columns.iter().cloned().chain(props).map(Some).collect()
    }

    fn names_arg(&self) -> pgrx::datum::DatumWithOid<'static> {
        self.names().into()
    }
}

/// `jsonb_build_object(<names>[1], e."a", ...)` over the event columns the rules read,
/// and the properties: the keys come from the text[] parameter `names` (see
/// `FactsPlan::names`), so no column name is ever spelled as a literal.
fn json_of(columns: &[String], props: Option<&str>, names: &str) -> String {
    let values =
        columns.iter().map(|c| format!("e.{}", ident(c))).chain(props.map(|p| format!("e.{p}")));
    let pairs: Vec<String> = values
        .enumerate()
        .map(|(i, value)| format!("({names}::pg_catalog.text[])[{}], {value}", i + 1))
        .collect();
    if pairs.is_empty() {
        "'{}'::pg_catalog.jsonb".to_owned()
    } else {
        format!("pg_catalog.jsonb_build_object({})", pairs.join(", "))
    }
}

impl Attachment {
    /// Whether contact keys are integers (`smallint`, `integer`, `bigint`).
    fn integer_keys(&self) -> bool {
        matches!(self.key_type_oid, pg_sys::INT2OID | pg_sys::INT4OID | pg_sys::INT8OID)
    }

    /// The planner's estimate of how many contacts there are (0 if it has none).
    fn estimated_contacts(&self, client: &SpiClient<'_>) -> usize {
        let estimate = client
            .select(
                "SELECT reltuples FROM pg_catalog.pg_class WHERE oid OPERATOR(pg_catalog.=) $1",
                Some(1),
                &[self.contacts_oid.into()],
            )
            .ok()
            .and_then(|rows| rows.first().get_one::<f32>().ok().flatten());
        // Capped: a wild estimate should not reserve gigabytes.
        estimate.map_or(0, |n| n.clamp(0.0, 20_000_000.0) as usize)
    }

    /// The contacts' keys and the columns their rules read (`FactsPlan::layout`):
    /// those in `$1` (keys as text), or with `None`, every contact in key order, followed
    /// by its state row's `STORED_COLUMNS` (NULLs for a contact without one).
    fn contacts_query(&self, plan: &FactsPlan, which: Option<()>) -> String {
        let (key, contacts, key_type) = (&self.contact_key, &self.contacts, &self.key_type);
        let (stored, filter) = match which {
            Some(()) => (String::new(), format!("WHERE c.{key} = ANY ($1::text[]::{key_type}[])")),
            None => (
                format!("LEFT JOIN {} s ON s.contact_key = c.{key}", self.state_table),
                format!("WHERE c.{key} IS NOT NULL ORDER BY c.{key}"),
            ),
        };
        let stored_columns = if stored.is_empty() { "" } else { STORED_COLUMNS };
        match &self.accounts {
            Some((accounts, contact_account, account_key)) if !plan.layout.account.is_empty() => {
                format!(
                    "SELECT c.{key}::text{columns}{stored_columns}
                       FROM {contacts} c LEFT JOIN {accounts} a ON a.{account_key} = c.{contact_account}
                       {stored} {filter}",
                    columns = plan.record_columns(true)
                )
            }
            _ => format!(
                "SELECT c.{key}::text{columns}{stored_columns} FROM {contacts} c {stored} {filter}",
                columns = plan.record_columns(false)
            ),
        }
    }

    /// The events of the contacts in `$1` (keys as text), or with `None`, all events. The
    /// last parameter is the types whose rules have conditions (`FactsPlan::types_arg`).
    fn events_query(&self, plan: &FactsPlan, which: Option<()>, key_cast: &str) -> String {
        let (filter, types, names) = match which {
            Some(()) => (format!("= ANY ($1::text[]::{}[])", self.key_type), "$2", "$3"),
            None => ("IS NOT NULL".to_owned(), "$1", "$2"),
        };
        format!(
            "{} WHERE e.{} {filter}",
            self.events_select(plan, &self.events, types, names, key_cast),
            self.event_contact
        )
    }

    /// The event's time as a timestamptz, for any value its column holds. A `date` or
    /// `timestamp` near the ends of its range has no timestamptz (the ranges differ, and
    /// the session's time zone shifts it): later ones read as `infinity` (a future that
    /// never comes), earlier ones as the earliest timestamptz; never an error.
    fn event_time_sql(&self) -> String {
        let time = format!("e.{}", self.event_time);
        let (last, first) = match self.event_time_type {
            pg_sys::DATEOID => {
                ("'294276-12-29'::pg_catalog.date", "'4714-11-26 BC'::pg_catalog.date")
            }
            pg_sys::TIMESTAMPOID => (
                "'294276-12-29 00:00'::pg_catalog.timestamp",
                "'4714-11-26 00:00 BC'::pg_catalog.timestamp",
            ),
            _ => return format!("{time}::pg_catalog.timestamptz"),
        };
        format!(
            "CASE WHEN {time} OPERATOR(pg_catalog.>) {last} THEN 'infinity'::pg_catalog.timestamptz
                  WHEN pg_catalog.isfinite({time}) IS NOT TRUE THEN {time}::pg_catalog.timestamptz
                  WHEN {time} OPERATOR(pg_catalog.<) {first}
                  THEN '4714-11-24 00:00:00+00 BC'::pg_catalog.timestamptz
                  ELSE {time}::pg_catalog.timestamptz END"
        )
    }

    /// (contact, type, time, facts) of every row of `relation` (the events table, or a
    /// trigger's transition table). `types` is the parameter holding the event types
    /// whose rules have a condition (only those need facts), `names` the one holding
    /// the facts' keys (`FactsPlan::names`).
    fn events_select(
        &self,
        plan: &FactsPlan,
        relation: &str,
        types: &str,
        names: &str,
        key_cast: &str,
    ) -> String {
        let props = match (&self.event_props, plan.props) {
            (Some(p), true) => Some(p.as_str()),
            _ => None,
        };
        let facts = if plan.condition_types.is_empty() {
            "NULL::jsonb".to_owned()
        } else {
            format!(
                "CASE WHEN e.{event_type}::text = ANY ({types}::text[]) THEN {json} END",
                event_type = self.event_type,
                json = json_of(&plan.event_columns, props, names)
            )
        };
        format!(
            "SELECT e.{contact}::{key_cast}, e.{event_type}::text, {time}, {facts} FROM {relation} e",
            contact = self.event_contact,
            event_type = self.event_type,
            time = self.event_time_sql(),
        )
    }
}

/// A text array parameter.
const TEXT_ARRAY: PgOid = PgOid::BuiltIn(PgBuiltInOids::TEXTARRAYOID);
/// From how many new rows a statement's events are streamed from the executor rather
/// than read as one result.
const STREAM_FROM: i64 = 1_000;

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

/// A failed query of a profile's scoring: an internal error naming the profile.
pub(crate) fn spi_failed(attachment: &Attachment, what: &str, error: pgrx::spi::Error) -> ! {
    internal(format!("profile \"{}\": {what}", attachment.profile_name), error)
}

fn key_array(keys: &[String]) -> Vec<Option<String>> {
    keys.iter().cloned().map(Some).collect()
}

/// Run a prepared statement, or raise an error naming the profile and what failed.
pub(crate) fn run<'conn>(
    client: &SpiClient<'conn>,
    attached: &Attached,
    statement: &OwnedPreparedStatement,
    what: &str,
    args: &[pgrx::datum::DatumWithOid<'_>],
) -> SpiTupleTable<'conn> {
    client
        .select(statement, None, args)
        .unwrap_or_else(|e| spi_failed(&attached.attachment, what, e))
}

/// Per-contact summaries of events, by key as text (a lookup per event row).
type Summaries = rustc_hash::FxHashMap<String, EventSummary>;

/// A pass's summaries over integer keys: `place` holds only each contact's place in
/// `all` (see `KeyPlaces`). With a million contacts a map of whole summaries is
/// hundreds of megabytes, and each event's lookup a cache miss.
struct IntegerSummaries {
    place: KeyPlaces,
    all: Vec<EventSummary>,
}

/// How many contacts' summaries a map makes room for before the first event: growing
/// rehashes every summary so far, but room for millions is memory most statements never
/// use.
const UP_FRONT: usize = 1 << 20;

/// How summaries are kept, by key. Integer keys spare the full pass a text conversion,
/// a string hash and an allocation per contact.
trait SummaryKey {
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
fn fold_row<K: SummaryKey>(attached: &Attached, summaries: &mut K::Map, row: &impl Row, now: i64) {
    K::with_summary(summaries, row, |summary| {
        let facts = row.json(4);
        let facts = JsonFacts { record: &facts, now };
        let event = Event { event_type: row.text(2), at: row.time(3), facts: &facts };
        summary.add(&attached.compiled, &event, now);
    });
}

/// Fold the rows of the last SPI result into one summary per contact.
fn fold_rows<K: SummaryKey>(attached: &Attached, summaries: &mut K::Map, now: i64) {
    // SAFETY: the rows are read here, before any other statement runs.
    for row in unsafe { current_rows() } {
        fold_row::<K>(attached, summaries, &row, now);
    }
}

/// The number of contact and account columns after the key in a contacts row.
fn record_column_count(attached: &Attached) -> i32 {
    let layout = &attached.plan.layout;
    (layout.contact.len() + layout.account.len()) as i32
}

/// Score the contact of a contacts row, (key, columns of `FactsPlan::layout`), from its
/// events' summary (taken out of `summaries`).
fn finish_row<K: SummaryKey>(
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
    Some((key, summary.finish(&attached.compiled, &facts, now)))
}

/// Score the contacts of the last SPI result (see `finish_row`).
fn finish_rows(attached: &Attached, summaries: &mut Summaries, now: i64) -> Scored {
    // SAFETY: the rows are read here, before any other statement runs.
    unsafe { current_rows() }
        .filter_map(|row| finish_row::<String>(attached, summaries, &row, now))
        .collect()
}

/// The state row columns read beside every contact in a full pass, and by the locking
/// read of the full path (see `StoredRow`).
const STORED_COLUMNS: &str =
    ", s.fit, s.engagement, nullif(s.dimensions, '{}'), s.disqualified_by, s.next_due, s.tally, s.limits";
const STORED_COLUMN_COUNT: i32 = 7;

/// A contact's state row as a full pass found it: what its result is compared with, so
/// that only contacts whose result changed are written.
pub(crate) struct StoredRow {
    pub fit: f64,
    pub engagement: DecayedSum,
    dimensions: BTreeMap<String, DecayedSum>,
    pub disqualified_by: Vec<String>,
    next_due: Option<i64>,
    tally: Vec<i64>,
    limits: Vec<i64>,
}

impl StoredRow {
    /// The `STORED_COLUMNS` of a row whose first one is `first`; `None` without a row.
    fn read(row: &impl Row, first: i32) -> Option<StoredRow> {
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
        })
    }

    /// Whether `result` scores the contact as the row does: fit, engagement, dimensions
    /// and disqualifiers, typed (`11` and `11.0` are equal).
    fn same_score(&self, result: &ContactScore) -> bool {
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
        let mut found = Vec::new();
        if !close(self.fit + self.engagement.value_at(now), result.score_at(now)) {
            found.push("score");
        }
        if self.disqualified_by != result.disqualified_by {
            found.push("disqualified_by");
        }
        let mut labels = self.dimensions.keys().chain(result.dimensions.keys());
        if labels.any(|l| !close(worth(self.dimensions.get(l)), worth(result.dimensions.get(l)))) {
            found.push("dimensions");
        }
        let due_matches = match (self.next_due, due) {
            (None, None) => true,
            (Some(a), Some(b)) => a.abs_diff(b) <= 1_000_000,
            _ => false,
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
        found
    }

    /// Whether writing `result` would store what the row holds already (`write_batch`
    /// compares the same columns).
    pub fn holds(&self, result: &ContactScore) -> bool {
        self.same_score(result)
            && self.next_due == result.next_due
            && self.tally.iter().copied().eq(result.tally.to_array().map(|c| c as i64))
            && self.limits == LimitState::flatten(&result.limits)
    }
}

/// Read some contacts (keys as text, in key order) and their events, and score them, in
/// the order of `keys`. Writes nothing.
pub(crate) fn compute_batch(
    client: &SpiClient<'_>,
    attached: &Attached,
    keys: &[String],
    now: i64,
) -> Scored {
    let (attachment, plan) = (&attached.attachment, &attached.plan);
    let types = [TEXT_ARRAY, TEXT_ARRAY, TEXT_ARRAY];
    let events = attached.statement(client, "events of contacts", &types, false, || {
        attachment.events_query(plan, Some(()), "text")
    });
    let contacts = attached.statement(client, "contacts", &[TEXT_ARRAY], false, || {
        attachment.contacts_query(plan, Some(()))
    });
    let mut summaries = Summaries::default();
    let mut scored = as_crm_owner(attachment.crm_owner, |_| {
        let args = [key_array(keys).into(), plan.types_arg(), plan.names_arg()];
        run(client, attached, &events, "reading events", &args);
        fold_rows::<String>(attached, &mut summaries, now);
        run(client, attached, &contacts, "reading contacts", &[key_array(keys).into()]);
        finish_rows(attached, &mut summaries, now)
    });
    // Back in the order of `keys` (the key type's own order, not the text's: 9 before 10).
    let position: HashMap<&str, usize> =
        keys.iter().enumerate().map(|(i, key)| (key.as_str(), i)).collect();
    scored.sort_by_key(|(key, _)| position.get(key.as_str()).copied());
    scored
}

/// Score every contact in one pass over the events table (summaries kept per contact
/// in memory) and one over the contacts in key order, handing results to `sink` a
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

fn score_everyone_by<K: SummaryKey>(
    client: &SpiClient<'_>,
    attached: &Attached,
    now: i64,
    mut sink: impl FnMut(&SpiClient<'_>, &mut Scored, Vec<Option<StoredRow>>),
) -> usize {
    let (attachment, plan) = (&attached.attachment, &attached.plan);
    // Sized for every contact up front: growing it rehashes every summary so far.
    let mut summaries = K::map(attachment.estimated_contacts(client));
    let events = attachment.events_query(plan, None, K::CAST);
    let fold = &mut |row: &SlotRow| fold_row::<K>(attached, &mut summaries, row, now);
    as_crm_owner(attachment.crm_owner, |_| {
        for_each_row(&events, &[plan.types(), plan.names()], fold);
    });

    // The contacts stream from the executor too (no result table to copy each batch
    // into), and go to `sink` a batch at a time.
    let stored_from = 2 + record_column_count(attached);
    let contacts = attachment.contacts_query(plan, None);
    as_crm_owner(attachment.crm_owner, |outer| {
        let mut total = 0;
        let mut scored: Scored = Vec::with_capacity(BATCH);
        let mut stored = Vec::with_capacity(BATCH);
        let mut hand_over = |scored: &mut Scored, stored: &mut Vec<Option<StoredRow>>| {
            if scored.is_empty() {
                return;
            }
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
        for_each_row(&contacts, &[], each);
        hand_over(&mut scored, &mut stored);
        total
    })
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
    let order = attached.statement(client, "key order", &[TEXT_ARRAY], false, || {
        // The output is named `key`, so `ORDER BY k` sorts the keys, not their text.
        format!(
            "SELECT k::text AS key FROM unnest($1::text[]::{key_type}[]) AS k GROUP BY k ORDER BY k"
        )
    });
    run(client, attached, &order, "ordering keys", &[Some(keys).into()])
        .filter_map(|row| row.get::<String>(1).ok().flatten())
        .collect()
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
                Some(Before { tags, disqualified_by: row.disqualified_by })
            })
            .collect();
        let found = settle(attached, &mut scored, &before, cause, now);
        remove_missing(client, attached, batch, &scored);
        write_batch(client, attached, &scored, now);
        record(client, attached, &found, cause, now);
    }
    outcome
}

/// Lock the contacts' state rows in key order (so statements touching overlapping
/// contacts never deadlock) and read what they hold, and their qualification.
fn lock_and_read(
    client: &SpiClient<'_>,
    attached: &Attached,
    keys: &[String],
) -> HashMap<String, (StoredRow, Vec<String>)> {
    let (state, key_type) = (&attached.attachment.state_table, &attached.attachment.key_type);
    let lock = attached.statement(client, "lock and read", &[TEXT_ARRAY], true, || {
        format!(
            "SELECT s.contact_key::text{STORED_COLUMNS}, s.tags
               FROM {state} s WHERE s.contact_key = ANY ($1::text[]::{key_type}[])
              ORDER BY s.contact_key FOR UPDATE"
        )
    });
    let _locked = run(client, attached, &lock, "locking scores", &[key_array(keys).into()]);
    // SAFETY: the rows are read here, before any other statement runs.
    unsafe { current_rows() }
        .filter_map(|row| {
            let key = row.text(1)?.to_owned();
            let stored = StoredRow::read(&row, 2)?;
            let tags = row.text_array(2 + STORED_COLUMN_COUNT).unwrap_or_default();
            Some((key, (stored, tags)))
        })
        .collect()
}

/// A state row locked by the fast path.
struct Locked {
    /// Where the row is: locked, it stays there until this statement updates it, which
    /// then needs no second index lookup.
    tid: pg_sys::ItemPointerData,
    /// What its `count`-limited rules selected (see `LimitState`); `None` when the row
    /// is due (`next_due` at or before now: an event has come due or left a window
    /// since it was written), as its selection may be stale.
    limits: Option<Vec<LimitState>>,
}

/// Lock the contacts' state rows in key order, one entry per key (`keys` are in key
/// order; `None` for a contact without a state row).
fn lock_reading_limits<'a>(
    client: &SpiClient<'_>,
    attached: &Attached,
    keys: impl Iterator<Item = &'a String> + Clone,
    now: i64,
) -> Vec<Option<Locked>> {
    let (state, key_type) = (&attached.attachment.state_table, &attached.attachment.key_type);
    let types = [TEXT_ARRAY, PgOid::BuiltIn(PgBuiltInOids::FLOAT8OID)];
    let lock = attached.statement(client, "lock", &types, true, || {
        format!(
            "SELECT s.contact_key::text, s.ctid,
                    CASE WHEN s.next_due <= to_timestamp($2 / 1e6) THEN NULL
                         ELSE coalesce(s.limits, '{{}}') END
               FROM {state} s
              WHERE s.contact_key = ANY ($1::text[]::{key_type}[])
              ORDER BY s.contact_key FOR UPDATE"
        )
    });
    let key_array: Vec<Option<String>> = keys.clone().cloned().map(Some).collect();
    run(client, attached, &lock, "locking scores", &[key_array.into(), (now as f64).into()]);
    // The rows come in key order, as `keys` do: a merge, no lookup.
    let mut locked = Vec::with_capacity(keys.clone().count());
    let mut keys = keys;
    // SAFETY: the rows are read here, before any other statement runs.
    for row in unsafe { current_rows() } {
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
fn remove_missing(client: &SpiClient<'_>, attached: &Attached, keys: &[String], scored: &Scored) {
    if scored.len() == keys.len() {
        return;
    }
    let (state, key_type) = (&attached.attachment.state_table, &attached.attachment.key_type);
    let types = [TEXT_ARRAY, TEXT_ARRAY, PgOid::BuiltIn(PgBuiltInOids::INT8OID)];
    let delete = attached.statement(client, "remove missing", &types, true, || {
        // A deleted contact's sticky tags go with it (its transitions stay).
        format!(
            "WITH gone AS (
                 DELETE FROM {state} s WHERE s.contact_key = ANY ($1::text[]::{key_type}[])
                    AND NOT s.contact_key = ANY ($2::text[]::{key_type}[])
                 RETURNING s.contact_key::text AS key)
             DELETE FROM lead_score.tag_store t USING gone
              WHERE t.profile_id = $3 AND t.contact_key = gone.key"
        )
    });
    let existing: Vec<Option<String>> = scored.iter().map(|(k, _)| Some(k.clone())).collect();
    let args = [key_array(keys).into(), existing.into(), attached.attachment.profile_id.into()];
    run(client, attached, &delete, "removing deleted contacts", &args);
}

/// A Postgres array literal of integers: `{1,2,3}`.
fn int8_array_literal(values: &[i64]) -> String {
    let items: Vec<String> = values.iter().map(i64::to_string).collect();
    format!("{{{}}}", items.join(","))
}

/// A Postgres array literal of text values: `{"a","b"}`.
fn text_array_literal(values: &[String]) -> String {
    let quoted: Vec<String> = values
        .iter()
        .map(|v| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{{{}}}", quoted.join(","))
}

/// The position (from 1, in its statement's arrays) of a contact the fast path
/// updated, unless it may now cross a threshold (or fading negative points may carry
/// it over one): the full path then settles its qualification.
fn settled_by_adding(attached: &Attached, row: &RawRow, now: i64) -> Option<usize> {
    let position = row.int8(1)? as usize;
    let settings = &attached.compiled.settings;
    if settings.tags().next().is_none() {
        return Some(position);
    }
    let fit = row.float(2)?;
    let engagement = row.decayed(3)?;
    let tags = row.text_array(4).unwrap_or_default();
    let disqualified = row.boolean(5).unwrap_or(false);
    (!may_change(settings, &tags, disqualified, fit, &engagement, now)).then_some(position)
}

/// The fast path's UPDATE: add new sums to the stored ones. `sums` names the nine
/// `SUM_COLUMNS` values, the new `limits` (NULL: unchanged) and the contact's
/// position in the statement, as columns of `from` or parameters. Every stored row agrees
/// with the active version: publish rescores them all in its own transaction, and a
/// writer's cache is never older than the last publish committed before its statement
/// (see `plan_cache`).
fn add_events_sql(attached: &Attached, sums: [&str; 11], from: &str, also: &str) -> String {
    let attachment = &attached.attachment;
    let (state, key_type) = (&attachment.state_table, &attachment.key_type);
    let [key, engagement, dimensions, t1, t2, t3, t4, t5, t6, limits, position] = sums;
    // With thresholds, the contacts that may cross one are settled by the full path.
    let returning = if attached.compiled.settings.tags().next().is_none() {
        format!("{position}::int8")
    } else {
        format!("{position}::int8, s.fit, s.engagement, s.tags, cardinality(s.disqualified_by) > 0")
    };
    format!(
        "UPDATE {state} s
            SET version = $10,
                engagement = s.engagement OPERATOR(lead_score.+) {engagement}::lead_score.decayed,
                dimensions = CASE WHEN {dimensions} IS NULL THEN s.dimensions
                                  ELSE lead_score.dimensions_add(s.dimensions, {dimensions}::jsonb) END,
                tally = ARRAY[s.tally[1] + {t1}, s.tally[2] + {t2}, s.tally[3] + {t3},
                              s.tally[4] + {t4}, s.tally[5] + {t5}, s.tally[6] + {t6}],
                limits = coalesce({limits}::bigint[], s.limits),
                scored_at = to_timestamp($11 / 1e6)
           {from}
          WHERE {also}s.contact_key = {key}::{key_type}
      RETURNING {returning}"
    )
}

/// The first nine parameters of both score writes, one array each, read by `unnest`
/// as `SUM_COLUMNS`: the key, the engagement sum (in its stored layout: no text to
/// parse), the dimension sums (NULL for none) and the tally's six counts.
#[derive(Default)]
struct SumColumns<'a> {
    keys: Vec<Option<String>>,
    engagement: Vec<&'a DecayedSum>,
    dimensions: Vec<Option<String>>,
    tally: [Vec<Option<i64>>; 6],
}

const SUM_UNNEST: &str =
    "$1::text[], $2::lead_score.decayed[], $3::text[], $4::int8[], $5::int8[], $6::int8[], $7::int8[], $8::int8[], $9::int8[]";
const SUM_COLUMNS: &str = "key, engagement, dimensions, t1, t2, t3, t4, t5, t6";

impl<'a> SumColumns<'a> {
    /// The nine parameters' types, then `more`.
    fn types(attached: &Attached, more: &[PgBuiltInOids]) -> Vec<PgOid> {
        let (text, int8) = (PgBuiltInOids::TEXTARRAYOID, PgBuiltInOids::INT8ARRAYOID);
        Self::types_of(text, attached.decayed_types.array, int8, more)
    }

    /// The nine parameters' scalar types (one contact), then `more`.
    fn scalar_types(attached: &Attached, more: &[PgBuiltInOids]) -> Vec<PgOid> {
        let (text, int8) = (PgBuiltInOids::TEXTOID, PgBuiltInOids::INT8OID);
        Self::types_of(text, attached.decayed_types.element, int8, more)
    }

    fn types_of(
        text: PgBuiltInOids,
        decayed: pg_sys::Oid,
        int8: PgBuiltInOids,
        more: &[PgBuiltInOids],
    ) -> Vec<PgOid> {
        let mut types = vec![PgOid::BuiltIn(text), PgOid::Custom(decayed), PgOid::BuiltIn(text)];
        types.extend([PgOid::BuiltIn(int8); 6]);
        types.extend(more.iter().copied().map(PgOid::BuiltIn));
        types
    }

    fn push(
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

    /// The first contact's nine values as scalar parameters, then `more`.
    fn into_scalar_args<'b>(
        self,
        attached: &Attached,
        more: impl IntoIterator<Item = pgrx::datum::DatumWithOid<'b>>,
    ) -> Vec<pgrx::datum::DatumWithOid<'b>> {
        let first = |column: Vec<Option<String>>| column.into_iter().next().flatten();
        let engagement = match self.engagement.first() {
            Some(sum) => attached.decayed_types.value(sum),
            None => pgrx::datum::DatumWithOid::null_oid(attached.decayed_types.element),
        };
        let mut args = vec![first(self.keys).into(), engagement, first(self.dimensions).into()];
        args.extend(
            self.tally.into_iter().map(|column| column.into_iter().next().flatten().into()),
        );
        args.extend(more);
        args
    }

    /// The nine parameters, then `more`.
    fn into_args<'b>(
        self,
        attached: &Attached,
        more: impl IntoIterator<Item = pgrx::datum::DatumWithOid<'b>>,
    ) -> Vec<pgrx::datum::DatumWithOid<'b>> {
        let engagement = attached.decayed_types.array(self.engagement.into_iter());
        let mut args = vec![self.keys.into(), engagement, self.dimensions.into()];
        args.extend(self.tally.into_iter().map(Into::into));
        args.extend(more);
        args
    }
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
    let types = SumColumns::types(
        attached,
        &[
            PgBuiltInOids::FLOAT8ARRAYOID,
            PgBuiltInOids::TEXTARRAYOID,
            PgBuiltInOids::TIMESTAMPTZARRAYOID,
            PgBuiltInOids::INT4OID,
            PgBuiltInOids::FLOAT8OID,
            PgBuiltInOids::TEXTARRAYOID,
        ],
    );
    let upsert = attached.statement(client, "write scores", &types, true, || {
        format!(
            "INSERT INTO {state} AS s (contact_key, version, fit, engagement, dimensions,
                                       disqualified_by, next_due, tally, limits, scored_at)
             SELECT r.key::{key_type}, $13, r.fit, r.engagement::lead_score.decayed,
                    coalesce(r.dimensions::jsonb, '{{}}'), r.disqualified_by::text[],
                    r.next_due,
                    ARRAY[r.t1, r.t2, r.t3, r.t4, r.t5, r.t6], r.limits::bigint[], to_timestamp($14 / 1e6)
               FROM unnest({SUM_UNNEST}, $10::float8[], $11::text[], $12::timestamptz[], $15::text[])
                    AS r({SUM_COLUMNS}, fit, disqualified_by, next_due, limits)
             ON CONFLICT (contact_key) DO UPDATE
                SET version = excluded.version, fit = excluded.fit, engagement = excluded.engagement,
                    dimensions = excluded.dimensions, disqualified_by = excluded.disqualified_by,
                    next_due = excluded.next_due, tally = excluded.tally, limits = excluded.limits,
                    scored_at = excluded.scored_at
              WHERE (s.fit, s.engagement::text, s.dimensions, s.disqualified_by, s.next_due, s.tally, s.limits)
                    IS DISTINCT FROM (excluded.fit, excluded.engagement::text, excluded.dimensions,
                                      excluded.disqualified_by, excluded.next_due, excluded.tally,
                                      excluded.limits)"
        )
    });
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
    let args = sums.into_args(
        attached,
        [
            fit.into(),
            disqualified.into(),
            next_due.into(),
            attached.attachment.version.into(),
            (now as f64).into(),
            limits.into(),
        ],
    );
    run(client, attached, &upsert, "writing scores", &args);
}

/// The fast path for inserted events: a statement's new events, summarised per
/// contact, are added to the contacts' stored sums in SQL without rereading any
/// history, when they are additive (see `EventSummary::is_additive`, and
/// `EventSummary::settle_limits` for events of `count`-limited rules) and the stored
/// row was scored by the active version. Reads the new rows from the trigger's
/// transition table `changed`, which holds `new_row_count` rows. Returns the contacts
/// it could not handle, in key order, for a full recompute.
pub(crate) fn add_inserted_events(
    client: &SpiClient<'_>,
    attached: &Attached,
    new_row_count: i64,
    now: i64,
) -> Vec<String> {
    let summaries = if attached.attachment.integer_keys() {
        new_summaries::<i64>(client, attached, new_row_count, now)
    } else {
        new_summaries::<String>(client, attached, new_row_count, now)
    };
    if summaries.is_empty() {
        return Vec::new();
    }
    // From here on a contact is its place in `summaries`, which is in key order.
    let keys = || summaries.iter().map(|(key, _)| key);
    // One statement locks all its contacts first, in key order: with the updates below
    // locking in whatever order, two statements could deadlock. The same read tells
    // what the contacts' limited rules selected.
    let locking = summaries.len() > 1 || summaries.iter().any(|(_, s)| s.has_candidates());
    let mut locked = Vec::new();
    if locking {
        for batch in summaries.chunks(BATCH) {
            let batch_keys = batch.iter().map(|(key, _)| key);
            locked.extend(lock_reading_limits(client, attached, batch_keys, now));
        }
    }
    // Per contact that can be added to: its place, its summary, and its new limits
    // (None: unchanged). (Borrowed as folded; owned when settling limits changed it.)
    // Without a state row (not inserted yet) it goes to the full path.
    let mut additive: Vec<(usize, Cow<EventSummary>, Option<String>)> = Vec::new();
    for (place, (_, summary)) in summaries.iter().enumerate() {
        let row = locked.get(place).and_then(Option::as_ref);
        if locking && row.is_none() {
            continue;
        }
        if summary.is_additive() {
            additive.push((place, Cow::Borrowed(summary), None));
        } else if summary.has_candidates() {
            let settled = row
                .and_then(|row| row.limits.as_ref())
                .and_then(|stored| summary.settle_limits(&attached.compiled, stored))
                .filter(|(settled, _)| settled.is_additive());
            if let Some((settled, limits)) = settled {
                let flat = LimitState::flatten(&limits);
                additive.push((place, Cow::Owned(settled), Some(int8_array_literal(&flat))));
            }
        }
    }
    let mut added = vec![false; summaries.len()];
    // After the sums: version, now, and the new limits (one, or an array of them).
    let (version, now_type) = (PgBuiltInOids::INT4OID, PgBuiltInOids::FLOAT8OID);
    if let [(place, summary, limits)] = &additive[..] {
        // The usual single-row INSERT: scalar parameters straight into the UPDATE (no
        // unnest, which materialises its rows in a tuplestore on every call).
        let add = attached.statement(
            client,
            "add one contact's events",
            &SumColumns::scalar_types(attached, &[version, now_type, PgBuiltInOids::TEXTOID]),
            true,
            || {
                let params = ["$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$12", "1"];
                add_events_sql(attached, params, "", "")
            },
        );
        let mut sums = SumColumns::default();
        sums.push(&summaries[*place].0, &summary.engagement, &summary.dimensions, summary.tally);
        let args = sums.into_scalar_args(
            attached,
            [attached.attachment.version.into(), (now as f64).into(), limits.clone().into()],
        );
        run(client, attached, &add, "adding new events", &args);
        // SAFETY: the rows are read here, before any other statement runs.
        if unsafe { current_rows() }.any(|row| settled_by_adding(attached, &row, now).is_some()) {
            added[*place] = true;
        }
    } else if !additive.is_empty() {
        let more = [version, now_type, PgBuiltInOids::TEXTARRAYOID, PgBuiltInOids::TIDARRAYOID];
        let types = SumColumns::types(attached, &more);
        let add = attached.statement(client, "add new events", &types, true, || {
            let from = format!(
                "FROM unnest({SUM_UNNEST}, $12::text[], $13::tid[])
                      WITH ORDINALITY AS r({SUM_COLUMNS}, limits, tid, n)"
            );
            let columns = [
                "r.key",
                "r.engagement",
                "r.dimensions",
                "r.t1",
                "r.t2",
                "r.t3",
                "r.t4",
                "r.t5",
                "r.t6",
                "r.limits",
                "r.n",
            ];
            // Each row where its lock found it (the key too, should it not be there).
            add_events_sql(attached, columns, &from, "s.ctid = r.tid AND ")
        });
        for batch in additive.chunks(BATCH) {
            let mut sums = SumColumns::default();
            let mut limits = Vec::new();
            let mut tids = Vec::new();
            for (place, summary, new_limits) in batch {
                let key = &summaries[*place].0;
                sums.push(key, &summary.engagement, &summary.dimensions, summary.tally);
                limits.push(new_limits.clone());
                // (Several contacts: all were locked, only those found are here.)
                tids.extend(locked[*place].as_ref().map(|row| row.tid));
            }
            let args = sums.into_args(
                attached,
                [
                    attached.attachment.version.into(),
                    (now as f64).into(),
                    limits.into(),
                    tid_array(&tids),
                ],
            );
            run(client, attached, &add, "adding new events", &args);
            // SAFETY: the rows are read here, before any other statement runs.
            let updated = unsafe { current_rows() };
            for position in updated.filter_map(|row| settled_by_adding(attached, &row, now)) {
                // (`n` counts from 1 within the batch.)
                if let Some((place, _, _)) = batch.get(position.wrapping_sub(1)) {
                    added[*place] = true;
                }
            }
        }
    }
    // The rest, still in key order: events that need history, and contacts without a
    // state row (not inserted yet).
    keys().zip(added).filter(|(_, added)| !added).map(|(key, _)| key.clone()).collect()
}

/// A statement's new events (the trigger's transition table `changed`, `new_row_count`
/// rows), summarised per contact, in key order.
fn new_summaries<K: SummaryKey>(
    client: &SpiClient<'_>,
    attached: &Attached,
    new_row_count: i64,
    now: i64,
) -> Vec<(String, EventSummary)> {
    let (attachment, plan) = (&attached.attachment, &attached.plan);
    let new_rows = || {
        format!(
            "{} WHERE e.{} IS NOT NULL",
            attachment.events_select(plan, "changed", "$1", "$2", K::CAST),
            attachment.event_contact
        )
    };
    // (No more contacts than rows.)
    let mut summaries = K::map(new_row_count.max(0) as usize);
    as_crm_owner(attachment.crm_owner, |_| {
        if new_row_count <= STREAM_FROM {
            // The usual few rows: a plan prepared once, its result read in one go.
            let types = [TEXT_ARRAY, TEXT_ARRAY];
            let new_rows = attached.statement(client, "new events", &types, false, new_rows);
            let args = [plan.types_arg(), plan.names_arg()];
            run(client, attached, &new_rows, "reading new events", &args);
            fold_rows::<K>(attached, &mut summaries, now);
        } else {
            // Many: straight from the executor, no result table (planning once is
            // nothing beside them).
            let fold = &mut |row: &SlotRow| fold_row::<K>(attached, &mut summaries, row, now);
            for_each_row(&new_rows(), &[plan.types(), plan.names()], fold);
        }
    });
    K::sorted(client, attached, summaries)
}
