//! Qualification: tags, disqualification, decay crossings and the 1–100 / star scales.

use serde_json::json;

use crate::decay::{DecayedSum, HalfLife};
use crate::qualification::{
    may_change, next_crossing, transitions, Change, Curve, Held, ScoreScale,
};
use crate::settings::Settings;

const DAY: i64 = 86_400_000_000;

fn tiers() -> Settings {
    Settings::compile(&json!({"pql_threshold": 80, "thresholds": {"MQL": 20, "SQL": 50}})).unwrap()
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Holding these tags and no stage.
fn tags(held: &[String]) -> Held<'_> {
    Held { tags: held, ..Held::default() }
}

/// (kind, tag) of each transition, for compact expectations.
fn kinds(found: &[crate::qualification::Transition]) -> Vec<(String, Option<String>)> {
    found
        .iter()
        .map(|t| {
            let (kind, tag, _, _) = t.describe();
            (kind.to_owned(), tag.map(str::to_owned))
        })
        .collect()
}

/// (held before, disqualified before, disqualified after, score) -> (kind, tag)s
type Case = (
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
    f64,
    &'static [(&'static str, Option<&'static str>)],
);

#[test]
fn each_threshold_reached_tags_once_and_disqualification_comes_first() {
    // (held before, disqualified before, disqualified after, score) -> (kind, tag)s
    #[rustfmt::skip]
    let cases: &[Case] = &[
        (&[], &[], &[], 10.0, &[]),
        (&[], &[], &[], 20.0, &[("tagged", Some("MQL"))]),
        (&[], &[], &[], 55.0, &[("tagged", Some("MQL")), ("tagged", Some("SQL"))]),
        (&["MQL"], &[], &[], 80.0, &[("tagged", Some("PQL")), ("tagged", Some("SQL"))]),
        // Sticky: held tags are never given again, nor taken away by a low score.
        (&["MQL", "SQL", "PQL"], &[], &[], -5.0, &[]),
        // Disqualified: no tag, whatever the score.
        (&[], &[], &["students"], 99.0, &[("disqualified", None)]),
        (&[], &["students"], &["students"], 99.0, &[]),
        // Requalified by this write: tagged by it too.
        (&[], &["students"], &[], 25.0, &[("requalified", None), ("tagged", Some("MQL"))]),
        // A tag held before disqualification stays (nothing is removed).
        (&["PQL"], &[], &["gone quiet"], 90.0, &[("disqualified", None)]),
    ];
    let settings = tiers();
    for (held, before, after, score, expected) in cases {
        let found = transitions(
            &settings,
            tags(&names(held)),
            0,
            &names(before),
            &names(after),
            *score,
            || "Demo".into(),
        );
        let expected: Vec<(String, Option<String>)> =
            expected.iter().map(|(k, t)| (k.to_string(), t.map(str::to_owned))).collect();
        assert_eq!(
            kinds(&found),
            expected,
            "held {held:?}, {before:?} -> {after:?}, score {score}"
        );
    }
}

#[test]
fn transitions_carry_score_reason_and_threshold() {
    let found = transitions(&tiers(), Held::default(), 0, &names(&["students"]), &[], 21.5, || {
        "Pricing page".into()
    });
    assert_eq!(found[0].reason, "no longer: students");
    assert_eq!(found[1].change, Change::Tagged { tag: "MQL".into(), threshold: 20.0 });
    assert_eq!((found[1].score, found[1].reason.as_str()), (21.5, "Pricing page"));
    let found = transitions(
        &tiers(),
        Held::default(),
        0,
        &[],
        &names(&["students", "bounced"]),
        3.0,
        || "x".into(),
    );
    assert_eq!(found[0].reason, "students, bounced");
    // Without thresholds nothing is ever tagged.
    let plain = Settings::compile(&json!({})).unwrap();
    assert!(transitions(&plain, Held::default(), 0, &[], &[], 1e9, || "x".into()).is_empty());
}

fn sum(terms: &[(f64, i64, Option<f64>)]) -> DecayedSum {
    let mut sum = DecayedSum::default();
    for &(points, at, half_life_days) in terms {
        sum.add(points, at, half_life_days.map(|d| HalfLife::from_seconds(d * 86_400.0).unwrap()));
    }
    sum
}

#[test]
fn only_fading_negative_points_cross_by_themselves() {
    let settings = Settings::compile(&json!({"pql_threshold": 50})).unwrap();
    // 60 that never decay, −20 halving every 10 days: 40 now, 50 once the −20 is down
    // to −10, i.e. after exactly one half-life.
    let rising = sum(&[(60.0, 0, None), (-20.0, 0, Some(10.0))]);
    let crossing = next_crossing(&settings, Held::default(), 0, 0.0, &rising, 0).unwrap();
    assert!((10 * DAY..=10 * DAY + 1_000_000).contains(&crossing), "{crossing}");
    assert!(0.0 + rising.value_at(crossing) >= 50.0);
    // Fit counts too: with 5 fit points the −20 need only fade to −15.
    let with_fit = next_crossing(&settings, Held::default(), 0, 5.0, &rising, 0).unwrap();
    let expected = (10.0 * (20.0f64 / 15.0).log2() * DAY as f64) as i64;
    assert!((with_fit - expected).abs() <= 1_000_000, "{with_fit} vs {expected}");
    // Positive points only fade down: never.
    assert_eq!(
        next_crossing(&settings, Held::default(), 0, 0.0, &sum(&[(49.0, 0, Some(10.0))]), 0),
        None
    );
    // Never high enough, however long: never.
    assert_eq!(
        next_crossing(
            &settings,
            Held::default(),
            0,
            0.0,
            &sum(&[(45.0, 0, None), (-20.0, 0, Some(1.0))]),
            0
        ),
        None
    );
    // Already held, or already over: nothing to wait for.
    assert_eq!(next_crossing(&settings, tags(&names(&["PQL"])), 0, 0.0, &rising, 0), None);
    assert_eq!(next_crossing(&settings, Held::default(), 0, 20.0, &rising, 0), None);
}

