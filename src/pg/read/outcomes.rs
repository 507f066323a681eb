//! Outcomes, as `evaluate`, `evaluate_bands` and `train` read them: their options
//! parsed, the caller's relation of outcomes checked, and its rows read as the caller.

use std::collections::HashSet;

use pgrx::prelude::*;
use pgrx::spi::SpiClient;
use serde_json::Value as Json;

use crate::pg::base::attached::Attached;
use crate::pg::base::attachment::{ident, Quoted};
use crate::pg::base::catalog::Edition;
use crate::pg::base::clock::{now_unix_micros, to_unix_micros};
use crate::pg::base::errors::{internal, raise, spi_failed, Failure};
use lead_score_core::evaluation::BandBy;

/// What `options` name: the outcomes' columns, which rows, which edition of the rules,
/// and for `train` the names of the splits and the points that double the odds.
pub(crate) struct OutcomeOptions {
    key: String,
    outcome: String,
    as_of: Option<String>,
    pub(crate) split: Option<String>,
    subset: Option<String>,
    pub(crate) edition: Edition,
    pub(crate) by: BandBy,
    /// The split column's values for training, validation and test data.
    pub(crate) split_names: [String; 3],
    pub(crate) points_per_doubling: f64,
    /// Whether learned rules are named with the values they match (`train`'s
    /// `value_names`, default true), or numbered instead.
    pub(crate) value_names: bool,
    /// Columns `train` learns from although they look like identifiers (names, emails,
    /// nearly unique text): its `identifiers` option, fields as rules name them.
    pub(crate) identifiers: Vec<String>,
}

/// Which function the options are for: each takes the common ones and its own.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum OptionsFor {
    Evaluate,
    Bands,
    Train,
}

const COMMON: &[&str] = &["key", "outcome", "as_of", "split"];

impl OptionsFor {
    fn keys(self) -> Vec<&'static str> {
        let own: &[&str] = match self {
            OptionsFor::Evaluate => &["subset", "version", "draft"],
            OptionsFor::Bands => &["subset", "version", "draft", "by"],
            OptionsFor::Train => {
                &["train", "valid", "test", "points_per_doubling", "value_names", "identifiers"]
            }
        };
        COMMON.iter().chain(own).copied().collect()
    }
}

