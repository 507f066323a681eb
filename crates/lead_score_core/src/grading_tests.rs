//! Grades, engagement bands and priorities: the settings that make them, and every
//! contact's grade, band, priority and rank at and around the edges.

use serde_json::json;

use crate::grading::Grading;
use crate::settings::Settings;

fn grading(settings: serde_json::Value) -> Grading {
    Settings::compile(&settings).unwrap().grading.unwrap()
}

#[test]
fn grades_are_kept_best_first_whatever_the_json_order() {
    let g = grading(json!({"grades": {"D": 0, "B": 20, "A": 30, "C": 10}}));
    let names: Vec<&str> = g.grades.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["A", "B", "C", "D"]);
    assert!(g.bands.is_empty());
    // Names that do not sort as the grades do (Pardot's A+ above A).
    let g = grading(json!({"grades": {"A": 30, "A+": 50, "B": 10}, "engagement_bands": [5]}));
    assert_eq!(g.grades, vec![("A+".into(), 50.0), ("A".into(), 30.0), ("B".into(), 10.0)]);
    assert_eq!(g.bands, vec![5.0]);
    assert_eq!(Settings::compile(&json!({})).unwrap().grading, None);
    assert_eq!(Settings::compile(&json!({"grades": null})).unwrap().grading, None);
}

/// (fit, engagement) -> (grade, band, priority, rank)
type Case = (f64, f64, Option<&'static str>, Option<usize>, Option<&'static str>, Option<i32>);

#[test]
fn grade_band_priority_and_rank() {
    let g = grading(json!({"grades": {"A": 30, "B": 20, "C": 10, "D": 0},
                           "engagement_bands": [60, 30, 10]}));
    // (fit, engagement) -> (grade, band, priority, rank)
    let cases: &[Case] = &[
        (30.0, 60.0, Some("A"), Some(1), Some("A1"), Some(1)), // exactly at both minimums
        (29.999, 59.999, Some("B"), Some(2), Some("B2"), Some(6)), // just below them
        (100.0, 1e9, Some("A"), Some(1), Some("A1"), Some(1)),
        (f64::INFINITY, f64::INFINITY, Some("A"), Some(1), Some("A1"), Some(1)),
        (20.0, 30.0, Some("B"), Some(2), Some("B2"), Some(6)),
        (10.0, 10.0, Some("C"), Some(3), Some("C3"), Some(11)),
        (0.0, 9.99, Some("D"), Some(4), Some("D4"), Some(16)), // the worst cell
        (0.0, -50.0, Some("D"), Some(4), Some("D4"), Some(16)),
        (0.0, f64::NEG_INFINITY, Some("D"), Some(4), Some("D4"), Some(16)),
        (-0.001, 100.0, None, Some(1), None, None), // below every grade: no grade, no priority
        (f64::NEG_INFINITY, 100.0, None, Some(1), None, None),
    ];
    for &(fit, engagement, grade, band, priority, rank) in cases {
        assert_eq!(g.grade_of(fit), grade, "grade of {fit}");
        assert_eq!(g.band_of(engagement), band, "band of {engagement}");
        assert_eq!(g.priority(fit, engagement).as_deref(), priority, "{fit} {engagement}");
        assert_eq!(g.priority_rank(fit, engagement), rank, "{fit} {engagement}");
    }
}

#[test]
fn the_rank_orders_the_matrix_grade_by_grade_then_band_by_band() {
    let g =
        grading(json!({"grades": {"Hot": 50, "Warm": 30, "Cold": 0}, "engagement_bands": [10]}));
    let mut cells = Vec::new();
    for fit in [60.0, 40.0, 5.0] {
        for engagement in [20.0, 0.0] {
            cells.push((
                g.priority_rank(fit, engagement).unwrap(),
                g.priority(fit, engagement).unwrap(),
            ));
        }
    }
    let ranks: Vec<i32> = cells.iter().map(|(r, _)| *r).collect();
    assert_eq!(ranks, [1, 2, 3, 4, 5, 6]);
    let names: Vec<&str> = cells.iter().map(|(_, p)| p.as_str()).collect();
    assert_eq!(names, ["Hot1", "Hot2", "Warm1", "Warm2", "Cold1", "Cold2"]);
    // Sorting the priority text would put Cold first: the rank does not.
    let mut sorted = names.clone();
    sorted.sort();
    assert_ne!(sorted, names);
}

#[test]
fn grades_without_bands_give_a_grade_but_no_priority() {
    let g = grading(json!({"grades": {"Fit": 10}}));
    assert_eq!(g.grade_of(10.0), Some("Fit"));
    assert_eq!(g.grade_of(9.0), None);
    assert_eq!(g.band_of(100.0), None);
    assert_eq!(g.priority(10.0, 100.0), None);
    assert_eq!(g.priority_rank(10.0, 100.0), None);
    // Nine bands, the most: band 10 below the last.
    let g = grading(json!({"grades": {"A": 0}, "engagement_bands": [9, 8, 7, 6, 5, 4, 3, 2, 1]}));
    assert_eq!(g.priority(0.0, 0.5).as_deref(), Some("A10"));
    assert_eq!(g.priority_rank(0.0, 0.5), Some(10));
}

