//! Table-driven tests of the rule language: every operator on every type, every error
//! message, and a property test that compiling and evaluating never panic.

use serde_json::{json, Value as Json};

use crate::json_facts::JsonFacts;
use crate::rule::{CountLimit, HalfLifeChoice, Rule};
use crate::value::parse_timestamp;

/// 2024-06-01T00:00:00Z, the clock of these tests.
fn now() -> i64 {
    parse_timestamp("2024-06-01T00:00:00Z").unwrap()
}

fn fit(when: Json) -> Rule {
    Rule::compile(&json!({"kind": "fit", "when": when, "points": 1}))
        .unwrap_or_else(|e| panic!("{when}: {e}"))
}

fn holds(when: Json, record: &Json) -> bool {
    fit(when).matches(&JsonFacts { record, now: now() }, None)
}

fn contact() -> Json {
    json!({
        "country": "US",
        "job_title": "Chief Technology Officer",
        "employees": 120,
        "employees_text": "120",
        "revenue": 2.5,
        "is_decision_maker": true,
        "opted_out": "false",
        "nickname": null,
        "created_at": "2024-05-28T12:00:00Z",
        "signed_up": "2023-01-15",
        "tags": ["vip", "Beta"],
        "note": "Met at SaaStr; wants SSO",
        "account": {"employees": 30, "industry": "Software", "name": "Ärzte GmbH"},
    })
}

