//! Reading `train`'s candidate rules from the attached tables' own data (as their
//! owner): frequent values, quartiles and emptiness of the contacts' and accounts'
//! columns, one reader per type family, and the frequent event types and their
//! properties. What a value becomes is the core's (`lead_score_core::candidates`).

use std::collections::HashMap;

use pgrx::prelude::*;
use pgrx::spi::SpiClient;

use crate::pg::base::attached::Attached;
use crate::pg::base::attachment::{ident, Attachment, Quoted};
use crate::pg::base::clock::from_unix_micros;
use crate::pg::base::errors::spi_failed;
use crate::pg::base::errors::{raise, Failure};
use crate::pg::base::params::Params;
use crate::pg::base::rights::as_crm_owner;
use lead_score_core::candidates::{
    frequent, identifying, keep_valid, plain_name, Candidate, EventRule,
};
use lead_score_core::learning::Split;

/// At most this many values of one column (every level of most categories; each must
/// still be `frequent`), and event types, become candidates.
const VALUES_PER_COLUMN: i64 = 60;
const EVENT_TYPES: i64 = 25;

/// Event properties become candidates for this many of the most frequent event types,
/// at most `PROPS_PER_TYPE` each (see `EventRule::of_property`).
const PROPS_TYPES: usize = 10;
const PROPS_PER_TYPE: usize = 2;

/// The columns of `table` a fit rule can name, with their type oids.
fn usable_columns(
    client: &SpiClient<'_>,
    attached: &Attached,
    table: pg_sys::Oid,
) -> Vec<(String, pg_sys::Oid)> {
    let what = "listing the columns to learn from";
    let rows = client
        .select(
            "SELECT a.attname::pg_catalog.text, a.atttypid FROM pg_catalog.pg_attribute a
              WHERE a.attrelid OPERATOR(pg_catalog.=) $1 AND a.attnum OPERATOR(pg_catalog.>) 0
                AND NOT a.attisdropped ORDER BY a.attnum",
            None,
            &[table.into()],
        )
        .unwrap_or_else(|e| spi_failed(&attached.attachment, what, e));
    let mut found = Vec::new();
    for row in rows {
        check_for_interrupts!();
        let name =
            row.get::<String>(1).unwrap_or_else(|e| spi_failed(&attached.attachment, what, e));
        let oid =
            row.get::<pg_sys::Oid>(2).unwrap_or_else(|e| spi_failed(&attached.attachment, what, e));
        let (Some(name), Some(oid)) = (name, oid) else { continue };
        if plain_name(&name) {
            found.push((name, oid));
        }
    }
    found
}

/// One column being read for candidates: its table (as `c`), its name as SQL, and the
/// field rules read it as.
struct Column<'a> {
    table: &'a Quoted,
    column: Quoted,
    field: String,
}

const WHAT: &str = "reading the values to learn from";

/// The fit candidates of one table's columns (`prefix` "" for the contacts, "account."
/// for the accounts): whether a column is empty, then what its type family offers.
/// Read as the tables' owner.
fn column_candidates(
    client: &SpiClient<'_>,
    attached: &Attached,
    table: &Quoted,
    columns: &[(String, pg_sys::Oid)],
    prefix: &str,
    identifiers: &[String],
    found: &mut Vec<Candidate>,
) {
    for (name, oid) in columns {
        check_for_interrupts!();
        let column = Column { table, column: ident(name), field: format!("{prefix}{name}") };
        let text = matches!(*oid, pg_sys::TEXTOID | pg_sys::VARCHAROID);
        let Some((total, present, distinct)) = counts(client, attached, &column, text) else {
            continue;
        };
        // Names, emails and keys say who a contact is, not what it is like.
        if identifying(name, text, distinct, present) && !identifiers.contains(&column.field) {
            continue;
        }
        if frequent((total - present) as f64 / total as f64) {
            found.push(Candidate::is_empty(&column.field));
        }
        match *oid {
            pg_sys::TEXTOID | pg_sys::VARCHAROID => {
                text_candidates(client, attached, &column, total, found)
            }
            pg_sys::BOOLOID => boolean_candidates(client, attached, &column, total, found),
            pg_sys::TIMESTAMPTZOID | pg_sys::TIMESTAMPOID | pg_sys::DATEOID => {
                time_candidates(client, attached, &column, *oid, found)
            }
            pg_sys::INT2OID
            | pg_sys::INT4OID
            | pg_sys::INT8OID
            | pg_sys::FLOAT4OID
            | pg_sys::FLOAT8OID
            | pg_sys::NUMERICOID => number_candidates(client, attached, &column, *oid, found),
            _ => {}
        }
    }
}

