//! Learning a profile from outcomes (`train`): candidate rules generated from the CRM's
//! own data, each contact's value of each candidate as of its instant (computed by the
//! scoring itself, so the learned rules score exactly what was learned), a ridge
//! logistic regression (`lead_score_core::learning`), and the result written into the
//! profile's draft as ordinary rules, with the likelihood that turns scores back into
//! probabilities.

use std::collections::HashMap;
use std::time::Instant;

use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use pgrx::{JsonB, PgRelation};
use serde_json::{json, Value as Json};

use crate::pg::attachment::{ident, spi_failed, Attachment, Quoted};
use crate::pg::clock::from_unix_micros;
use crate::pg::errors::{internal, raise, Failure};
use crate::pg::evaluation::{outcomes_relation, parse_options, read_outcomes, OptionsFor};
use crate::pg::identity::as_crm_owner;
use crate::pg::insight::{check_may_read_tables, Covering};
use crate::pg::params::Params;
use crate::pg::plan_cache::{attached_by_name, Attached};
use crate::pg::score_rows::BATCH;
use crate::pg::some_contacts::compute_as_of;
use lead_score_core::engine::CompiledProfile;
use lead_score_core::evaluation::{auc, Observation};
use lead_score_core::learning::{fit_with_validation_between, split_of, Fitted, Matrix, Split};
use lead_score_core::rule::Rule;

/// Half-lives event candidates are tried with besides the profile's own.
const OTHER_HALF_LIVES: [(&str, f64); 3] = [("7 days", 7.0), ("30 days", 30.0), ("90 days", 90.0)];

/// The half-lives event candidates are tried with: the profile's own, then those of
/// `OTHER_HALF_LIVES` it does not equal; the one that predicts the validation data best
/// is kept. Each as rules write it, with its length in days.
fn half_lives(attached: &Attached) -> Vec<(String, f64)> {
    let own = &attached.compiled.settings.half_life;
    let mut found = vec![(own.to_string(), own.seconds() / 86_400.0)];
    for (text, days) in OTHER_HALF_LIVES {
        if found.iter().all(|(_, d)| (d - days).abs() > 1e-9) {
            found.push((text.to_owned(), days));
        }
    }
    found
}

/// At most this many values of one column, and event types, become candidates.
const VALUES_PER_COLUMN: i64 = 6;
const EVENT_TYPES: i64 = 25;

/// A value becomes a candidate when at least this share of contacts has it (and at
/// most one minus it: a value everyone has tells nothing).
const MIN_SHARE: f64 = 0.02;

/// Event properties become candidates for this many of the most frequent event types,
/// at most `PROPS_PER_TYPE` each, when at least this share of a type's events have the
/// value (and at most one minus it).
const PROPS_TYPES: usize = 10;
const PROPS_PER_TYPE: usize = 2;
const PROPS_MIN_SHARE: f64 = 0.05;

/// Both outcomes need at least this many contacts in the training split.
const MIN_PER_OUTCOME: usize = 20;
/// At most this many candidate rules: each Newton step solves a system as large as the
/// candidates (its cost grows with their cube, its memory with their square), so a
/// table of hundreds of columns would train for minutes on gigabytes.
const MAX_CANDIDATES: usize = 400;

/// A candidate rule: its name in the draft, its body with one point, and for event
/// rules which of the half-lives tried (see `half_lives`) it decays with.
struct Candidate {
    name: String,
    rule: Json,
    half_life: Option<usize>,
    /// For a rule whose name shows a value read from the data (a column's or a
    /// property's value, a quartile, a median): its name up to that value, which
    /// `number_values` names it by instead.
    unvalued: Option<String>,
}

/// Name each candidate that shows a value from the data by what it tests and a number
/// instead (`learned: role = #1`), for `train`'s `"value_names": false`: the values are
/// numbered per name in the order they were found (the most frequent value first, the
/// lowest quartile first), each value once, whatever its half-lives.
fn number_values(candidates: &mut [Candidate]) {
    let mut numbers: HashMap<(String, String), usize> = HashMap::new();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for candidate in candidates.iter_mut() {
        let Some(prefix) = &candidate.unvalued else { continue };
        let number =
            *numbers.entry((prefix.clone(), candidate.name.clone())).or_insert_with(|| {
                let count = counts.entry(prefix.clone()).or_default();
                *count += 1;
                *count
            });
        candidate.name = format!("{prefix} #{number}");
    }
}