#[test]
fn every_operator_on_every_type() {
    let record = contact();
    // (condition, expected)
    let cases: Vec<(Json, bool)> = vec![
        // eq / ne: text is case-insensitive by default
        (json!({"field": "country", "op": "eq", "value": "us"}), true),
        (json!({"field": "country", "op": "eq", "value": "us", "case_sensitive": true}), false),
        (json!({"field": "country", "op": "eq", "value": "US", "case_sensitive": true}), true),
        (json!({"field": "country", "op": "ne", "value": "UK"}), true),
        (json!({"field": "country", "op": "ne", "value": "us"}), false),
        // numbers compare numerically, numeric text converts
        (json!({"field": "employees", "op": "eq", "value": 120}), true),
        (json!({"field": "employees", "op": "eq", "value": 120.0}), true),
        (json!({"field": "employees_text", "op": "eq", "value": 120}), true),
        (json!({"field": "employees_text", "op": "gt", "value": 99}), true),
        (json!({"field": "employees", "op": "eq", "value": "120"}), true),
        (json!({"field": "revenue", "op": "gt", "value": 2}), true),
        (json!({"field": "revenue", "op": "gte", "value": 2.5}), true),
        (json!({"field": "revenue", "op": "lt", "value": 2.5}), false),
        (json!({"field": "revenue", "op": "lte", "value": 2.5}), true),
        (json!({"field": "employees", "op": "between", "value": [100, 120]}), true),
        (json!({"field": "employees", "op": "between", "value": [121, 500]}), false),
        // text is not a number: ordering is false, not an error
        (json!({"field": "country", "op": "gt", "value": 5}), false),
        (json!({"field": "country", "op": "eq", "value": 5}), false),
        (json!({"field": "country", "op": "ne", "value": 5}), true),
        // booleans, including their text spelling
        (json!({"field": "is_decision_maker", "op": "eq", "value": true}), true),
        (json!({"field": "is_decision_maker", "op": "ne", "value": true}), false),
        (json!({"field": "opted_out", "op": "eq", "value": false}), true),
        (json!({"field": "country", "op": "eq", "value": true}), false),
        // in / not_in
        (json!({"field": "country", "op": "in", "value": ["uk", "us"]}), true),
        (json!({"field": "country", "op": "in", "value": ["DE", "FR"]}), false),
        (json!({"field": "country", "op": "not_in", "value": ["DE", "FR"]}), true),
        (json!({"field": "employees", "op": "in", "value": [10, 120]}), true),
        (json!({"field": "country", "op": "in", "value": ["us"], "case_sensitive": true}), false),
        // contains / starts_with / ends_with, and array membership
        (json!({"field": "job_title", "op": "contains", "value": "technology"}), true),
        (json!({"field": "job_title", "op": "starts_with", "value": "chief"}), true),
        (json!({"field": "job_title", "op": "ends_with", "value": "OFFICER"}), true),
        (
            json!({"field": "job_title", "op": "ends_with", "value": "OFFICER", "case_sensitive": true}),
            false,
        ),
        (json!({"field": "tags", "op": "contains", "value": "beta"}), true),
        (json!({"field": "tags", "op": "contains", "value": "bet"}), false),
        (json!({"field": "account.name", "op": "starts_with", "value": "ärzte"}), true),
        // matches: regex crate syntax, case-insensitive by default
        (
            json!({"field": "job_title", "op": "matches", "value": "^chief (technology|executive)"}),
            true,
        ),
        (
            json!({"field": "job_title", "op": "matches", "value": "^chief", "case_sensitive": true}),
            false,
        ),
        (json!({"field": "note", "op": "matches", "value": "\\bsso\\b"}), true),
        (json!({"field": "employees", "op": "matches", "value": "^1\\d\\d$"}), true),
        // is_null / not_null: missing and null are both null
        (json!({"field": "nickname", "op": "is_null"}), true),
        (json!({"field": "no_such_column", "op": "is_null"}), true),
        (json!({"field": "country", "op": "not_null"}), true),
        (json!({"field": "tags", "op": "not_null"}), true),
        // a comparison on a missing or null field is false, whatever the operator
        (json!({"field": "nickname", "op": "eq", "value": "x"}), false),
        (json!({"field": "nickname", "op": "ne", "value": "x"}), false),
        (json!({"field": "nickname", "op": "not_in", "value": ["x"]}), false),
        (json!({"field": "no_such_column", "op": "lt", "value": 1}), false),
        (json!({"field": "account.no_such_column", "op": "ne", "value": 1}), false),
        // timestamps compare chronologically; within is relative to now (2024-06-01)
        (json!({"field": "created_at", "op": "within", "value": "7 days"}), true),
        (json!({"field": "created_at", "op": "within", "value": "1 day"}), false),
        (json!({"field": "signed_up", "op": "within", "value": "7 days"}), false),
        (json!({"field": "signed_up", "op": "lt", "value": "2023-06-01"}), true),
        (json!({"field": "signed_up", "op": "gt", "value": "2023-01-15T00:00:00Z"}), false),
        (json!({"field": "signed_up", "op": "gte", "value": "2023-01-15T00:00:00Z"}), true),
        (
            json!({"field": "created_at", "op": "between", "value": ["2024-05-01", "2024-06-01"]}),
            true,
        ),
        (json!({"field": "country", "op": "lt", "value": "2023-06-01"}), false),
        // account columns
        (json!({"field": "account.employees", "op": "gte", "value": 25}), true),
        (json!({"field": "account.industry", "op": "eq", "value": "software"}), true),
        // combinators; not negates its whole sub-condition
        (
            json!({"all": [{"field": "country", "op": "eq", "value": "US"}, {"field": "employees", "op": "gt", "value": 100}]}),
            true,
        ),
        (
            json!({"all": [{"field": "country", "op": "eq", "value": "US"}, {"field": "employees", "op": "gt", "value": 500}]}),
            false,
        ),
        (
            json!({"any": [{"field": "country", "op": "eq", "value": "DE"}, {"field": "employees", "op": "gt", "value": 100}]}),
            true,
        ),
        (json!({"not": {"field": "country", "op": "eq", "value": "US"}}), false),
        (json!({"not": {"field": "nickname", "op": "eq", "value": "x"}}), true),
        (
            json!({"not": {"any": [{"field": "country", "op": "eq", "value": "DE"}, {"field": "tags", "op": "contains", "value": "vip"}]}}),
            false,
        ),
    ];
    for (when, expected) in cases {
        assert_eq!(holds(when.clone(), &record), expected, "{when}");
    }
}