/// How many rows the column's table has, how many of them hold a value, and (for a
/// `text` column, else 0) how many different values; none for an empty table.
fn counts(
    client: &SpiClient<'_>,
    attached: &Attached,
    column: &Column,
    text: bool,
) -> Option<(i64, i64, i64)> {
    let Column { table, column, .. } = column;
    let distinct =
        if text { format!("pg_catalog.count(DISTINCT c.{column})") } else { "0".to_owned() };
    let counts = client
        .select(
            &format!(
                "SELECT pg_catalog.count(*), pg_catalog.count(c.{column}), {distinct}::pg_catalog.int8
                   FROM {table} c"
            ),
            Some(1),
            &[],
        )
        .and_then(|rows| rows.first().get_three::<i64, i64, i64>())
        .unwrap_or_else(|e| spi_failed(&attached.attachment, WHAT, e));
    match counts {
        (Some(total), Some(present), Some(distinct)) if total > 0 => {
            Some((total, present, distinct))
        }
        _ => None,
    }
}

/// The column's most frequent values (as text), each with its count, the most frequent
/// first.
fn frequent_values(
    client: &SpiClient<'_>,
    attached: &Attached,
    column: &Column,
) -> Vec<(String, i64)> {
    let Column { table, column, .. } = column;
    let rows = client
        .select(
            &format!(
                "SELECT c.{column}::pg_catalog.text, pg_catalog.count(*) FROM {table} c
                  WHERE c.{column} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT $1"
            ),
            None,
            &[VALUES_PER_COLUMN.into()],
        )
        .unwrap_or_else(|e| spi_failed(&attached.attachment, WHAT, e));
    let mut found = Vec::new();
    for row in rows {
        check_for_interrupts!();
        let value =
            row.get::<String>(1).unwrap_or_else(|e| spi_failed(&attached.attachment, WHAT, e));
        let count = row.get::<i64>(2).unwrap_or_else(|e| spi_failed(&attached.attachment, WHAT, e));
        if let (Some(value), Some(count)) = (value, count) {
            found.push((value, count));
        }
    }
    found
}

/// A text column: equals each of its frequent values (of `total` rows).
fn text_candidates(
    client: &SpiClient<'_>,
    attached: &Attached,
    column: &Column,
    total: i64,
    found: &mut Vec<Candidate>,
) {
    for (value, count) in frequent_values(client, attached, column) {
        check_for_interrupts!();
        if frequent(count as f64 / total as f64) {
            found.push(Candidate::equals(&column.field, &value));
        }
    }
}

/// A boolean column: is true, when frequent (of `total` rows).
fn boolean_candidates(
    client: &SpiClient<'_>,
    attached: &Attached,
    column: &Column,
    total: i64,
    found: &mut Vec<Candidate>,
) {
    for (value, count) in frequent_values(client, attached, column) {
        check_for_interrupts!();
        if value == "true" && frequent(count as f64 / total as f64) {
            found.push(Candidate::is_true(&column.field));
        }
    }
}

/// A date or timestamp column (`oid`): the quartiles of the age in whole days, as
/// "within" tests (which the scoring judges as of each contact's instant).
fn time_candidates(
    client: &SpiClient<'_>,
    attached: &Attached,
    column: &Column,
    oid: pg_sys::Oid,
    found: &mut Vec<Candidate>,
) {
    let Column { table, column, field } = column;
    // A date or timestamp beyond timestamptz's range (scoring reads those as infinite)
    // is skipped, as the infinite ones are: cast, it would fail the whole train.
    let in_range = match oid {
        pg_sys::DATEOID => format!(
            " AND c.{column} OPERATOR(pg_catalog.<=) '294276-12-29'::pg_catalog.date
              AND c.{column} OPERATOR(pg_catalog.>=) '4714-11-26 BC'::pg_catalog.date"
        ),
        pg_sys::TIMESTAMPOID => format!(
            " AND c.{column} OPERATOR(pg_catalog.<=) '294276-12-29 00:00'::pg_catalog.timestamp
              AND c.{column} OPERATOR(pg_catalog.>=) '4714-11-26 00:00 BC'::pg_catalog.timestamp"
        ),
        _ => String::new(),
    };
    let rows = client
        .select(
            &format!(
                "SELECT DISTINCT q FROM pg_catalog.unnest((
                     SELECT pg_catalog.percentile_disc(ARRAY[0.25, 0.5, 0.75]::pg_catalog.float8[])
                            WITHIN GROUP (ORDER BY pg_catalog.ceil(pg_catalog.date_part('epoch',
                                lead_score.now() OPERATOR(pg_catalog.-) c.{column}::pg_catalog.timestamptz)
                                OPERATOR(pg_catalog./) 86400))
                       FROM {table} c WHERE pg_catalog.isfinite(c.{column}){in_range})) AS q
                  WHERE q OPERATOR(pg_catalog.>=) 1 ORDER BY q"
            ),
            None,
            &[],
        )
        .unwrap_or_else(|e| spi_failed(&attached.attachment, WHAT, e));
    for row in rows {
        check_for_interrupts!();
        let days = row.get::<f64>(1).unwrap_or_else(|e| spi_failed(&attached.attachment, WHAT, e));
        found.extend(days.and_then(|days| Candidate::within_days(field, days)));
    }
}