/// Names of columns a rule can read as a field: plain identifiers.
fn plain_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A value as it shows in a rule's name, cut to 60 characters.
fn shown(value: &str) -> String {
    if value.chars().count() <= 60 {
        value.to_owned()
    } else {
        format!("{}…", value.chars().take(59).collect::<String>())
    }
}

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

/// The fit candidates of one table's columns (`prefix` "" for the contacts, "account."
/// for the accounts): frequent values of text and boolean columns, quartiles of
/// numbers, and whether a column is empty. Read as the tables' owner.
fn column_candidates(
    client: &SpiClient<'_>,
    attached: &Attached,
    table: &Quoted,
    columns: &[(String, pg_sys::Oid)],
    prefix: &str,
    found: &mut Vec<Candidate>,
) {
    let what = "reading the values to learn from";
    for (name, oid) in columns {
        check_for_interrupts!();
        let column = ident(name);
        let field = format!("{prefix}{name}");
        let counts = client
            .select(
                &format!("SELECT pg_catalog.count(*), pg_catalog.count(c.{column}) FROM {table} c"),
                Some(1),
                &[],
            )
            .and_then(|rows| rows.first().get_two::<i64, i64>())
            .unwrap_or_else(|e| spi_failed(&attached.attachment, what, e));
        let (Some(total), Some(present)) = counts else { continue };
        if total == 0 {
            continue;
        }
        let share = |n: i64| n as f64 / total as f64;
        let null_share = share(total - present);
        if (MIN_SHARE..=1.0 - MIN_SHARE).contains(&null_share) {
            found.push(Candidate {
                name: format!("learned: {field} is empty"),
                rule: json!({"kind": "fit", "when": {"field": field, "op": "is_null"}, "points": 1}),
                half_life: None,
                unvalued: None,
            });
        }
        match *oid {
            pg_sys::TEXTOID | pg_sys::VARCHAROID | pg_sys::BOOLOID => {
                let rows = client
                    .select(
                        &format!(
                            "SELECT c.{column}::pg_catalog.text, pg_catalog.count(*) FROM {table} c
                              WHERE c.{column} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT $1"
                        ),
                        None,
                        &[VALUES_PER_COLUMN.into()],
                    )
                    .unwrap_or_else(|e| spi_failed(&attached.attachment, what, e));
                for row in rows {
                    check_for_interrupts!();
                    let value = row
                        .get::<String>(1)
                        .unwrap_or_else(|e| spi_failed(&attached.attachment, what, e));
                    let count = row
                        .get::<i64>(2)
                        .unwrap_or_else(|e| spi_failed(&attached.attachment, what, e));
                    let (Some(value), Some(count)) = (value, count) else { continue };
                    if !(MIN_SHARE..=1.0 - MIN_SHARE).contains(&share(count)) {
                        continue;
                    }
                    // (A boolean's one candidate, `= true`, shows no value of the data.)
                    let (matched, shown_value, unvalued) = match *oid {
                        pg_sys::BOOLOID if value == "true" => {
                            (json!(true), "true".to_owned(), None)
                        }
                        pg_sys::BOOLOID => continue,
                        _ => (json!(value), shown(&value), Some(format!("learned: {field} ="))),
                    };
                    found.push(Candidate {
                        name: format!("learned: {field} = {shown_value}"),
                        rule: json!({"kind": "fit", "when": {"field": field, "op": "eq", "value": matched}, "points": 1}),
                        half_life: None,
                        unvalued,
                    });
                }
            }
            pg_sys::TIMESTAMPTZOID | pg_sys::TIMESTAMPOID | pg_sys::DATEOID => {
                // The quartiles of the age in whole days, as "within" tests (which the
                // scoring judges as of each contact's instant). A date or timestamp beyond
                // timestamptz's range (scoring reads those as infinite) is skipped, as the
                // infinite ones are: cast, it would fail the whole train.
                let in_range = match *oid {
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
                    .unwrap_or_else(|e| spi_failed(&attached.attachment, what, e));
                for row in rows {
                    check_for_interrupts!();
                    let days = row
                        .get::<f64>(1)
                        .unwrap_or_else(|e| spi_failed(&attached.attachment, what, e));
                    let Some(days) = days.filter(|d| d.is_finite() && *d < 1e6) else { continue };
                    let span = format!("{days} days");
                    found.push(Candidate {
                        name: format!("learned: {field} within {span}"),
                        rule: json!({"kind": "fit", "when": {"field": field, "op": "within", "value": span}, "points": 1}),
                        half_life: None,
                        unvalued: Some(format!("learned: {field} within")),
                    });
                }
            }
            pg_sys::INT2OID
            | pg_sys::INT4OID
            | pg_sys::INT8OID
            | pg_sys::FLOAT4OID
            | pg_sys::FLOAT8OID
            | pg_sys::NUMERICOID => {
                // A numeric beyond float8's range reads as an infinity (never a threshold)
                // and one too small for it as 0: cast, it would fail the whole train.
                let value = if *oid == pg_sys::NUMERICOID {
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
                    .unwrap_or_else(|e| spi_failed(&attached.attachment, what, e));
                for row in rows {
                    check_for_interrupts!();
                    let Some(threshold) = row
                        .get::<f64>(1)
                        .unwrap_or_else(|e| spi_failed(&attached.attachment, what, e))
                    else {
                        continue;
                    };
                    if !threshold.is_finite() {
                        continue;
                    }
                    found.push(Candidate {
                        name: format!("learned: {field} >= {threshold}"),
                        rule: json!({"kind": "fit", "when": {"field": field, "op": "gte", "value": threshold}, "points": 1}),
                        half_life: None,
                        unvalued: Some(format!("learned: {field} >=")),
                    });
                }
            }
            _ => {}
        }
    }
}

/// One candidate per half-life tried for an event rule (`rule`, one point).
fn push_event_candidates(
    found: &mut Vec<Candidate>,
    half_lives: &[(String, f64)],
    (name, unvalued): (String, Option<String>),
    rule: Json,
) {
    for (index, (half_life, _)) in half_lives.iter().enumerate() {
        let mut rule = rule.clone();
        rule["half_life"] = json!(half_life);
        found.push(Candidate {
            name: name.clone(),
            rule,
            half_life: Some(index),
            unvalued: unvalued.clone(),
        });
    }
}

/// Keys of event properties a rule can address as `props.<key>`.
fn plain_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Event candidates on the properties of the most frequent event types (read as the
/// tables' owner): a text value that 5% to 95% of a type's events have, and a number
/// property (that at least 5% of them have) at or over its median; at most
/// `PROPS_PER_TYPE` per type, the most frequent first.
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
        let share = count as f64 / total.max(1) as f64;
        if !plain_key(&key) || per_type.get(&event_type).copied().unwrap_or(0) >= PROPS_PER_TYPE {
            continue;
        }
        let field = format!("props.{key}");
        let (name, when) = match (kind.as_str(), text(4), text(6)) {
            ("string", Some(value), _)
                if (PROPS_MIN_SHARE..=1.0 - PROPS_MIN_SHARE).contains(&share) =>
            {
                let unvalued = format!("learned: {} with {key} =", shown(&event_type));
                (
                    (format!("{unvalued} {}", shown(&value)), Some(unvalued)),
                    json!({"field": field, "op": "eq", "value": value}),
                )
            }
            ("number", _, Some(median)) if share >= PROPS_MIN_SHARE => {
                let Some(median) = median.parse::<f64>().ok().filter(|m| m.is_finite()) else {
                    continue;
                };
                let unvalued = format!("learned: {} with {key} >=", shown(&event_type));
                (
                    (format!("{unvalued} {median}"), Some(unvalued)),
                    json!({"field": field, "op": "gte", "value": median}),
                )
            }
            _ => continue,
        };
        *per_type.entry(event_type.clone()).or_default() += 1;
        let rule = json!({"kind": "event", "event": event_type, "when": when, "points": 1});
        push_event_candidates(found, half_lives, name, rule);
    }
}

/// What training may draw event candidates from: the training split's contacts (keys as
/// text), each with its instant. Their events up to those instants are what the model
/// learns from, so candidates read nothing later (no event after a contact's instant
/// can change a rule) and nothing of the contacts the model is validated and tested on.
struct Known {
    keys: Vec<Option<String>>,
    instants: Vec<Option<TimestampWithTimeZone>>,
}

impl Known {
    fn of(outcomes: &[(String, bool, i64, Split)]) -> Known {
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

/// Every candidate rule, from the attached tables' own data (read as their owner): fit
/// rules on the contacts' and accounts' columns, and event rules per frequent event type
/// with each of `half_lives`. Only candidates the rule language accepts.
fn candidates(
    client: &SpiClient<'_>,
    attached: &Attached,
    known: &Known,
    half_lives: &[(String, f64)],
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
    let mut found = Vec::new();
    as_crm_owner(attachment.crm_owner, |_| {
        column_candidates(client, attached, &attachment.contacts, &contact_columns, "", &mut found);
        if let Some(accounts) = &attachment.accounts {
            column_candidates(
                client,
                attached,
                &accounts.table,
                &account_columns,
                "account.",
                &mut found,
            );
        }
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
            let event_type =
                row.get::<String>(1).unwrap_or_else(|e| spi_failed(attachment, what, e));
            let count = row.get::<i64>(2).unwrap_or_else(|e| spi_failed(attachment, what, e));
            if let (Some(event_type), Some(count)) = (event_type, count) {
                types.push((event_type, count));
            }
        }
        for (event_type, _) in &types {
            let rule = json!({"kind": "event", "event": event_type, "points": 1});
            push_event_candidates(
                &mut found,
                half_lives,
                (format!("learned: {}", shown(event_type)), None),
                rule,
            );
        }
        if attachment.event_props.is_some() {
            props_candidates(client, attached, known, &types, half_lives, &mut found);
        }
    });
    found.retain(|c| Rule::compile(&c.rule).is_ok() && c.name.len() <= 200);
    found
}

/// One contact's row: whether it converted, its split, and its value of each candidate.
struct Row {
    converted: bool,
    split: Split,
    values: Vec<f64>,
}

/// Each contact's value of each candidate as of its instant: 1 when a fit candidate
/// holds, an event candidate's decayed worth at one point per event.
fn candidate_values(
    client: &SpiClient<'_>,
    attached: &Attached,
    candidates: &[Candidate],
    outcomes: &[(String, bool, i64, Split)],
) -> Vec<Row> {
    let rules: Vec<(String, Json)> =
        candidates.iter().enumerate().map(|(i, c)| (format!("c{i}"), c.rule.clone())).collect();
    let compiled = CompiledProfile::compile(&json!({}), &rules)
        .unwrap_or_else(|e| internal("compiling the candidate rules", format!("{e:?}")));
    let candidate = Attached::with_compiled(client, attached.attachment.clone(), compiled);
    let mut rows = Vec::with_capacity(outcomes.len());
    for batch in outcomes.chunks(BATCH) {
        check_for_interrupts!();
        let as_of: Vec<(String, i64)> =
            batch.iter().map(|(k, _, at, _)| (k.clone(), *at)).collect();
        let by_key: HashMap<&str, (bool, Split)> =
            batch.iter().map(|(k, c, _, s)| (k.as_str(), (*c, *s))).collect();
        for (key, result, at) in compute_as_of(client, &candidate, &as_of, true) {
            check_for_interrupts!();
            let Some(&(converted, split)) = by_key.get(key.as_str()) else { continue };
            let mut values = vec![0.0; candidates.len()];
            for &index in &result.fit_rules {
                values[index] = 1.0;
            }
            for (&index, worth) in &result.by_rule {
                values[index] = worth.points.value_at(at);
            }
            rows.push(Row { converted, split, values });
        }
    }
    rows
}

/// One split's values and outcomes.
type SplitRows = (Matrix, Vec<bool>);

/// The rows of one split, with only the given candidate columns.
fn matrix(rows: &[Row], split: Split, columns: &[usize]) -> SplitRows {
    let mut x = Matrix::new(columns.len());
    let mut labels = Vec::new();
    let mut values = vec![0.0; columns.len()];
    for row in rows.iter().filter(|r| r.split == split) {
        check_for_interrupts!();
        for (v, &c) in values.iter_mut().zip(columns) {
            *v = row.values[c];
        }
        x.push_row(&values);
        labels.push(row.converted);
    }
    (x, labels)
}

/// The AUC of a model on one split's rows.
fn auc_of(fitted: &Fitted, (x, labels): &SplitRows) -> Option<f64> {
    let observations: Vec<Observation> = (0..x.rows())
        .map(|i| Observation {
            score: fitted.model.log_odds(x.row(i)),
            converted: labels[i],
            disqualified: false,
        })
        .collect();
    auc(&observations)
}

/// Training writes the draft through the editing functions: 42501 before any work for
/// a caller who may not execute them.
fn check_may_edit(client: &SpiClient<'_>, profile: &str) {
    let allowed = client
        .select(
            "SELECT pg_catalog.has_function_privilege('lead_score.add_rule(text, text, jsonb)', 'EXECUTE')
                AND pg_catalog.has_function_privilege('lead_score.remove_rule(text, text)', 'EXECUTE')
                AND pg_catalog.has_function_privilege('lead_score.update_profile(text, text, text, jsonb)', 'EXECUTE')",
            Some(1),
            &[],
        )
        .and_then(|rows| rows.first().get_one::<bool>())
        .unwrap_or_else(|e| internal("checking the right to edit profiles", e));
    if allowed != Some(true) {
        raise(
            Failure::InsufficientPrivilege(format!(
                "permission denied to train profile \"{profile}\": training writes its draft"
            ))
            .hint(
                "Training needs the right to edit profiles: see \"Who may edit\" in the reference.",
            ),
        );
    }
}

/// Learn `profile`'s draft from `outcomes`: returns train's metrics.
fn train_profile(
    profile: &str,
    outcomes: pg_sys::Oid,
    options: &Json,
) -> Vec<(String, Option<f64>)> {
    let started = Instant::now();
    Spi::connect(|client| {
        let attached = attached_by_name(client, profile);
        check_may_read_tables(client, &attached, "learn from the tables", Covering::AnyContact);
        check_may_edit(client, profile);
        let options = parse_options(options, &attached, OptionsFor::Train);
        let relation = outcomes_relation(client, &attached, outcomes, &options);
        let (read, mut ignored) = read_outcomes(client, &attached, &relation, &options);
        let mut outcomes_split = Vec::with_capacity(read.len());
        for outcome in read {
            check_for_interrupts!();
            let split = match (&options.split, &outcome.split) {
                (None, _) => Some(split_of(&outcome.key)),
                (Some(_), Some(value)) => options
                    .split_names
                    .iter()
                    .position(|n| n == value)
                    .map(|i| [Split::Train, Split::Valid, Split::Test][i]),
                (Some(_), None) => None,
            };
            match split {
                Some(split) => {
                    outcomes_split.push((outcome.key, outcome.converted, outcome.at, split))
                }
                None => ignored += 1,
            }
        }
        let half_lives = half_lives(&attached);
        let mut candidates =
            candidates(client, &attached, &Known::of(&outcomes_split), &half_lives);
        if !options.value_names {
            number_values(&mut candidates);
        }
        if candidates.is_empty() {
            raise(Failure::InvalidValue(format!(
                "profile \"{profile}\": the attached tables offer nothing to learn from"
            ))
            .hint("Learning reads text, boolean and number columns of the contacts and accounts, and the events' types."));
        }
        if candidates.len() > MAX_CANDIDATES {
            raise(Failure::TooMuch(format!(
                "profile \"{profile}\": the attached tables offer {} candidate rules; training takes at most {MAX_CANDIDATES}",
                candidates.len()
            ))
            .hint("Each text, boolean, number and time column of the contacts and accounts gives up to a few candidates, each frequent event type one per half-life tried; attach tables with fewer columns."));
        }
        let rows = candidate_values(client, &attached, &candidates, &outcomes_split);
        let count = |split: Split, converted: bool| {
            rows.iter().filter(|r| r.split == split && r.converted == converted).count()
        };
        let (positives, negatives) = (count(Split::Train, true), count(Split::Train, false));
        if positives < MIN_PER_OUTCOME || negatives < MIN_PER_OUTCOME {
            raise(Failure::InvalidValue(format!(
                "profile \"{profile}\": too few outcomes to learn from: the training split has {positives} contacts that converted and {negatives} that did not"
            ))
            .hint(format!("Each needs at least {MIN_PER_OUTCOME}.")));
        }
        if count(Split::Valid, true) + count(Split::Valid, false) == 0 {
            raise(Failure::InvalidValue(format!(
                "profile \"{profile}\": the validation split is empty"
            )));
        }
        // Fit with each half-life for the event candidates; keep the best on validation.
        let mut best: Option<(usize, Vec<usize>, Fitted, SplitRows)> = None;
        for (choice, _) in half_lives.iter().enumerate() {
            let columns: Vec<usize> = candidates
                .iter()
                .enumerate()
                .filter(|(_, c)| c.half_life.is_none_or(|h| h == choice))
                .map(|(i, _)| i)
                .collect();
            let train = matrix(&rows, Split::Train, &columns);
            let valid = matrix(&rows, Split::Valid, &columns);
            let between = &mut || {
                check_for_interrupts!();
            };
            let Some(fitted) =
                fit_with_validation_between((&train.0, &train.1), (&valid.0, &valid.1), between)
            else {
                continue;
            };
            if best.as_ref().is_none_or(|(_, _, b, _)| fitted.valid_log_loss < b.valid_log_loss) {
                best = Some((choice, columns, fitted, valid));
            }
        }
        let Some((choice, columns, fitted, valid)) = best else {
            internal("training", "no model could be fitted");
        };
        let points_per_doubling = options.points_per_doubling;
        let learned: Vec<(String, Json)> = fitted
            .model
            .rule_points(points_per_doubling)
            .into_iter()
            .map(|(j, points)| {
                let c = columns[j];
                let mut rule = candidates[c].rule.clone();
                rule["points"] = json!(points);
                (candidates[c].name.clone(), rule)
            })
            .collect();
        write_draft(client, profile, &learned, fitted.model.intercept, points_per_doubling);
        let split_metrics = |split: Split| auc_of(&fitted, &matrix(&rows, split, &columns));
        vec![
            ("contacts".to_owned(), Some(rows.len() as f64)),
            ("ignored".to_owned(), Some(ignored as f64)),
            ("candidates".to_owned(), Some(columns.len() as f64)),
            ("rules".to_owned(), Some(learned.len() as f64)),
            ("auc_train".to_owned(), split_metrics(Split::Train)),
            ("auc_valid".to_owned(), split_metrics(Split::Valid)),
            ("auc_test".to_owned(), split_metrics(Split::Test)),
            ("log_loss_valid".to_owned(), Some(fitted.valid_log_loss)),
            ("brier_valid".to_owned(), Some(fitted.model.brier(&valid.0, &valid.1))),
            ("lambda".to_owned(), Some(fitted.lambda)),
            ("half_life_days".to_owned(), Some(half_lives[choice].1)),
            ("intercept".to_owned(), Some(fitted.model.intercept)),
            ("points_per_doubling".to_owned(), Some(points_per_doubling)),
            ("seconds".to_owned(), Some(started.elapsed().as_secs_f64())),
        ]
    })
}

/// Replace the draft's fit and event rules with `learned` (its disqualifiers stay) and
/// set its likelihood, through the editing functions, as the caller: only a role that
/// may edit the profile can train it. (Points the model did not learn would make the
/// likelihood wrong; `revert_draft` brings the draft back.)
fn write_draft(
    client: &SpiClient<'_>,
    profile: &str,
    learned: &[(String, Json)],
    intercept: f64,
    points_per_doubling: f64,
) {
    let what = |doing: &str, e: pgrx::spi::Error| -> ! {
        internal(format!("profile \"{profile}\": {doing}"), e)
    };
    client
        .select(
            "SELECT pg_catalog.count(lead_score.remove_rule($1, r.rule_name)) FROM lead_score.rules r
              WHERE r.profile OPERATOR(pg_catalog.=) $1 AND r.is_draft
                AND r.kind OPERATOR(pg_catalog.=) ANY (ARRAY['fit', 'event'])",
            None,
            &[profile.into()],
        )
        .unwrap_or_else(|e| what("removing the draft's fit and event rules", e));
    for (name, rule) in learned {
        check_for_interrupts!();
        client
            .select(
                "SELECT lead_score.add_rule($1, $2, $3)",
                None,
                &[profile.into(), name.as_str().into(), JsonB(rule.clone()).into()],
            )
            .unwrap_or_else(|e| what("adding a learned rule", e));
    }
    let settings =
        json!({"likelihood": {"intercept": intercept, "points_per_doubling": points_per_doubling}});
    client
        .select(
            "SELECT lead_score.update_profile($1, settings => $2)",
            None,
            &[profile.into(), JsonB(settings).into()],
        )
        .unwrap_or_else(|e| what("setting the likelihood", e));
}

#[pg_schema]
mod lead_score {
    use super::*;

    /// `lead_score.train(profile, outcomes, options)`: learn the profile's draft from
    /// outcomes: learned rules and a likelihood, written as ordinary draft edits.
    #[pg_extern]
    #[search_path(pg_catalog, lead_score, pg_temp)]
    fn train(
        profile: &str,
        outcomes: PgRelation,
        options: default!(JsonB, "'{}'"),
    ) -> TableIterator<'static, (name!(metric, String), name!(value, Option<f64>))> {
        TableIterator::new(train_profile(profile, outcomes.oid(), &options.0))
    }
}