#[test]
fn event_rules_match_types_and_properties() {
    let rule = Rule::compile(&json!({
        "kind": "event", "event": ["page_view", "doc_view"],
        "when": {"field": "props.page.url", "op": "contains", "value": "/pricing"},
        "points": 3, "count": {"max": 5}, "half_life": "14 days", "within": "90 days",
        "dimension": "product:crm"
    }))
    .unwrap();
    let Rule::Event(event) = &rule else { panic!("not an event rule") };
    assert_eq!(event.count, CountLimit::AtMost(5));
    assert_eq!(event.half_life, HalfLifeChoice::Own(crate::span::parse_span("14 days").unwrap()));
    assert_eq!(event.within.as_ref().map(|w| w.seconds()), Some(90.0 * 86_400.0));
    assert_eq!(event.dimension.as_deref(), Some("product:crm"));
    let at = |record: Json, event_type: Option<&str>| {
        rule.matches(&JsonFacts { record: &record, now: now() }, event_type)
    };
    assert!(at(json!({"props": {"page": {"url": "https://x.io/pricing?a=1"}}}), Some("page_view")));
    assert!(at(json!({"props": {"page": {"url": "/PRICING"}}}), Some("doc_view")));
    assert!(!at(json!({"props": {"page": {"url": "/pricing"}}}), Some("email_open")));
    assert!(!at(json!({"props": {"page": {"url": "/pricing"}}}), None));
    // Missing, null, or malformed properties simply do not match.
    assert!(!at(json!({"props": null}), Some("page_view")));
    assert!(!at(json!({}), Some("page_view")));
    assert!(!at(json!({"props": {"page": "not an object"}}), Some("page_view")));
    assert!(!at(json!({"props": {"page": {"url": 42}}}), Some("page_view")));

    let once = Rule::compile(&json!({"kind": "event", "event": "trial_signup", "points": 15, "count": "once", "half_life": null})).unwrap();
    let Rule::Event(once) = once else { panic!() };
    assert_eq!(once.count, CountLimit::AtMost(1));
    assert_eq!(once.half_life, HalfLifeChoice::Never);
    assert!(once.when.is_none());
    let every =
        Rule::compile(&json!({"kind": "event", "event": "email_click", "points": 1})).unwrap();
    let Rule::Event(every) = every else { panic!() };
    assert_eq!((every.count, every.half_life), (CountLimit::Every, HalfLifeChoice::ProfileDefault));
}

#[test]
fn disqualifiers_see_event_history() {
    let rule = Rule::compile(&json!({"kind": "disqualifier", "when": {"all": [
        {"field": "role", "op": "in", "value": ["student", "unemployed"]},
        {"no_event": "email_open", "within": "60 days"}]}}))
    .unwrap();
    let check = |record: Json| rule.matches(&JsonFacts { record: &record, now: now() }, None);
    assert!(check(json!({"role": "Student"})));
    assert!(check(
        json!({"role": "student", "events": [{"event_type": "email_open", "at": "2024-01-01T00:00:00Z"}]})
    ));
    assert!(!check(
        json!({"role": "student", "events": [{"event_type": "email_open", "at": "2024-05-20T00:00:00Z"}]})
    ));
    assert!(
        check(
            json!({"role": "student", "events": [{"event_type": "email_open", "at": "2024-07-01T00:00:00Z"}]})
        ),
        "future events are not history yet"
    );
    assert!(!check(json!({"role": "engineer"})));

    let inactive = Rule::compile(&json!({"kind": "disqualifier",
        "when": {"event_count": ["page_view", "email_click"], "within": "30 days", "op": "lt", "value": 2}})).unwrap();
    let count = |events: Json| {
        inactive.matches(&JsonFacts { record: &json!({"events": events}), now: now() }, None)
    };
    assert!(count(json!([])));
    assert!(count(json!([{"event_type": "page_view", "at": "2024-05-30"}])));
    assert!(!count(
        json!([{"event_type": "page_view", "at": "2024-05-30"}, {"event_type": "email_click", "at": "2024-05-20"}])
    ));
    assert!(count(
        json!([{"event_type": "page_view", "at": "2024-05-30"}, {"event_type": "email_click", "at": "2024-04-01"}])
    ));
}

