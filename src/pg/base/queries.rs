//! What the active rules read, and the queries that read it: the SQL texts are rendered
//! from an attachment and its `FactsPlan` (every relation schema-qualified, every name
//! quoted by `attachment::ident`, every value a parameter); two catalog reads complete
//! the plan (`learn_column_types`) and estimate the contacts (`estimated_contacts`).

use std::collections::HashSet;

use pgrx::pg_sys;
use pgrx::spi::SpiClient;

use crate::pg::base::attachment::{ident, Accounts, Attachment, Quoted};
use crate::pg::base::errors::{spi_failed, texts};
use crate::pg::base::params::{Params, Placeholder};
use crate::pg::base::state_table::stored_columns;
use lead_score_core::condition::Source;
use lead_score_core::engine::CompiledProfile;
use lead_score_core::record_facts::ColumnLayout;
use lead_score_core::rule::Rule;

/// What the active rules read, so that queries fetch only that: whole rows as JSON
/// would cost a conversion and a parse per column nobody looks at.
pub(crate) struct FactsPlan {
    /// The contact and account columns fit and disqualifier rules read.
    pub layout: ColumnLayout,
    /// Per column of `layout` (contacts', then accounts'): whether its type is read as
    /// it is (numbers, booleans, text) rather than as its JSON form.
    pub(crate) plain: Vec<bool>,
    pub(crate) event_columns: Vec<String>,
    pub(crate) props: bool,
    /// Types of the events whose rules have a condition: only those need facts.
    pub(crate) condition_types: Vec<String>,
}

/// Column types read as they are; any other type is read as its JSON form (`to_jsonb`).
/// `float4` is not among them: its JSON form is its shortest decimal spelling, which
/// widening it to a double would not give. `json` is: its strings may hold `\u0000`,
/// which no jsonb can, and the rules read its text (see `jsonb::json_text_to_json`).
/// (`int2`, `int4`, `int8`, `float8`, `bool`, `text`, `varchar`, `json`, by oid.)
pub(crate) const PLAIN_TYPES: &str = "'{21,23,20,701,16,25,1043,114}'::pg_catalog.oid[]";

