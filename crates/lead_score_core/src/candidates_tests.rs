//! Tests of training's candidate rules: their names and bodies, the shares and values
//! that give none, the half-lives tried, and the numbering of values.

use serde_json::json;

use crate::candidates::{
    frequent, half_lives, keep_valid, number_values, plain_key, plain_name, shown, Candidate,
    EventRule,
};
use crate::rule::Rule;

#[test]
fn the_profiles_own_half_life_comes_first_and_is_not_tried_twice() {
    let days = |found: Vec<(String, f64)>| found.into_iter().map(|(_, d)| d).collect::<Vec<_>>();
    assert_eq!(
        half_lives("14 days", 14.0 * 86_400.0),
        [("14 days", 14.0), ("7 days", 7.0), ("30 days", 30.0), ("90 days", 90.0)]
            .map(|(t, d)| (t.to_owned(), d))
    );
    // The same length written otherwise is the same half-life.
    let found = half_lives("P30D", 30.0 * 86_400.0);
    assert_eq!(found[0].0, "P30D");
    assert_eq!(days(found), [30.0, 7.0, 90.0]);
    assert_eq!(days(half_lives("1 hour", 3_600.0)), [1.0 / 24.0, 7.0, 30.0, 90.0]);
}

#[test]
fn a_share_is_frequent_between_two_percent_and_ninety_eight() {
    assert!(frequent(0.02) && frequent(0.5) && frequent(0.98));
    assert!(!frequent(0.0199) && !frequent(0.9801) && !frequent(0.0) && !frequent(1.0));
}

#[test]
fn fit_candidates_say_what_they_test() {
    let empty = Candidate::is_empty("account.industry");
    assert_eq!(empty.name, "learned: account.industry is empty");
    assert_eq!(
        empty.rule,
        json!({"kind": "fit", "when": {"field": "account.industry", "op": "is_null"}, "points": 1})
    );
    assert_eq!((empty.half_life, empty.unvalued.as_deref()), (None, None));

    let role = Candidate::equals("role", "vp");
    assert_eq!(role.name, "learned: role = vp");
    assert_eq!(role.rule["when"], json!({"field": "role", "op": "eq", "value": "vp"}));
    assert_eq!(role.unvalued.as_deref(), Some("learned: role ="));

    // A boolean's one candidate shows no value of the data, so it is never numbered.
    let active = Candidate::is_true("active");
    assert_eq!(active.name, "learned: active = true");
    assert_eq!(active.rule["when"], json!({"field": "active", "op": "eq", "value": true}));
    assert_eq!(active.unvalued, None);

    for candidate in [empty, role, active] {
        assert!(Rule::compile(&candidate.rule).is_ok(), "{candidate:?}");
    }
}

#[test]
fn a_long_value_is_cut_in_the_name_but_not_in_the_rule() {
    let long = "é".repeat(61);
    assert_eq!(shown(&"é".repeat(60)), "é".repeat(60));
    assert_eq!(shown(&long), format!("{}…", "é".repeat(59)));
    let candidate = Candidate::equals("title", &long);
    assert_eq!(candidate.name, format!("learned: title = {}…", "é".repeat(59)));
    assert_eq!(candidate.rule["when"]["value"], json!(long));
}

#[test]
fn ages_and_thresholds_that_are_not_finite_give_no_candidate() {
    let recent = Candidate::within_days("signed_up", 30.0).unwrap();
    assert_eq!(recent.name, "learned: signed_up within 30 days");
    assert_eq!(
        recent.rule["when"],
        json!({"field": "signed_up", "op": "within", "value": "30 days"})
    );
    assert_eq!(recent.unvalued.as_deref(), Some("learned: signed_up within"));
    assert!(Rule::compile(&recent.rule).is_ok());
    assert!(Candidate::within_days("signed_up", 999_999.0).is_some());
    for days in [1e6, f64::INFINITY, f64::NAN] {
        assert_eq!(Candidate::within_days("signed_up", days), None, "{days}");
    }

    let big = Candidate::at_least("employees", 2.5).unwrap();
    assert_eq!(big.name, "learned: employees >= 2.5");
    assert_eq!(big.rule["when"], json!({"field": "employees", "op": "gte", "value": 2.5}));
    assert_eq!(big.unvalued.as_deref(), Some("learned: employees >="));
    assert!(Rule::compile(&big.rule).is_ok());
    assert_eq!(Candidate::at_least("employees", -0.5).unwrap().name, "learned: employees >= -0.5");
    for threshold in [f64::INFINITY, f64::NEG_INFINITY, f64::NAN] {
        assert_eq!(Candidate::at_least("employees", threshold), None, "{threshold}");
    }
}