#[test]
fn only_contacts_near_a_tag_need_the_full_path() {
    let settings = tiers();
    let low = sum(&[(10.0, 0, Some(30.0))]);
    assert!(!may_change(&settings, Held::default(), 0, false, 0.0, &low, 0));
    assert!(may_change(&settings, Held::default(), 0, false, 10.0, &low, 0));
    assert!(!may_change(&settings, Held::default(), 0, true, 10.0, &low, 0));
    assert!(may_change(
        &settings,
        Held::default(),
        0,
        false,
        0.0,
        &sum(&[(-1.0, 0, Some(1.0))]),
        0
    ));
    let all = names(&["MQL", "SQL", "PQL"]);
    assert!(!may_change(&settings, tags(&all), 0, false, 500.0, &low, 0));
    // Holding MQL, at 30: the next tag (SQL, 50) is not reached.
    assert!(!may_change(&settings, tags(&names(&["MQL"])), 0, false, 20.0, &low, 0));
}

#[test]
fn stages_are_entered_upwards_only_and_never_while_disqualified() {
    let settings = Settings::compile(&json!({"stages": [
        {"name": "Lead"}, {"name": "MQL", "score": 20},
        {"name": "SQL", "score": 50, "when": {"field": "demo", "op": "eq", "value": true}}]}))
    .unwrap();
    let stage = |index: Option<usize>| Held {
        tags: &[],
        stage: index,
        stage_name: index.map(|i| settings.stages[i].name.as_str()),
    };
    let change = |held: Held<'_>, met: u64, after: &[String], score: f64| {
        let found = transitions(&settings, held, met, &[], after, score, || "Demo".into());
        found
            .iter()
            .map(|t| (t.describe().0, t.describe().2.to_owned(), t.describe().3.to_owned()))
            .map(|(k, from, to)| format!("{k} {from}->{to}"))
            .collect::<Vec<_>>()
    };
    assert_eq!(change(stage(None), 0b111, &[], 5.0), ["stage_changed none->Lead"]);
    assert_eq!(change(stage(None), 0b111, &[], 60.0), ["stage_changed none->SQL"]);
    assert_eq!(change(stage(Some(0)), 0b011, &[], 60.0), ["stage_changed Lead->MQL"]);
    assert_eq!(change(stage(Some(1)), 0b011, &[], 60.0), Vec::<String>::new());
    assert_eq!(change(stage(Some(2)), 0b111, &[], -60.0), Vec::<String>::new());
    assert_eq!(
        change(stage(Some(0)), 0b111, &names(&["bounced"]), 60.0),
        ["disqualified qualified->disqualified"]
    );
    // A stage the profile no longer lists: the contact enters the one it meets.
    let gone = Held { tags: &[], stage: None, stage_name: Some("Nurture") };
    assert_eq!(change(gone, 0b011, &[], 25.0), ["stage_changed Nurture->MQL"]);
    let label = transitions(&settings, stage(Some(0)), 0b111, &[], &[], 20.0, || "x".into());
    assert_eq!(label[0].label(), "stage MQL");
    assert_eq!(
        label[0].change,
        Change::StageChanged { from: Some("Lead".into()), to: "MQL".into(), index: 1 }
    );
    // Stage minimums count as thresholds: fading negative points carry a contact into
    // MQL, and a write that only adds points may need the full path near one.
    let rising = sum(&[(30.0, 0, None), (-20.0, 0, Some(10.0))]);
    let crossing = next_crossing(&settings, stage(Some(0)), 0b011, 0.0, &rising, 0).unwrap();
    assert!((10 * DAY..=10 * DAY + 1_000_000).contains(&crossing), "{crossing}");
    assert_eq!(next_crossing(&settings, stage(Some(1)), 0b011, 0.0, &rising, 0), None);
    let low = sum(&[(10.0, 0, Some(30.0))]);
    assert!(!may_change(&settings, stage(Some(0)), 0b111, false, 5.0, &low, 0));
    assert!(may_change(&settings, stage(Some(0)), 0b111, false, 10.0, &low, 0));
    assert!(may_change(&settings, stage(Some(1)), 0b111, false, 40.0, &low, 0));
    // SQL's condition did not hold: reaching its minimum changes nothing.
    assert!(!may_change(&settings, stage(Some(1)), 0b011, false, 40.0, &low, 0));
    assert!(!may_change(&settings, stage(Some(2)), 0b111, false, 400.0, &low, 0));
}

#[test]
fn score_100_and_stars_follow_the_documented_formulas() {
    let saturating = ScoreScale { curve: Curve::Saturating, scale: 25.0 };
    let linear = ScoreScale { curve: Curve::Linear, scale: 80.0 };
    // (scale, score) -> (score_100, stars)
    let cases = [
        (saturating, -3.0, 1, 0),
        (saturating, 0.0, 1, 0),
        (saturating, f64::NAN, 1, 0),
        (saturating, 0.001, 1, 1),
        (saturating, 25.0, 50, 3),
        (saturating, 50.0, 75, 4),
        (saturating, 1e9, 100, 5),
        (linear, 8.0, 10, 1),
        (linear, 40.0, 50, 3),
        (linear, 79.9, 100, 5),
        (linear, 800.0, 100, 5),
        (linear, 16.5, 21, 2),
    ];
    for (scale, score, score_100, stars) in cases {
        assert_eq!(
            (scale.score_100(score), scale.stars(score)),
            (score_100, stars),
            "{scale:?} at {score}"
        );
    }
}