#[test]
fn every_error_names_its_path_and_what_was_expected() {
    let cases: Vec<(Json, &str)> = vec![
        // malformed shapes
        (json!("fit"), "$: a rule must be a JSON object, got \"fit\""),
        (json!({"when": {}, "points": 1}), "$: missing key \"kind\" (\"fit\", \"event\" or \"disqualifier\")"),
        (json!({"kind": "score", "points": 1}), "$.kind: unknown rule kind \"score\"; expected \"fit\", \"event\" or \"disqualifier\""),
        (json!({"kind": 3}), "$.kind: expected \"fit\", \"event\" or \"disqualifier\", got 3"),
        (json!({"kind": "fit", "points": 1}), "$: missing key \"when\" (a fit rule needs a condition)"),
        (json!({"kind": "fit", "when": {"field": "a", "op": "eq", "value": 1}}), "$: missing key \"points\""),
        (json!({"kind": "fit", "when": {"field": "a", "op": "eq", "value": 1}, "points": "5"}), "$.points: points must be a number, got \"5\""),
        (json!({"kind": "fit", "when": {"field": "a", "op": "eq", "value": 1}, "points": 1, "decay": "1 day"}),
         "$: unknown key \"decay\" in a fit rule; expected \"kind\", \"when\", \"points\", \"description\""),
        (json!({"kind": "fit", "when": [], "points": 1}), "$.when: a condition must be an object such as {\"field\": ..., \"op\": ..., \"value\": ...}, got an array"),
        (json!({"kind": "fit", "when": {}, "points": 1}), "$.when: empty condition; expected {\"field\": ..., \"op\": ..., \"value\": ...}"),
        (json!({"kind": "fit", "when": {"feild": "a"}, "points": 1}),
         "$.when: unknown key \"feild\"; a condition has \"field\" (with \"op\" and \"value\"), \"all\", \"any\", \"not\", \"no_event\" or \"event_count\""),
        (json!({"kind": "fit", "when": {"field": "a", "op": "eq", "value": 1, "x": 1}, "points": 1}),
         "$.when: unknown key \"x\" in a comparison; expected \"field\", \"op\", \"value\", \"case_sensitive\""),
        (json!({"kind": "fit", "when": {"all": {}}, "points": 1}), "$.when.all: expected an array of conditions, got an object"),
        (json!({"kind": "fit", "when": {"any": []}, "points": 1}), "$.when.any: expected at least one condition, got an empty array"),
        (json!({"kind": "fit", "when": {"all": [{"field": "a", "op": "eq", "value": 1}, {"field": "b", "op": "gte", "value": "abc"}]}, "points": 1}),
         "$.when.all[1].value: operator \"gte\" needs a number, got \"abc\""),
        (json!({"kind": "fit", "when": {"not": {"field": "a", "op": "eq"}}, "points": 1}),
         "$.when.not: missing key \"value\" (operator \"eq\" needs one)"),
        // unknown operator, wrong value types
        (json!({"kind": "fit", "when": {"field": "a", "op": "like", "value": "x"}, "points": 1}),
         "$.when.op: unknown operator \"like\"; expected one of eq, ne, in, not_in, gt, gte, lt, lte, between, contains, starts_with, ends_with, matches, is_null, not_null, within"),
        (json!({"kind": "fit", "when": {"field": "a", "value": "x"}, "points": 1}), "$.when: missing key \"op\""),
        (json!({"kind": "fit", "when": {"field": "employees", "op": "gte", "value": "abc"}, "points": 10}),
         "$.when.value: operator \"gte\" needs a number, got \"abc\""),
        (json!({"kind": "fit", "when": {"field": "created_at", "op": "gt", "value": "2024-13-01"}, "points": 1}),
         "$.when.value: operator \"gt\" got an invalid timestamp \"2024-13-01\""),
        (json!({"kind": "fit", "when": {"field": "a", "op": "eq", "value": [1]}, "points": 1}),
         "$.when.value: operator \"eq\" needs a text, number or boolean value, got an array"),
        (json!({"kind": "fit", "when": {"field": "a", "op": "eq", "value": null}, "points": 1}),
         "$.when.value: operator \"eq\" needs a text, number or boolean value, got null"),
        (json!({"kind": "fit", "when": {"field": "a", "op": "in", "value": "US"}, "points": 1}),
         "$.when.value: operator \"in\" needs an array of values, got \"US\""),
        (json!({"kind": "fit", "when": {"field": "a", "op": "in", "value": []}, "points": 1}),
         "$.when.value: operator \"in\" needs at least one value, got an empty array"),
        (json!({"kind": "fit", "when": {"field": "a", "op": "not_in", "value": ["x", {}]}, "points": 1}),
         "$.when.value[1]: operator \"not_in\" needs a text, number or boolean value, got an object"),
        (json!({"kind": "fit", "when": {"field": "a", "op": "between", "value": [1]}, "points": 1}),
         "$.when.value: operator \"between\" needs an array of two bounds [low, high], got an array"),
        (json!({"kind": "fit", "when": {"field": "a", "op": "between", "value": [9, 1]}, "points": 1}),
         "$.when.value: operator \"between\" needs low <= high"),
        (json!({"kind": "fit", "when": {"field": "a", "op": "between", "value": [1, "2024-01-01"]}, "points": 1}),
         "$.when.value: operator \"between\" needs two numbers or two timestamps"),
        (json!({"kind": "fit", "when": {"field": "a", "op": "contains", "value": 5}, "points": 1}),
         "$.when.value: operator \"contains\" needs a text value, got 5"),
        (json!({"kind": "fit", "when": {"field": "a", "op": "is_null", "value": true}, "points": 1}),
         "$.when.value: operator \"is_null\" takes no value"),
        (json!({"kind": "fit", "when": {"field": "a", "op": "gt", "value": 1, "case_sensitive": true}, "points": 1}),
         "$.when.case_sensitive: operator \"gt\" does not compare text"),
        (json!({"kind": "fit", "when": {"field": "a", "op": "eq", "value": "x", "case_sensitive": "yes"}, "points": 1}),
         "$.when.case_sensitive: expected true or false, got \"yes\""),
        // invalid regex
        (json!({"kind": "fit", "when": {"field": "a", "op": "matches", "value": "(unclosed"}, "points": 1}),
         "$.when.value: invalid regular expression \"(unclosed\": error: unclosed group"),
        // invalid intervals and non-positive half-lives
        (json!({"kind": "fit", "when": {"field": "a", "op": "within", "value": "a while"}, "points": 1}),
         "$.when.value: invalid interval \"a while\": expected amounts with units such as \"14 days\", \"1 hour 30 minutes\" or ISO 8601 \"P14D\""),
        (json!({"kind": "fit", "when": {"field": "a", "op": "within", "value": "0 days"}, "points": 1}),
         "$.when.value: operator \"within\" needs a positive interval, got \"0 days\""),
        (json!({"kind": "event", "event": "x", "points": 1, "half_life": "0 days"}), "$.half_life: half-life must be positive, got \"0 days\""),
        (json!({"kind": "event", "event": "x", "points": 1, "half_life": "-1 day"}), "$.half_life: half-life must be positive, got \"-1 day\""),
        (json!({"kind": "event", "event": "x", "points": 1, "within": "-x"}),
         "$.within: invalid interval \"-x\": expected amounts with units such as \"14 days\", \"1 hour 30 minutes\" or ISO 8601 \"P14D\""),
        (json!({"kind": "event", "event": "x", "points": 1, "half_life": 14}), "$.half_life: half-life must be an interval such as \"30 days\", got 14"),
        (json!({"kind": "event", "event": "x", "points": 1, "within": "forever"}),
         "$.within: invalid interval \"forever\": expected amounts with units such as \"14 days\", \"1 hour 30 minutes\" or ISO 8601 \"P14D\""),
        // event rule shapes
        (json!({"kind": "event", "points": 1}), "$: missing key \"event\" (an event type or an array of event types)"),
        (json!({"kind": "event", "event": [], "points": 1}), "$.event: expected at least one event type, got an empty array"),
        (json!({"kind": "event", "event": ["a", 2], "points": 1}), "$.event[1]: expected an event type (text), got 2"),
        (json!({"kind": "event", "event": ["a", " "], "points": 1}), "$.event[1]: an event type must not be empty"),
        (json!({"kind": "event", "event": "a", "points": 1, "count": "twice"}), "$.count: expected \"every\", \"once\" or {\"max\": N}, got \"twice\""),
        (json!({"kind": "event", "event": "a", "points": 1, "count": {"max": 0}}), "$.count.max: expected a whole number >= 1, got 0"),
        (json!({"kind": "event", "event": "a", "points": 1, "dimension": ""}), "$.dimension: expected a label of 1 to 63 bytes such as \"product:crm\", got \"\""),
        // fields outside the rule's scope
        (json!({"kind": "fit", "when": {"field": "props.url", "op": "eq", "value": "x"}, "points": 1}),
         "$.when.field: field \"props.url\" is an event property; fit and disqualifier rules see the contact's columns and \"account.<column>\" (use an event rule, or \"no_event\" / \"event_count\")"),
        (json!({"kind": "event", "event": "a", "when": {"field": "account.size", "op": "gt", "value": 1}, "points": 1}),
         "$.when.field: field \"account.size\" is an account column; event rules see the event's columns and \"props.<path>\" (use a fit rule for account columns)"),
        (json!({"kind": "fit", "when": {"field": "a..b", "op": "eq", "value": 1}, "points": 1}), "$.when.field: invalid field name \"a..b\": empty part between dots"),
        (json!({"kind": "fit", "when": {"field": "account.a.b", "op": "eq", "value": 1}, "points": 1}),
         "$.when.field: invalid field name \"account.a.b\": expected \"account.<column>\" with one column name"),
        (json!({"kind": "fit", "when": {"field": 7, "op": "eq", "value": 1}, "points": 1}), "$.when.field: expected a field name such as \"country\", got 7"),
        // history conditions
        (json!({"kind": "event", "event": "a", "when": {"no_event": "b"}, "points": 1}),
         "$.when.no_event: \"no_event\" looks at a contact's event history; it belongs in disqualifier rules, not event rules"),
        (json!({"kind": "fit", "when": {"no_event": "b", "within": "3 days"}, "points": 1}),
         "$.when: fit rules describe who the contact is; \"no_event\" and \"event_count\" belong in disqualifier rules"),
        (json!({"kind": "disqualifier", "when": {"no_event": "b", "within": "3 days", "op": "lt"}}),
         "$.when: unknown key \"op\" in a \"no_event\" condition; expected \"no_event\", \"within\""),
        (json!({"kind": "disqualifier", "when": {"event_count": "b", "op": "lt", "value": -1}}),
         "$.when.value: an event count is compared with a whole number >= 0, got -1"),
        (json!({"kind": "disqualifier", "when": {"event_count": "b", "op": "contains", "value": 1}}),
         "$.when.op: operator \"contains\" cannot compare an event count; expected eq, ne, gt, gte, lt or lte"),
        (json!({"kind": "disqualifier", "when": {"field": "a", "op": "eq", "value": 1}, "points": 5}),
         "$: unknown key \"points\" in a disqualifier rule; expected \"kind\", \"when\", \"description\""),
    ];
    for (json, message) in cases {
        match Rule::compile(&json) {
            Ok(_) => panic!("{json} compiled; expected {message}"),
            Err(e) => assert_eq!(e.to_string(), message, "{json}"),
        }
    }
}

