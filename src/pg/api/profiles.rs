//! Profiles and the rule language (reference: "Scoring profiles", "The rule language",
//! "Profile settings"): check a rule or settings without a profile, try a rule on a
//! sample record, list the fields a rule reads.

use pgrx::prelude::*;

use crate::pg::base::clock::{now_unix_micros, to_unix_micros};
use crate::pg::base::errors::{raise, Failure};
use crate::pg::base::jsonb::AnyJsonb;
use lead_score_core::condition::{Field, Source};
use lead_score_core::error::JsonPath;
use lead_score_core::json_facts::JsonFacts;
use lead_score_core::rule::Rule;
use lead_score_core::settings::Settings;
use lead_score_core::stages::compile_stages;

#[pg_schema]
mod lead_score {
    use super::*;

    /// `lead_score.rule_problem(rule)`: NULL when `rule` is a valid rule, otherwise what is
    /// wrong with it and where, e.g. `$.when.value: operator "gte" needs a number, got "abc"`.
    #[pg_extern(immutable, strict, parallel_safe)]
    fn rule_problem(rule: AnyJsonb) -> Option<String> {
        Rule::compile(&rule.0).err().map(|e| e.to_string())
    }

    /// `lead_score.settings_problem(settings)`: NULL when valid profile settings.
    #[pg_extern(immutable, strict, parallel_safe)]
    fn settings_problem(settings: AnyJsonb) -> Option<String> {
        Settings::compile(&settings.0).err().map(|e| e.to_string())
    }

    /// `lead_score.rule_matches(rule, record, at)`: whether `rule` matches `record` (a JSON
    /// object of column values, with `account`, `props` and `events` nested as documented)
    /// at time `at` (default: now). Event rules also need `record->>'event_type'` to be one
    /// of their types.
    #[pg_extern(stable, parallel_safe)]
    fn rule_matches(
        rule: Option<AnyJsonb>,
        record: Option<AnyJsonb>,
        at: default!(Option<TimestampWithTimeZone>, "NULL"),
    ) -> Option<bool> {
        let (rule, record) = (rule?, record?);
        let compiled = match Rule::compile(&rule.0) {
            Ok(compiled) => compiled,
            Err(e) => raise(Failure::InvalidValue(format!("invalid rule: {e}"))),
        };
        let now = at.map_or_else(now_unix_micros, to_unix_micros);
        let event_type = record.0.get("event_type").and_then(|t| t.as_str());
        Some(compiled.matches(&JsonFacts { record: &record.0, now }, event_type))
    }

    /// `lead_score.settings_fields(settings)`: the fields valid settings read (the
    /// stages' conditions, the routing's owner column), each with the JSON path of what
    /// reads it (`$.stages[2].when`, `$.routing.column`), where it comes from and the
    /// column it names.
    #[pg_extern(immutable, strict, parallel_safe)]
    fn settings_fields(
        settings: AnyJsonb,
    ) -> TableIterator<
        'static,
        (
            name!(path, String),
            name!(source, String),
            name!(field, String),
            name!(column_name, String),
        ),
    > {
        let stages = settings.0.get("stages");
        let mut rows: Vec<(String, String, String, String)> =
            match compile_stages(stages, &JsonPath::root()) {
                Err(_) => Vec::new(),
                Ok((_, conditions)) => conditions
                    .iter()
                    .enumerate()
                    .filter_map(|(index, when)| Some((index, when.as_ref()?)))
                    .flat_map(|(index, when)| {
                        when.fields().into_iter().map(move |f| {
                            let (source, field, column) = described(f);
                            (format!("$.stages[{index}].when"), source, field, column)
                        })
                    })
                    .collect(),
            };
        let compiled = Settings::compile(&settings.0).ok();
        // The contacts' owner column routing sets.
        if let Some(Settings { routing: Some(routing), .. }) = &compiled {
            let column = routing.column.clone();
            rows.push(("$.routing.column".into(), "contact".into(), column.clone(), column));
        }
        if let Some(accounts) = compiled.as_ref().map(|s| &s.accounts) {
            // The contacts' buying role column.
            if let Some(column) = &accounts.buying_roles {
                rows.push((
                    "$.buying_roles".into(),
                    "contact".into(),
                    column.clone(),
                    column.clone(),
                ));
            }
            // Account settings read the accounts table itself (source `accounts`, no
            // column): they need one. Named by the first account setting given.
            let given = ["account_score", "buying_roles", "account_thresholds"]
                .into_iter()
                .find(|key| settings.0.get(key).is_some_and(|v| !v.is_null()));
            if let Some(key) = given {
                rows.push((format!("$.{key}"), "accounts".into(), String::new(), String::new()));
            }
        }
        TableIterator::new(rows)
    }

    /// `lead_score.rule_fields(rule)`: the fields a valid rule reads, with where they
    /// come from (`contact`, `account`, `event`, `props`) and the column they name.
    #[pg_extern(immutable, strict, parallel_safe)]
    fn rule_fields(
        rule: AnyJsonb,
    ) -> TableIterator<
        'static,
        (name!(source, String), name!(field, String), name!(column_name, String)),
    > {
        let rows: Vec<(String, String, String)> = match Rule::compile(&rule.0) {
            Err(_) => Vec::new(),
            Ok(rule) => rule.fields().into_iter().map(described).collect(),
        };
        TableIterator::new(rows)
    }
}

/// A field as `rule_fields` and `settings_fields` list it: where it comes from
/// (`contact`, `account`, `event`, `props`), as written, and the column it names.
fn described(field: &Field) -> (String, String, String) {
    let source = match field.source {
        Source::Contact => "contact",
        Source::Account => "account",
        Source::Event => "event",
        Source::Props => "props",
    };
    (source.to_owned(), field.text.clone(), field.path.join("."))
}