#[test]
fn every_mistake_in_grades_and_bands_is_named_with_its_path() {
    let cases = [
        (json!({"grades": [30]}), "$.grades: expected an object of at least one grade name and its fit minimum such as {\"A\": 30, \"B\": 20}, got an array"),
        (json!({"grades": {}}), "$.grades: expected an object of at least one grade name and its fit minimum such as {\"A\": 30, \"B\": 20}, got an empty object"),
        (json!({"grades": {"A": 30, "B": "20"}}), "$.grades.B: expected a number, got \"20\""),
        (json!({"grades": {"A": 30, "B": null}}), "$.grades.B: expected a number, got null"),
        (json!({"grades": {"": 30}}), "$.grades: grade names are 1 to 63 bytes, got \"\""),
        (json!({"grades": {"x".repeat(64): 30}}), "$.grades: grade names are 1 to 63 bytes, got \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…"),
        (json!({"grades": {"A": 30, "B": 20, "C": 20}}), "$.grades.C: grade \"C\" has the same fit minimum (20) as grade \"B\""),
        (json!({"engagement_bands": [60, 30]}), "$.engagement_bands: engagement bands need \"grades\": a priority is a grade and a band"),
        (json!({"grades": {"A": 0}, "engagement_bands": 60}), "$.engagement_bands: expected an array of 1 to 9 engagement minimums, highest first, such as [60, 30, 10], got 60"),
        (json!({"grades": {"A": 0}, "engagement_bands": []}), "$.engagement_bands: expected an array of 1 to 9 engagement minimums, highest first, such as [60, 30, 10], got 0 of them"),
        (json!({"grades": {"A": 0}, "engagement_bands": [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]}), "$.engagement_bands: expected an array of 1 to 9 engagement minimums, highest first, such as [60, 30, 10], got 10 of them"),
        (json!({"grades": {"A": 0}, "engagement_bands": [60, 60]}), "$.engagement_bands[1]: engagement bands go from the highest minimum down: 60 is not below 60"),
        (json!({"grades": {"A": 0}, "engagement_bands": [10, 30, 60]}), "$.engagement_bands[1]: engagement bands go from the highest minimum down: 30 is not below 10"),
        (json!({"grades": {"A": 0}, "engagement_bands": [60, "30"]}), "$.engagement_bands[1]: expected a number, got \"30\""),
    ];
    for (json, message) in cases {
        assert_eq!(Settings::compile(&json).unwrap_err().to_string(), message, "{json}");
    }
}

#[test]
fn arrays_given_by_hand_are_checked_as_the_settings_are() {
    let s = |v: &[&str]| v.iter().map(|n| Some(n.to_string())).collect::<Vec<_>>();
    let f = |v: &[f64]| v.iter().map(|n| Some(*n)).collect::<Vec<_>>();
    let ok = Grading::from_arrays(&s(&["A", "B"]), &f(&[30.0, 20.0]), &f(&[10.0])).unwrap();
    assert_eq!(ok.priority(25.0, 10.0).as_deref(), Some("B1"));
    let cases = [
        (s(&["A", "B"]), f(&[30.0]), f(&[]), "2 grade names but 1 grade minimums: they pair up by position"),
        (s(&[]), f(&[]), f(&[]), "grades need at least one grade"),
        (s(&["A", "B"]), f(&[20.0, 30.0]), f(&[]), "grade minimums must be finite and strictly decreasing (best grade first), got 30 at position 2"),
        (s(&["A", "B"]), f(&[30.0, 30.0]), f(&[]), "grade minimums must be finite and strictly decreasing (best grade first), got 30 at position 2"),
        (s(&["A"]), f(&[f64::NAN]), f(&[]), "grade minimums must be finite and strictly decreasing (best grade first), got NaN at position 1"),
        (s(&[""]), f(&[1.0]), f(&[]), "grade names are 1 to 63 bytes, got \"\""),
        (s(&["A"]), vec![None], f(&[]), "grade names and minimums must not be NULL"),
        (s(&["A"]), f(&[1.0]), f(&[1.0, 2.0]), "engagement bands must be finite and strictly decreasing, got 2 at position 2"),
        (s(&["A"]), f(&[1.0]), f(&[f64::INFINITY]), "engagement bands must be finite and strictly decreasing, got inf at position 1"),
        (s(&["A"]), f(&[1.0]), vec![None], "engagement bands must not be NULL"),
        (s(&["A"]), f(&[1.0]), f(&[10.0, 9.0, 8.0, 7.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0]), "at most 9 engagement bands, got 10"),
    ];
    for (names, minimums, bands, message) in cases {
        assert_eq!(Grading::from_arrays(&names, &minimums, &bands).unwrap_err(), message);
    }
}