#[test]
fn the_documented_examples_compile() {
    for example in [
        json!({"kind": "fit", "when": {"field": "country", "op": "in", "value": ["US", "UK"]}, "points": 1}),
        json!({"kind": "event", "event": "page_view", "when": {"field": "props.url", "op": "contains", "value": "/pricing"},
               "points": 3, "count": "every", "half_life": "14 days", "within": "90 days", "dimension": "product:crm"}),
        json!({"kind": "disqualifier", "when": {"all": [{"field": "role", "op": "in", "value": ["student", "unemployed"]},
               {"no_event": "email_open", "within": "60 days"}]}}),
        json!({"kind": "disqualifier", "when": {"event_count": "page_view", "within": "30 days", "op": "lt", "value": 1}}),
        json!({"kind": "fit", "when": {"field": "created_at", "op": "within", "value": "7 days"}, "points": 2}),
    ] {
        Rule::compile(&example).unwrap_or_else(|e| panic!("{example}: {e}"));
    }
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    fn any_json() -> impl Strategy<Value = Json> {
        let leaf = prop_oneof![
            Just(Json::Null),
            any::<bool>().prop_map(Json::Bool),
            any::<i64>().prop_map(Json::from),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number)),
            "[a-z_.]{0,12}".prop_map(Json::String),
            prop::sample::select(
                [
                    "fit",
                    "event",
                    "disqualifier",
                    "14 days",
                    "2024-05-01",
                    "2024-13-01",
                    "(",
                    "^a.*",
                    "props.url",
                    "account.employees",
                    "once",
                    "every",
                    "-1 day",
                    "0 days",
                ]
                .into_iter()
                .chain(crate::condition::OPERATORS.iter().copied())
                .collect::<Vec<_>>(),
            )
            .prop_map(|s| Json::String(s.to_owned())),
        ];
        leaf.prop_recursive(5, 64, 6, |inner| {
            let keys = prop::sample::select(vec![
                "kind",
                "when",
                "points",
                "field",
                "op",
                "value",
                "all",
                "any",
                "not",
                "event",
                "count",
                "half_life",
                "within",
                "dimension",
                "no_event",
                "event_count",
                "max",
                "case_sensitive",
                "props",
                "account",
                "url",
                "employees",
                "events",
                "event_type",
                "at",
            ]);
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Json::Array),
                prop::collection::btree_map(keys, inner, 0..6).prop_map(|m| {
                    Json::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
                }),
            ]
        })
    }

    /// A spread of valid rules covering every operator, to evaluate against junk.
    fn valid_rules() -> Vec<Rule> {
        let mut rules = Vec::new();
        for field in ["country", "employees", "account.employees", "tags", "created_at"] {
            for (op, value) in [
                ("eq", json!("US")),
                ("ne", json!(5)),
                ("in", json!(["a", 1, true])),
                ("not_in", json!([2])),
                ("gt", json!(3)),
                ("gte", json!("2024-01-01")),
                ("lt", json!(-1.5)),
                ("lte", json!(0)),
                ("between", json!([1, 2])),
                ("contains", json!("a")),
                ("starts_with", json!("b")),
                ("ends_with", json!("c")),
                ("matches", json!("^a+$")),
                ("within", json!("3 days")),
            ] {
                rules.push(Rule::compile(&json!({"kind": "fit", "when": {"field": field, "op": op, "value": value}, "points": 1})).unwrap());
            }
            rules.push(Rule::compile(&json!({"kind": "fit", "when": {"not": {"field": field, "op": "is_null"}}, "points": 1})).unwrap());
        }
        rules.push(Rule::compile(&json!({"kind": "event", "event": "a", "when": {"field": "props.url.x", "op": "contains", "value": "p"}, "points": 1})).unwrap());
        rules.push(Rule::compile(&json!({"kind": "disqualifier", "when": {"any": [{"no_event": "a", "within": "1 day"}, {"event_count": ["a", "b"], "op": "gte", "value": 2}]}})).unwrap());
        rules
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn compiling_arbitrary_json_never_panics(json in any_json()) {
            let _ = Rule::compile(&json);
            let _ = crate::settings::Settings::compile(&json);
        }

        #[test]
        fn evaluating_against_arbitrary_records_never_panics(record in any_json(), now in any::<i64>()) {
            for rule in valid_rules() {
                let facts = JsonFacts { record: &record, now };
                let _ = rule.matches(&facts, Some("a"));
            }
        }
    }
}