/// The options of `evaluate()`, `evaluate_bands()` or `train()`; 22023 for an unknown
/// key or a value of the wrong kind.
pub(crate) fn parse_options(
    options: &Json,
    attached: &Attached,
    function: OptionsFor,
) -> OutcomeOptions {
    let Json::Object(object) = options else {
        raise(Failure::InvalidValue("options must be a JSON object".to_owned()));
    };
    let known = function.keys();
    for key in object.keys() {
        if !known.contains(&key.as_str()) {
            raise(
                Failure::InvalidValue(format!("unknown option \"{key}\""))
                    .hint(format!("The options are {}.", known.join(", "))),
            );
        }
    }
    let text = |name: &str| -> Option<String> {
        match object.get(name) {
            None | Some(Json::Null) => None,
            Some(Json::String(value)) if !value.is_empty() => Some(value.clone()),
            Some(other) => raise(Failure::InvalidValue(format!(
                "option \"{name}\" must be a non-empty string, got {other}"
            ))),
        }
    };
    let edition = match (object.get("version"), object.get("draft")) {
        (None | Some(Json::Null), None | Some(Json::Null) | Some(Json::Bool(false))) => {
            Edition::Active
        }
        (None | Some(Json::Null), Some(Json::Bool(true))) => Edition::Draft,
        (Some(Json::Number(n)), None | Some(Json::Null) | Some(Json::Bool(false))) => {
            match n.as_i64().and_then(|v| i32::try_from(v).ok()).filter(|v| *v > 0) {
                Some(version) => Edition::Version(version),
                None => raise(Failure::InvalidValue(format!(
                    "option \"version\" must be a positive integer, got {n}"
                ))),
            }
        }
        (Some(_), Some(Json::Bool(true))) => raise(Failure::InvalidValue(
            "options \"version\" and \"draft\" exclude each other".to_owned(),
        )),
        (Some(other), _) => raise(Failure::InvalidValue(format!(
            "option \"version\" must be a positive integer, got {other}"
        ))),
        (_, Some(other)) => raise(Failure::InvalidValue(format!(
            "option \"draft\" must be true or false, got {other}"
        ))),
    };
    let by = match text("by") {
        None => BandBy::Decile,
        Some(name) => BandBy::parse(&name).unwrap_or_else(|| {
            raise(Failure::InvalidValue(format!(
                "option \"by\" must be \"decile\", \"score_100\" or \"stars\", got \"{name}\""
            )))
        }),
    };
    let (split, subset) = (text("split"), text("subset"));
    if subset.is_some() && split.is_none() {
        raise(
            Failure::InvalidValue("option \"subset\" needs the \"split\" option".to_owned())
                .hint("Name the column holding each row's split with \"split\"."),
        );
    }
    let split_names = [("train", "train"), ("valid", "valid"), ("test", "test")]
        .map(|(option, default)| text(option).unwrap_or_else(|| default.to_owned()));
    if split.is_none() && ["train", "valid", "test"].iter().any(|o| object.contains_key(*o)) {
        raise(
            Failure::InvalidValue(
                "options \"train\", \"valid\" and \"test\" need the \"split\" option".to_owned(),
            )
            .hint("Without a split column, contacts are split by a hash of their key."),
        );
    }
    let points_per_doubling = match object.get("points_per_doubling") {
        None | Some(Json::Null) => 10.0,
        Some(Json::Number(n)) if n.as_f64().is_some_and(|v| v.is_finite() && v > 0.0) => {
            n.as_f64().unwrap_or(10.0)
        }
        Some(other) => raise(Failure::InvalidValue(format!(
            "option \"points_per_doubling\" must be a positive number, got {other}"
        ))),
    };
    let value_names = match object.get("value_names") {
        None | Some(Json::Null) => true,
        Some(Json::Bool(value)) => *value,
        Some(other) => raise(Failure::InvalidValue(format!(
            "option \"value_names\" must be true or false, got {other}"
        ))),
    };
    let identifiers = match object.get("identifiers") {
        None | Some(Json::Null) => Vec::new(),
        Some(Json::Array(fields)) => fields
            .iter()
            .map(|field| match field {
                Json::String(name) if !name.is_empty() => name.clone(),
                other => raise(Failure::InvalidValue(format!(
                    "option \"identifiers\" must be an array of column names, got {other} in it"
                ))),
            })
            .collect(),
        Some(other) => raise(Failure::InvalidValue(format!(
            "option \"identifiers\" must be an array of column names, got {other}"
        ))),
    };
    OutcomeOptions {
        value_names,
        identifiers,
        key: text("key").unwrap_or_else(|| attached.attachment.contact_key_name.clone()),
        outcome: text("outcome").unwrap_or_else(|| "converted".to_owned()),
        as_of: text("as_of"),
        split,
        subset,
        edition,
        by,
        split_names,
        points_per_doubling,
    }
}

/// The outcomes relation as SQL (`"schema"."name"`), after checking that each column
/// the options name exists (42703, naming the option) and has a type that fits
/// (42804): the key of the contacts' kind, a boolean outcome, a time, a text split.
pub(crate) fn outcomes_relation(
    client: &SpiClient<'_>,
    attached: &Attached,
    outcomes: pg_sys::Oid,
    options: &OutcomeOptions,
) -> Quoted {
    let what = "reading the outcomes relation";
    let found = client
        .select(
            "SELECT n.nspname::pg_catalog.text, c.relname::pg_catalog.text
               FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
              WHERE c.oid OPERATOR(pg_catalog.=) $1",
            Some(1),
            &[outcomes.into()],
        )
        .and_then(|rows| rows.first().get_two::<String, String>())
        .unwrap_or_else(|e| spi_failed(&attached.attachment, what, e));
    let (Some(schema), Some(name)) = found else {
        internal(what, "the relation has no name");
    };
    let relation = Quoted::qualified(&schema, &name);
    let key_types: &[pg_sys::Oid] = match attached.attachment.key_type_oid {
        pg_sys::INT8OID | pg_sys::INT4OID | pg_sys::INT2OID => {
            &[pg_sys::INT8OID, pg_sys::INT4OID, pg_sys::INT2OID]
        }
        pg_sys::TEXTOID | pg_sys::VARCHAROID => &[pg_sys::TEXTOID, pg_sys::VARCHAROID],
        _ => &[pg_sys::UUIDOID],
    };
    let times = [pg_sys::TIMESTAMPTZOID, pg_sys::TIMESTAMPOID, pg_sys::DATEOID];
    let texts_ = [pg_sys::TEXTOID, pg_sys::VARCHAROID];
    let columns = [
        ("key", Some(&options.key), key_types, "the contacts' key type"),
        ("outcome", Some(&options.outcome), &[pg_sys::BOOLOID][..], "boolean"),
        ("as_of", options.as_of.as_ref(), &times[..], "timestamptz, timestamp or date"),
        ("split", options.split.as_ref(), &texts_[..], "text or varchar"),
    ];
    for (option, column, allowed, expected) in columns {
        let Some(column) = column else { continue };
        let found = client
            .select(
                "SELECT a.atttypid, pg_catalog.format_type(a.atttypid, a.atttypmod)
                   FROM pg_catalog.pg_attribute a
                  WHERE a.attrelid OPERATOR(pg_catalog.=) $1 AND a.attname OPERATOR(pg_catalog.=) $2
                    AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped",
                Some(1),
                &[outcomes.into(), column.as_str().into()],
            )
            .unwrap_or_else(|e| spi_failed(&attached.attachment, what, e));
        if found.is_empty() {
            raise(Failure::UndefinedColumn(format!(
                "column \"{column}\" of relation {schema}.{name} does not exist (option \"{option}\")"
            )));
        }
        let row = found.first();
        let type_oid = row
            .get::<pg_sys::Oid>(1)
            .unwrap_or_else(|e| spi_failed(&attached.attachment, what, e))
            .unwrap_or(pg_sys::InvalidOid);
        if !allowed.contains(&type_oid) {
            let spelled = row
                .get::<String>(2)
                .unwrap_or_else(|e| spi_failed(&attached.attachment, what, e))
                .unwrap_or_default();
            raise(Failure::WrongType(format!(
                "column \"{column}\" of relation {schema}.{name} (option \"{option}\") is of type {spelled}, expected {expected}"
            )));
        }
    }
    relation
}