#[test]
fn an_event_type_gives_one_candidate_per_half_life() {
    let tried = half_lives("14 days", 14.0 * 86_400.0);
    let mut found = Vec::new();
    EventRule::of_type("demo_request").push_candidates(&tried, &mut found);
    assert_eq!(found.len(), 4);
    for (index, (candidate, (half_life, _))) in found.iter().zip(&tried).enumerate() {
        assert_eq!(candidate.name, "learned: demo_request");
        assert_eq!(candidate.half_life, Some(index));
        assert_eq!(
            candidate.rule,
            json!({"kind": "event", "event": "demo_request", "points": 1, "half_life": half_life})
        );
        assert!(Rule::compile(&candidate.rule).is_ok(), "{candidate:?}");
    }
}

#[test]
fn a_property_gives_a_candidate_only_when_a_rule_can_test_it_and_it_tells_something() {
    let page = |kind: &str, value: Option<&str>, median: Option<&str>, share: f64| {
        EventRule::of_property("visit", "page", kind, value, median, share)
    };
    let pricing = page("string", Some("pricing"), None, 0.3).unwrap();
    assert_eq!(pricing.name, "learned: visit with page = pricing");
    assert_eq!(pricing.unvalued.as_deref(), Some("learned: visit with page ="));
    assert_eq!(
        pricing.rule,
        json!({"kind": "event", "event": "visit", "points": 1,
               "when": {"field": "props.page", "op": "eq", "value": "pricing"}})
    );
    // A text value needs 5% to 95% of the type's events.
    assert!(page("string", Some("pricing"), None, 0.05).is_some());
    assert!(page("string", Some("pricing"), None, 0.95).is_some());
    assert!(page("string", Some("pricing"), None, 0.049).is_none());
    assert!(page("string", Some("pricing"), None, 0.951).is_none());

    let seconds = EventRule::of_property("visit", "seconds", "number", None, Some("42.5"), 1.0)
        .expect("a number every event has is still worth its median");
    assert_eq!(seconds.name, "learned: visit with seconds >= 42.5");
    assert_eq!(seconds.rule["when"], json!({"field": "props.seconds", "op": "gte", "value": 42.5}));
    assert!(page("number", None, Some("42.5"), 0.049).is_none());
    for median in ["abc", "NaN", "1e400"] {
        assert!(page("number", None, Some(median), 0.5).is_none(), "{median}");
    }
    // Keys a rule cannot address, and kinds that are neither, give none.
    for key in ["1st", "utm-source", "", "a.b"] {
        assert!(EventRule::of_property("visit", key, "string", Some("x"), None, 0.5).is_none());
    }
    assert!(EventRule::of_property("visit", "_k2", "string", Some("x"), None, 0.5).is_some());
    assert!(page("boolean", Some("true"), None, 0.5).is_none());
    assert!(page("string", None, None, 0.5).is_none());

    let mut found = Vec::new();
    pricing.push_candidates(&half_lives("30 days", 30.0 * 86_400.0), &mut found);
    assert!(found.iter().all(|c| Rule::compile(&c.rule).is_ok()));
    assert_eq!(found.len(), 3);
}

