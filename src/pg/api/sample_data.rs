//! Scoring sample data (reference: "Scoring sample data"): a whole profile applied to a
//! sample contact and its events, without any tables.

use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::{json, Value as Json};

use crate::pg::base::catalog::{load_profile, Edition};
use crate::pg::base::clock::{now_unix_micros, to_unix_micros};
use crate::pg::base::jsonb::AnyJsonb;
use lead_score_core::engine::{score_contact_between, Event};
use lead_score_core::json_facts::JsonFacts;
use lead_score_core::value::parse_timestamp;

fn iso8601(micros: i64) -> Json {
    chrono::DateTime::from_timestamp_micros(micros)
        .map_or(Json::Null, |t| Json::from(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)))
}

#[pg_schema]
mod lead_score {
    use super::*;

    /// `lead_score.score_record(profile, contact, events, at, use_draft)`: what the profile
    /// (its active version, or its draft) gives a sample contact with sample events, at
    /// `at` (default: the extension's clock). `contact` holds the contact's columns with
    /// its account under `"account"`; `events` is an array of objects with `event_type`,
    /// `at` and the event's other columns, properties under `"props"`.
    #[pg_extern(stable, parallel_safe)]
    #[search_path(pg_catalog, lead_score, pg_temp)]
    fn score_record(
        profile: Option<&str>,
        contact: Option<AnyJsonb>,
        events: default!(Option<AnyJsonb>, "'[]'"),
        at: default!(Option<TimestampWithTimeZone>, "NULL"),
        use_draft: default!(Option<bool>, "false"),
    ) -> Option<JsonB> {
        // Not STRICT (`at` may be NULL): a NULL profile or contact has no score.
        let (profile, contact) = (profile?, contact?);
        let events = events.unwrap_or(AnyJsonb(Json::Array(Vec::new())));
        let use_draft = use_draft.unwrap_or(false);
        let loaded =
            load_profile(profile, if use_draft { Edition::Draft } else { Edition::Active });
        let now = at.map_or_else(now_unix_micros, to_unix_micros);
        let event_list: &[Json] = events.0.as_array().map_or(&[], Vec::as_slice);
        let facts: Vec<JsonFacts> =
            event_list.iter().map(|record| JsonFacts { record, now }).collect();
        let events = event_list.iter().zip(&facts).map(|(record, facts)| Event {
            event_type: record.get("event_type").and_then(Json::as_str),
            at: record.get("at").and_then(Json::as_str).and_then(parse_timestamp),
            facts,
        });
        let contact = JsonFacts { record: &contact.0, now };
        let between = &mut || {
            pgrx::check_for_interrupts!();
        };
        let result = score_contact_between(&loaded.compiled, &contact, events, now, between);
        let tally = result.tally;
        let mut scored = json!({
            "score": result.score_at(now),
            "fit": result.fit,
            "engagement": result.engagement.value_at(now),
            "dimensions": result.dimensions.iter().map(|(k, v)| (k.clone(), Json::from(v.value_at(now)))).collect::<serde_json::Map<_, _>>(),
            "disqualified_by": result.disqualified_by,
            "next_due": result.next_due.map_or(Json::Null, iso8601),
            "events": tally.named().map(|(reason, count)| (reason.to_owned(), Json::from(count))).collect::<serde_json::Map<_, _>>(),
            "version": loaded.version,
        });
        // A profile with grades: the contact's grade, priority and rank (NULL when it
        // is below every grade; the priority's also without engagement bands).
        if let Some(grading) = &loaded.compiled.settings.grading {
            let engagement = result.engagement.value_at(now);
            scored["grade"] = json!(grading.grade_of(result.fit));
            scored["priority"] = json!(grading.priority(result.fit, engagement));
            scored["priority_rank"] = json!(grading.priority_rank(result.fit, engagement));
        }
        Some(JsonB(scored))
    }
}