/// One row of outcomes: the contact (key as text), whether it converted, the instant
/// to score it at, and its split (when the options name a split column).
pub(crate) struct Outcome {
    pub(crate) key: String,
    pub(crate) converted: bool,
    pub(crate) at: i64,
    pub(crate) split: Option<String>,
}

/// The outcomes to score, and how many rows were ignored for a NULL key, outcome or
/// instant. Read as the caller, who must be allowed to read the relation. 23505 for a
/// contact listed twice.
pub(crate) fn read_outcomes(
    client: &SpiClient<'_>,
    attached: &Attached,
    relation: &Quoted,
    options: &OutcomeOptions,
) -> (Vec<Outcome>, u64) {
    let as_of = match &options.as_of {
        Some(column) => format!("o.{}::pg_catalog.timestamptz", ident(column)),
        None => "NULL::pg_catalog.timestamptz".to_owned(),
    };
    let subset = match &options.split {
        Some(split) if options.subset.is_some() => {
            format!("WHERE o.{}::pg_catalog.text OPERATOR(pg_catalog.=) $1", ident(split))
        }
        _ => "WHERE $1::pg_catalog.text IS NULL".to_owned(),
    };
    let split = match &options.split {
        Some(column) => format!("o.{}::pg_catalog.text", ident(column)),
        None => "NULL::pg_catalog.text".to_owned(),
    };
    let query = format!(
        "SELECT o.{}::pg_catalog.text, o.{}, {as_of}, {split} FROM {relation} o {subset}",
        ident(&options.key),
        ident(&options.outcome)
    );
    let what = "reading the outcomes";
    let rows = client
        .select(&query, None, &[options.subset.clone().into()])
        .unwrap_or_else(|e| spi_failed(&attached.attachment, what, e));
    let now = now_unix_micros();
    let (mut found, mut ignored) = (Vec::new(), 0);
    let mut seen = HashSet::new();
    for row in rows {
        pgrx::check_for_interrupts!();
        let key =
            row.get::<String>(1).unwrap_or_else(|e| spi_failed(&attached.attachment, what, e));
        let converted =
            row.get::<bool>(2).unwrap_or_else(|e| spi_failed(&attached.attachment, what, e));
        let at = row
            .get::<TimestampWithTimeZone>(3)
            .unwrap_or_else(|e| spi_failed(&attached.attachment, what, e));
        let split =
            row.get::<String>(4).unwrap_or_else(|e| spi_failed(&attached.attachment, what, e));
        let at = match (&options.as_of, at) {
            (None, _) => Some(now),
            (Some(_), at) => at.map(to_unix_micros),
        };
        let (Some(key), Some(converted), Some(at)) = (key, converted, at) else {
            ignored += 1;
            continue;
        };
        if !seen.insert(key.clone()) {
            raise(
                Failure::Duplicate(format!("contact {key} appears more than once in {relation}"))
                    .hint("List each contact once, with the instant to score it at."),
            );
        }
        found.push(Outcome { key, converted, at, split });
    }
    (found, ignored)
}