/// A number column (`oid`): at least each of its quartiles.
fn number_candidates(
    client: &SpiClient<'_>,
    attached: &Attached,
    column: &Column,
    oid: pg_sys::Oid,
    found: &mut Vec<Candidate>,
) {
    let Column { table, column, field } = column;
    // A numeric beyond float8's range reads as an infinity (never a threshold) and one
    // too small for it as 0: cast, it would fail the whole train.
    let value = if oid == pg_sys::NUMERICOID {
        format!(
            "CASE WHEN c.{column} OPERATOR(pg_catalog.>) 1.7976931348623157e308
                  THEN 'infinity'::pg_catalog.float8
                  WHEN c.{column} OPERATOR(pg_catalog.<) -1.7976931348623157e308
                  THEN '-infinity'::pg_catalog.float8
                  WHEN pg_catalog.abs(c.{column}) OPERATOR(pg_catalog.<) 2.2250738585072014e-308
                  THEN 0::pg_catalog.float8
                  ELSE c.{column}::pg_catalog.float8 END"
        )
    } else {
        format!("c.{column}::pg_catalog.float8")
    };
    let rows = client
        .select(
            &format!(
                "SELECT DISTINCT q FROM pg_catalog.unnest((
                     SELECT pg_catalog.percentile_disc(ARRAY[0.25, 0.5, 0.75]::pg_catalog.float8[])
                            WITHIN GROUP (ORDER BY {value})
                       FROM {table} c WHERE c.{column} IS NOT NULL)) AS q
                  WHERE q IS NOT NULL ORDER BY q"
            ),
            None,
            &[],
        )
        .unwrap_or_else(|e| spi_failed(&attached.attachment, WHAT, e));
    for row in rows {
        check_for_interrupts!();
        let threshold =
            row.get::<f64>(1).unwrap_or_else(|e| spi_failed(&attached.attachment, WHAT, e));
        found.extend(threshold.and_then(|threshold| Candidate::at_least(field, threshold)));
    }
}