impl FactsPlan {
    pub(crate) fn of(compiled: &CompiledProfile) -> FactsPlan {
        let mut plan = FactsPlan {
            layout: ColumnLayout::default(),
            plain: Vec::new(),
            event_columns: Vec::new(),
            props: false,
            condition_types: Vec::new(),
        };
        let stage_fields = compiled.stage_conditions().flat_map(|(_, when)| when.fields());
        for field in compiled.rules.iter().flat_map(|(_, rule)| rule.fields()).chain(stage_fields) {
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
        for (_, rule) in &compiled.rules {
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
            let found = client.select(query.as_str(), None, &[relation.into()]);
            texts(found, attachment, "reading column types").into_iter().collect()
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
    pub(crate) fn record_columns(&self, with_account: bool) -> String {
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
    /// Bind the two parameters every events query takes: the event types whose rules
    /// have conditions (only those need facts), and the facts' keys (`names`).
    pub(crate) fn bind(&self, params: &mut Params<'_>) -> FactsParams {
        let types: Vec<Option<String>> = self.condition_types.iter().cloned().map(Some).collect();
        FactsParams { types: params.bind(types), names: params.bind(self.names()) }
    }

    /// The keys of the events' facts documents, in `json_of`'s order: the event
    /// columns the rules read, then `props`. Passed as a text[] parameter.
    pub(crate) fn names(&self) -> Vec<Option<String>> {
        let props = self.props.then(|| "props".to_owned());
        self.event_columns.iter().cloned().chain(props).map(Some).collect()
    }
}

/// Where an events query finds the event types whose rules have conditions and the
/// facts' keys (see `FactsPlan::bind`).
#[derive(Clone, Copy)]
pub(crate) struct FactsParams {
    pub(crate) types: Placeholder,
    pub(crate) names: Placeholder,
}

/// `jsonb_build_object(<names>[1], e."a", ...)` over the event columns the rules read,
/// and the properties: the keys come from the text[] parameter `names` (see
/// `FactsPlan::names`), so no column name is ever spelled as a literal.
/// A `json` properties column (`props_json`) makes the facts a json object, built
/// without converting the properties to jsonb (which refuses `\u0000`).
pub(crate) fn json_of(
    columns: &[String],
    props: Option<&Quoted>,
    props_json: bool,
    names: Placeholder,
) -> String {
    let values =
        columns.iter().map(|c| format!("e.{}", ident(c))).chain(props.map(|p| format!("e.{p}")));
    let pairs: Vec<String> = values
        .enumerate()
        .map(|(i, value)| format!("({names}::pg_catalog.text[])[{}], {value}", i + 1))
        .collect();
    if pairs.is_empty() {
        "'{}'::pg_catalog.jsonb".to_owned()
    } else {
        let build =
            if props_json && props.is_some() { "json_build_object" } else { "jsonb_build_object" };
        format!("pg_catalog.{build}({})", pairs.join(", "))
    }
}

impl Attachment {
    /// Whether contact keys are integers (`smallint`, `integer`, `bigint`).
    pub(crate) fn integer_keys(&self) -> bool {
        matches!(self.key_type_oid, pg_sys::INT2OID | pg_sys::INT4OID | pg_sys::INT8OID)
    }

    /// The planner's estimate of how many contacts there are (0 if it has none).
    pub(crate) fn estimated_contacts(&self, client: &SpiClient<'_>) -> usize {
        let estimate = client
            .select(
                "SELECT reltuples FROM pg_catalog.pg_class WHERE oid OPERATOR(pg_catalog.=) $1",
                Some(1),
                &[self.contacts_oid.into()],
            )
            .and_then(|rows| rows.first().get_one::<f32>())
            .unwrap_or_else(|e| spi_failed(self, "estimating the contacts", e));
        // Capped: a wild estimate should not reserve gigabytes.
        estimate.map_or(0, |n| n.clamp(0.0, 20_000_000.0) as usize)
    }

    /// What a full pass working through key ranges compares keys as: the integer for
    /// integer keys, else the key's text in byte order, which is what the pass joins
    /// events to contacts by (so a contact and its events always fall in one range,
    /// whatever the columns' types and collations). Bounds bind as `int8` or `text`.
    pub(crate) fn range_key(&self, key: &str) -> String {
        if self.integer_keys() {
            format!("{key}::pg_catalog.int8")
        } else {
            format!("({key}::pg_catalog.text) COLLATE pg_catalog.\"C\"")
        }
    }

    /// ` AND` the range key of `key` (an expression) is after `after` and up to `upto`
    /// (either side open when `None`); nothing when both are.
    pub(crate) fn key_in_range(
        &self,
        key: &str,
        after: Option<Placeholder>,
        upto: Option<Placeholder>,
    ) -> String {
        let key = self.range_key(key);
        let mut condition = String::new();
        if let Some(after) = after {
            condition += &format!(" AND {key} OPERATOR(pg_catalog.>) {after}");
        }
        if let Some(upto) = upto {
            condition += &format!(" AND {key} OPERATOR(pg_catalog.<=) {upto}");
        }
        condition
    }

    /// A sample of about `share` (0 to 100 percent) of the contacts' range keys (see
    /// `range_key`), whole pages of the table at random, the same ones every time.
    pub(crate) fn sample_keys_query(&self, share: Placeholder) -> String {
        format!(
            "SELECT {key} FROM {contacts} c TABLESAMPLE SYSTEM ({share}) REPEATABLE (0)
              WHERE c.{column} IS NOT NULL",
            key = self.range_key(&format!("c.{}", self.contact_key)),
            contacts = self.contacts,
            column = self.contact_key,
        )
    }

    /// That no contact has the key `key` (an expression of the key type).
    pub(crate) fn no_contact(&self, key: &str) -> String {
        format!("NOT EXISTS (SELECT FROM {} c WHERE c.{} = {key})", self.contacts, self.contact_key)
    }

    /// That no contact's key has the text `key`: a key of another type, left from before
    /// a re-attach, matches none instead of failing to convert.
    pub(crate) fn no_contact_by_text(&self, key: &str) -> String {
        format!(
            "NOT EXISTS (SELECT FROM {} c WHERE c.{}::text = {key})",
            self.contacts, self.contact_key
        )
    }

    /// The contacts' keys and the columns their rules read (`FactsPlan::layout`): those
    /// given (keys as text), or every contact in key order, followed by its state row's
    /// `state_table::stored_columns` (NULLs for a contact without one).
    pub(crate) fn contacts_query(&self, plan: &FactsPlan, which: Contacts) -> String {
        let (key, contacts, key_type) = (&self.contact_key, &self.contacts, &self.key_type);
        let (stored, filter) = match which {
            Contacts::Given(keys) => {
                (String::new(), format!("WHERE c.{key} = ANY ({keys}::text[]::{key_type}[])"))
            }
            Contacts::All => (
                format!("LEFT JOIN {} s ON s.contact_key = c.{key}", self.state_table),
                format!("WHERE c.{key} IS NOT NULL ORDER BY c.{key}"),
            ),
            Contacts::Between(after, upto) => (
                format!("LEFT JOIN {} s ON s.contact_key = c.{key}", self.state_table),
                format!(
                    "WHERE c.{key} IS NOT NULL{range} ORDER BY c.{key}",
                    range = self.key_in_range(&format!("c.{key}"), after, upto)
                ),
            ),
        };
        let stored_columns =
            if stored.is_empty() { String::new() } else { stored_columns(self.stages_stored) };
        match &self.accounts {
            Some(Accounts { table: accounts, contact_account, account_key })
                if !plan.layout.account.is_empty() =>
            {
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

    /// The events of the given contacts (keys as text), or all events.
    pub(crate) fn events_query(
        &self,
        plan: &FactsPlan,
        which: Contacts,
        facts: FactsParams,
        key_cast: &str,
    ) -> String {
        let filter = match which {
            Contacts::Given(keys) => format!("= ANY ({keys}::text[]::{}[])", self.key_type),
            Contacts::All => "IS NOT NULL".to_owned(),
            Contacts::Between(after, upto) => format!(
                "IS NOT NULL{}",
                self.key_in_range(&format!("e.{}", self.event_contact), after, upto)
            ),
        };
        format!(
            "{} WHERE e.{} {filter}",
            self.events_select(plan, &self.events, facts, key_cast),
            self.event_contact
        )
    }

    /// The event's time as a timestamptz, for any value its column holds. A `date` or
    /// `timestamp` near the ends of its range has no timestamptz (the ranges differ, and
    /// the session's time zone shifts it): later ones read as `infinity` (a future that
    /// never comes), earlier ones as the earliest timestamptz; never an error.
    pub(crate) fn event_time_sql(&self) -> String {
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
    /// trigger's transition table).
    pub(crate) fn events_select(
        &self,
        plan: &FactsPlan,
        relation: &Quoted,
        FactsParams { types, names }: FactsParams,
        key_cast: &str,
    ) -> String {
        let props = match (&self.event_props, plan.props) {
            (Some(p), true) => Some(p),
            _ => None,
        };
        let facts = if plan.condition_types.is_empty() {
            "NULL::jsonb".to_owned()
        } else {
            format!(
                "CASE WHEN e.{event_type}::text = ANY ({types}::text[]) THEN {json} END",
                event_type = self.event_type,
                json = json_of(&plan.event_columns, props, self.event_props_json, names)
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

/// Keys (as text) as a text[] parameter.
pub(crate) fn key_array(keys: &[String]) -> Vec<Option<String>> {
    keys.iter().cloned().map(Some).collect()
}

/// Which contacts a query reads: those whose keys (as text) are in a parameter, all,
/// or those in a key range (see `Attachment::key_in_range`).
#[derive(Clone, Copy)]
pub(crate) enum Contacts {
    Given(Placeholder),
    All,
    /// Keys after the first parameter and up to the second (`None`: open on that side).
    Between(Option<Placeholder>, Option<Placeholder>),
}

impl Contacts {
    /// The contacts between two bounds (see `Between`); all when both sides are open.
    pub(crate) fn in_range((after, upto): (Option<Placeholder>, Option<Placeholder>)) -> Contacts {
        if after.is_none() && upto.is_none() {
            Contacts::All
        } else {
            Contacts::Between(after, upto)
        }
    }
}

/// Which attached table a trigger watches.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) enum Watched {
    Events,
    Contacts,
    Accounts,
}