#[test]
fn values_are_numbered_per_name_in_the_order_found_each_once() {
    let tried = half_lives("7 days", 7.0 * 86_400.0);
    let mut found = vec![
        Candidate::is_empty("role"),
        Candidate::equals("role", "vp"),
        Candidate::equals("role", "cto"),
        Candidate::is_true("active"),
        Candidate::at_least("employees", 10.0).unwrap(),
        Candidate::at_least("employees", 50.0).unwrap(),
    ];
    EventRule::of_property("visit", "page", "string", Some("pricing"), None, 0.5)
        .unwrap()
        .push_candidates(&tried, &mut found);
    EventRule::of_property("visit", "page", "string", Some("docs"), None, 0.5)
        .unwrap()
        .push_candidates(&tried, &mut found);
    EventRule::of_type("visit").push_candidates(&tried, &mut found);
    number_values(&mut found);
    let names: Vec<&str> = found.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "learned: role is empty",
            "learned: role = #1",
            "learned: role = #2",
            "learned: active = true",
            "learned: employees >= #1",
            "learned: employees >= #2",
            "learned: visit with page = #1",
            "learned: visit with page = #1",
            "learned: visit with page = #1",
            "learned: visit with page = #2",
            "learned: visit with page = #2",
            "learned: visit with page = #2",
            "learned: visit",
            "learned: visit",
            "learned: visit",
        ]
    );
    // The rules still say what they match.
    assert_eq!(found[1].rule["when"]["value"], json!("vp"));
}

#[test]
fn only_rules_the_language_accepts_with_short_names_are_kept() {
    let mut found = vec![
        Candidate::equals("role", "vp"),
        // Names of 200 and 201 bytes.
        Candidate::equals(&"r".repeat(186), "vp"),
        Candidate::equals(&"s".repeat(187), "vp"),
        Candidate { rule: json!({"kind": "fit", "points": 1}), ..Candidate::is_empty("role") },
        Candidate::is_true("active"),
    ];
    keep_valid(&mut found);
    let names: Vec<&str> = found.iter().map(|c| c.name.as_str()).collect();
    let long = format!("learned: {} = vp", "r".repeat(186));
    assert_eq!(names, ["learned: role = vp", &long, "learned: active = true"]);
}

#[test]
fn plain_names_and_keys() {
    for name in ["role", "_x", "a1_b"] {
        assert!(plain_name(name), "{name}");
    }
    for name in ["", "Role", "1a", "a-b", "a b", "é"] {
        assert!(!plain_name(name), "{name}");
    }
    // Property keys may have capitals.
    for key in ["utmSource", "_x", "A1"] {
        assert!(plain_key(key), "{key}");
    }
    for key in ["", "1a", "a-b", "a.b", "é"] {
        assert!(!plain_key(key), "{key}");
    }
}

#[test]
fn identifying_columns_are_told_by_name_or_by_distinct_values() {
    use crate::candidates::identifying;
    // (name, text, distinct, present, identifying)
    let cases: &[(&str, bool, i64, i64, bool)] = &[
        ("first_name", true, 30, 6000, true),
        ("last_name", true, 20, 6000, true),
        ("work_email", true, 6000, 6000, true),
        ("contact_phone", true, 10, 100, true),
        ("name", true, 2000, 2000, true),
        ("plan_name", true, 4, 2000, false),
        ("company_name", true, 1900, 2000, true),
        ("owner_id", false, 12, 6000, true),
        ("id", false, 6000, 6000, true),
        ("job_title", true, 25, 6000, false),
        ("industry", true, 40, 2000, false),
        ("country", true, 4, 100, false),
        // Nearly unique text: a code, a free-text note.
        ("signup_code", true, 5000, 6000, true),
        ("signup_code", true, 2999, 6000, false),
        // Unique numbers and times keep their quartiles.
        ("amount", false, 6000, 6000, false),
        ("created_at", false, 6000, 6000, false),
        // An empty column identifies nobody.
        ("notes", true, 0, 0, false),
        // Words that merely contain a name are not names.
        ("username_length", false, 10, 100, false),
        ("company_size", true, 5, 100, false),
    ];
    for &(name, text, distinct, present, expected) in cases {
        assert_eq!(
            identifying(name, text, distinct, present),
            expected,
            "{name} {distinct}/{present}"
        );
    }
}