/// Event candidates on the properties of the most frequent event types (read as the
/// tables' owner): see `EventRule::of_property`; at most `PROPS_PER_TYPE` per type, the
/// most frequent first.
fn props_candidates(
    client: &SpiClient<'_>,
    attached: &Attached,
    known: &Known,
    types: &[(String, i64)],
    half_lives: &[(String, f64)],
    found: &mut Vec<Candidate>,
) {
    let attachment = &attached.attachment;
    let Some(props) = &attachment.event_props else { return };
    let what = "reading the event properties to learn from";
    let names: Vec<Option<String>> =
        types.iter().take(PROPS_TYPES).map(|(t, _)| Some(t.clone())).collect();
    let count_of: HashMap<&str, i64> = types.iter().map(|(t, n)| (t.as_str(), *n)).collect();
    // A json properties column may hold "\u0000", which no jsonb can: such an event's
    // properties offer no candidates (cast, they would fail the whole train).
    let object = if attachment.event_props_json {
        format!(
            "CASE WHEN pg_catalog.json_typeof(e.{props}) OPERATOR(pg_catalog.=) 'object'
                   AND pg_catalog.strpos(e.{props}::pg_catalog.text,
                                         pg_catalog.chr(92) OPERATOR(pg_catalog.||) 'u0000') OPERATOR(pg_catalog.=) 0
                  THEN e.{props}::pg_catalog.jsonb ELSE '{{}}'::pg_catalog.jsonb END"
        )
    } else {
        format!(
            "CASE WHEN pg_catalog.jsonb_typeof(e.{props}::pg_catalog.jsonb) OPERATOR(pg_catalog.=) 'object'
                  THEN e.{props}::pg_catalog.jsonb ELSE '{{}}'::pg_catalog.jsonb END"
        )
    };
    // Per type and key: each text value with its count, and numbers as one group with
    // their median. (The aggregate sees every group's rows, text ones too: only numbers
    // are cast.)
    let mut params = Params::default();
    let events = known.events(attachment, &mut params);
    let names = params.bind(names);
    let rows = client
        .select(
            &format!(
                "SELECT e.{type_}::pg_catalog.text, p.key, pg_catalog.jsonb_typeof(p.value),
                        CASE WHEN pg_catalog.jsonb_typeof(p.value) OPERATOR(pg_catalog.=) 'string'
                             THEN p.value OPERATOR(pg_catalog.#>>) '{{}}' END,
                        pg_catalog.count(*),
                        CASE WHEN pg_catalog.jsonb_typeof(p.value) OPERATOR(pg_catalog.=) 'number'
                             THEN (pg_catalog.percentile_disc(0.5) WITHIN GROUP
                                   (ORDER BY CASE WHEN pg_catalog.jsonb_typeof(p.value) OPERATOR(pg_catalog.=) 'number'
                                             THEN (p.value OPERATOR(pg_catalog.#>>) '{{}}')::pg_catalog.numeric END))::pg_catalog.text END
                   FROM {events} CROSS JOIN LATERAL pg_catalog.jsonb_each({object}) p
                  WHERE e.{type_}::pg_catalog.text OPERATOR(pg_catalog.=) ANY ({names}::pg_catalog.text[])
                    AND pg_catalog.jsonb_typeof(p.value) OPERATOR(pg_catalog.=) ANY (ARRAY['string', 'number'])
                  GROUP BY 1, 2, 3, 4 ORDER BY 5 DESC, 1, 2, 4",
                type_ = attachment.event_type,
            ),
            None,
            params.args(),
        )
        .unwrap_or_else(|e| spi_failed(attachment, what, e));
    let mut per_type: HashMap<String, usize> = HashMap::new();
    for row in rows {
        check_for_interrupts!();
        let text =
            |i: usize| row.get::<String>(i).unwrap_or_else(|e| spi_failed(attachment, what, e));
        let (Some(event_type), Some(key), Some(kind)) = (text(1), text(2), text(3)) else {
            continue;
        };
        let count =
            row.get::<i64>(5).unwrap_or_else(|e| spi_failed(attachment, what, e)).unwrap_or(0);
        let Some(&total) = count_of.get(event_type.as_str()) else { continue };
        if per_type.get(&event_type).copied().unwrap_or(0) >= PROPS_PER_TYPE {
            continue;
        }
        let share = count as f64 / total.max(1) as f64;
        let (value, median) = (text(4), text(6));
        let Some(rule) = EventRule::of_property(
            &event_type,
            &key,
            &kind,
            value.as_deref(),
            median.as_deref(),
            share,
        ) else {
            continue;
        };
        *per_type.entry(event_type).or_default() += 1;
        rule.push_candidates(half_lives, found);
    }
}

/// What training may draw event candidates from: the training split's contacts (keys as
/// text), each with its instant. Their events up to those instants are what the model
/// learns from, so candidates read nothing later (no event after a contact's instant
/// can change a rule) and nothing of the contacts the model is validated and tested on.
pub(crate) struct Known {
    keys: Vec<Option<String>>,
    instants: Vec<Option<TimestampWithTimeZone>>,
}

impl Known {
    pub(crate) fn of(outcomes: &[(String, bool, i64, Split)]) -> Known {
        let training = || outcomes.iter().filter(|(_, _, _, split)| *split == Split::Train);
        Known {
            keys: training().map(|(key, _, _, _)| Some(key.clone())).collect(),
            instants: training().map(|(_, _, at, _)| Some(from_unix_micros(*at))).collect(),
        }
    }

    /// The known events as a FROM item `e`: each event of a training contact at or
    /// before the contact's instant (as scoring counts them), bound into `params`.
    fn events(&self, attachment: &Attachment, params: &mut Params<'_>) -> String {
        let keys = params.bind(self.keys.clone());
        let instants = params.bind(self.instants.clone());
        format!(
            "{events} e JOIN ROWS FROM (pg_catalog.unnest({keys}::pg_catalog.text[]::{key_type}[]),
                                        pg_catalog.unnest({instants}::pg_catalog.timestamptz[])) AS known(contact, at)
               ON e.{contact} OPERATOR(pg_catalog.=) known.contact
              AND {time} OPERATOR(pg_catalog.<=) known.at",
            events = attachment.events,
            key_type = attachment.key_type,
            contact = attachment.event_contact,
            time = attachment.event_time_sql()
        )
    }
}

/// The most frequent event types of the known events, each with its count, the most
/// frequent first.
fn event_types(
    client: &SpiClient<'_>,
    attachment: &Attachment,
    known: &Known,
) -> Vec<(String, i64)> {
    let what = "reading the event types to learn from";
    let mut params = Params::default();
    let events = known.events(attachment, &mut params);
    let limit = params.bind(EVENT_TYPES);
    let rows = client
        .select(
            &format!(
                "SELECT e.{type_}::pg_catalog.text, pg_catalog.count(*) FROM {events}
                  WHERE e.{type_} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {limit}",
                type_ = attachment.event_type,
            ),
            None,
            params.args(),
        )
        .unwrap_or_else(|e| spi_failed(attachment, what, e));
    let mut types: Vec<(String, i64)> = Vec::new();
    for row in rows {
        check_for_interrupts!();
        let event_type = row.get::<String>(1).unwrap_or_else(|e| spi_failed(attachment, what, e));
        let count = row.get::<i64>(2).unwrap_or_else(|e| spi_failed(attachment, what, e));
        if let (Some(event_type), Some(count)) = (event_type, count) {
            types.push((event_type, count));
        }
    }
    types
}

/// Every candidate rule, from the attached tables' own data (read as their owner): fit
/// rules on the contacts' and accounts' columns, and event rules per frequent event type
/// with each of `half_lives`. Only candidates the rule language accepts.
pub(crate) fn candidates(
    client: &SpiClient<'_>,
    attached: &Attached,
    known: &Known,
    half_lives: &[(String, f64)],
    identifiers: &[String],
) -> Vec<Candidate> {
    let attachment = &attached.attachment;
    // The contacts' key, the reference to the account and the accounts' key are no
    // properties of the contact.
    let contact_columns: Vec<(String, pg_sys::Oid)> =
        usable_columns(client, attached, attachment.contacts_oid)
            .into_iter()
            .filter(|(name, _)| {
                *name != attachment.contact_key_name
                    && attachment.accounts.as_ref().is_none_or(|a| ident(name) != a.contact_account)
            })
            .collect();
    let account_columns = match (&attachment.accounts, attachment.accounts_oid) {
        (Some(accounts), Some(oid)) => usable_columns(client, attached, oid)
            .into_iter()
            .filter(|(name, _)| ident(name) != accounts.account_key)
            .collect(),
        _ => Vec::new(),
    };
    // The identifiers asked for must be columns that could be learned from.
    let fields = contact_columns.iter().map(|(name, _)| name.clone());
    let fields: Vec<String> =
        fields.chain(account_columns.iter().map(|(name, _)| format!("account.{name}"))).collect();
    if let Some(unknown) = identifiers.iter().find(|field| !fields.contains(field)) {
        raise(Failure::UndefinedColumn(format!(
            "profile \"{}\": option \"identifiers\" names \"{unknown}\", which is no column train learns from",
            attachment.profile_name
        )).hint("Name a column of the contacts (\"first_name\") or of the accounts (\"account.name\"), other than the keys."));
    }
    let mut found = Vec::new();
    as_crm_owner(attachment.crm_owner, |_| {
        let contacts = &attachment.contacts;
        column_candidates(
            client,
            attached,
            contacts,
            &contact_columns,
            "",
            identifiers,
            &mut found,
        );
        if let Some(accounts) = &attachment.accounts {
            column_candidates(
                client,
                attached,
                &accounts.table,
                &account_columns,
                "account.",
                identifiers,
                &mut found,
            );
        }
        let types = event_types(client, attachment, known);
        for (event_type, _) in &types {
            check_for_interrupts!();
            EventRule::of_type(event_type).push_candidates(half_lives, &mut found);
        }
        if attachment.event_props.is_some() {
            props_candidates(client, attached, known, &types, half_lives, &mut found);
        }
    });
    keep_valid(&mut found);
    found
}
