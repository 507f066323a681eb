//! Tests of training's steps after the values are read: the split an outcome is in,
//! the half-life whose model validates best is the one kept (the first on a tie), and
//! the kept model as draft rules.

use std::f64::consts::LN_2;

use serde_json::json;

use crate::candidates::Candidate;
use crate::learning::{fit_with_validation, split_of, Fitted, Matrix, Model, Split};
use crate::training::{choose_model, count, matrix, Chosen, Row, Splitting};

#[test]
fn outcomes_are_split_by_key_or_by_the_column_naming_the_split() {
    for key in ["1", "42", "contact-7", ""] {
        assert_eq!(Splitting::ByKey.split(key, None), Some(split_of(key)));
        // Without a split column, a value is never read.
        assert_eq!(Splitting::ByKey.split(key, Some("test")), Some(split_of(key)));
    }
    let names = ["fit".to_owned(), "check".to_owned(), "holdout".to_owned()];
    let by_column = Splitting::ByColumn(&names);
    assert_eq!(by_column.split("1", Some("fit")), Some(Split::Train));
    assert_eq!(by_column.split("1", Some("check")), Some(Split::Valid));
    assert_eq!(by_column.split("1", Some("holdout")), Some(Split::Test));
    // NULL, a value naming no split, and the default names when renamed: ignored.
    for value in [None, Some("train"), Some("FIT"), Some("")] {
        assert_eq!(by_column.split("1", value), None, "{value:?}");
    }
}

/// Deterministic uniform numbers in [0, 1).
fn uniform(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed;
    move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A candidate named `name`, of the event kind with half-life `half_life` or of the fit
/// kind.
fn candidate(name: &str, half_life: Option<usize>) -> Candidate {
    let rule = match half_life {
        Some(h) => {
            json!({"kind": "event", "event": name, "half_life": format!("{h} days"), "points": 1})
        }
        None => json!({"kind": "fit", "when": {"field": name, "op": "is_null"}, "points": 1}),
    };
    Candidate { name: name.to_owned(), rule, half_life, unvalued: None }
}

/// Three candidates (a fit one, and one event candidate for each of two half-lives) and
/// `n` contacts, two in three training, the rest validation, whose log-odds are
/// -0.5 + 0.7·fit + 2·(the event candidate of half-life `planted`); the other event
/// candidate is the planted one blurred with noise.
fn planted(n: usize, planted: usize) -> (Vec<Candidate>, Vec<Row>) {
    let candidates =
        vec![candidate("fit", None), candidate("e0", Some(0)), candidate("e1", Some(1))];
    let mut next = uniform(11);
    let rows = (0..n)
        .map(|i| {
            let fit = f64::from(u8::from(next() < 0.4));
            let true_worth = 2.0 * next();
            let blurred = (true_worth + 1.5 * (next() - 0.5)).max(0.0);
            let mut values = vec![fit, blurred, blurred];
            values[1 + planted] = true_worth;
            let log_odds = -0.5 + 0.7 * fit + 2.0 * true_worth;
            let converted = next() < 1.0 / (1.0 + (-log_odds).exp());
            let split = if i % 3 == 2 { Split::Valid } else { Split::Train };
            Row { converted, split, values }
        })
        .collect();
    (candidates, rows)
}

#[test]
fn a_splits_matrix_holds_its_rows_with_the_columns_asked() {
    let rows = vec![
        Row { converted: true, split: Split::Train, values: vec![1.0, 2.0, 3.0] },
        Row { converted: false, split: Split::Valid, values: vec![4.0, 5.0, 6.0] },
        Row { converted: false, split: Split::Train, values: vec![7.0, 8.0, 9.0] },
    ];
    let mut calls = 0;
    let (x, labels) = matrix(&rows, Split::Train, &[2, 0], &mut || calls += 1);
    assert_eq!(x, Matrix { columns: 2, values: vec![3.0, 1.0, 9.0, 7.0] });
    assert_eq!(labels, [true, false]);
    assert_eq!(calls, 2, "once per row of the split");
    let (x, labels) = matrix(&rows, Split::Test, &[0], &mut || {});
    assert_eq!((x.rows(), labels.len()), (0, 0));
    assert_eq!([count(&rows, Split::Train, true), count(&rows, Split::Train, false)], [1, 1]);
    assert_eq!([count(&rows, Split::Valid, true), count(&rows, Split::Test, false)], [0, 0]);
}

/// The validation log loss of the model fitted on the given candidate columns alone.
fn valid_log_loss(rows: &[Row], columns: &[usize]) -> f64 {
    let train = matrix(rows, Split::Train, columns, &mut || {});
    let valid = matrix(rows, Split::Valid, columns, &mut || {});
    fit_with_validation((&train.0, &train.1), (&valid.0, &valid.1)).unwrap().valid_log_loss
}

#[test]
fn the_half_life_whose_model_validates_best_is_kept() {
    for planted_at in [0, 1] {
        let (candidates, rows) = planted(3_000, planted_at);
        let chosen = choose_model(&rows, &candidates, 2, &mut || {}).unwrap();
        assert_eq!(chosen.half_life, planted_at);
        // The fit candidate and the event candidate of the kept half-life, no other.
        assert_eq!(chosen.columns, [0, 1 + planted_at]);
        let (other, kept) =
            (valid_log_loss(&rows, &[0, 2 - planted_at]), valid_log_loss(&rows, &chosen.columns));
        assert_eq!(chosen.fitted.valid_log_loss, kept);
        assert!(kept < other, "kept {kept}, other {other}");
        // It was judged on the validation rows, with its own columns.
        assert_eq!(chosen.valid, matrix(&rows, Split::Valid, &chosen.columns, &mut || {}));
        // The planted effect is found, and ranks the validation contacts well.
        let weight = chosen.fitted.model.weights[1];
        assert!((weight - 2.0).abs() < 0.5, "{:?}", chosen.fitted);
        assert!(chosen.auc(&rows, Split::Valid, &mut || {}).unwrap() > 0.75);
    }
}

#[test]
fn on_a_tie_the_first_half_life_tried_is_kept() {
    // Both event candidates take the same values: the same model twice.
    let (candidates, mut rows) = planted(900, 1);
    for row in &mut rows {
        row.values[1] = row.values[2];
    }
    let chosen = choose_model(&rows, &candidates, 2, &mut || {}).unwrap();
    assert_eq!((chosen.half_life, chosen.columns.as_slice()), (0, &[0, 1][..]));
    // Three half-lives, the last two tied and better than the first: the second.
    let mut candidates = candidates;
    candidates.push(candidate("e2", Some(2)));
    let (_, planted_rows) = planted(900, 1);
    let rows: Vec<Row> = planted_rows
        .into_iter()
        .map(|mut row| {
            let worth = row.values[2];
            row.values.push(worth);
            row
        })
        .collect();
    let chosen = choose_model(&rows, &candidates, 3, &mut || {}).unwrap();
    assert_eq!((chosen.half_life, chosen.columns.as_slice()), (1, &[0, 2][..]));
}

#[test]
fn no_model_without_both_outcomes_in_training() {
    let (candidates, mut rows) = planted(300, 0);
    for row in rows.iter_mut().filter(|r| r.split == Split::Train) {
        row.converted = true;
    }
    assert_eq!(choose_model(&rows, &candidates, 2, &mut || {}), None);
}

#[test]
fn choosing_calls_between_so_it_can_be_stopped() {
    let (candidates, rows) = planted(300, 0);
    let mut calls = 0;
    choose_model(&rows, &candidates, 2, &mut || calls += 1).unwrap();
    // At least once per row for each half-life's matrices, and more for the fits.
    assert!(calls > 2 * rows.len(), "{calls}");
    // A between that raises (a cancel) stops it.
    let stopped = std::panic::catch_unwind(|| {
        let mut calls = 0;
        choose_model(&rows, &candidates, 2, &mut || {
            calls += 1;
            assert!(calls < 50, "cancelled");
        })
    });
    assert!(stopped.is_err());
}

#[test]
fn the_kept_model_as_draft_rules_names_its_candidates_and_their_points() {
    let candidates: Vec<Candidate> =
        ["a", "b", "c", "d"].iter().map(|n| candidate(n, None)).collect();
    // Fitted on candidates 3, 1 and 0, in that order: 3 points, a negligible 0.1, -5.
    let chosen = Chosen {
        half_life: 0,
        columns: vec![3, 1, 0],
        fitted: Fitted {
            model: Model { intercept: -1.0, weights: vec![0.3 * LN_2, 0.01 * LN_2, -0.5 * LN_2] },
            lambda: 10.0,
            valid_log_loss: 0.5,
        },
        valid: (Matrix::new(3), Vec::new()),
    };
    let rules = chosen.rules(&candidates, 10.0);
    let mut d = candidates[3].rule.clone();
    d["points"] = json!(3.0);
    let mut a = candidates[0].rule.clone();
    a["points"] = json!(-5.0);
    assert_eq!(rules, [("d".to_owned(), d), ("a".to_owned(), a)]);
    // Twice the points per doubling, twice the points.
    let points: Vec<_> =
        chosen.rules(&candidates, 20.0).into_iter().map(|(_, r)| r["points"].clone()).collect();
    assert_eq!(points, [json!(6.0), json!(-10.0)]);
}

#[test]
fn the_kept_models_auc_and_brier_on_a_split() {
    let chosen = Chosen {
        half_life: 0,
        columns: vec![1],
        fitted: Fitted {
            model: Model { intercept: 0.0, weights: vec![1.0] },
            lambda: 1.0,
            valid_log_loss: 0.0,
        },
        valid: (Matrix { columns: 1, values: vec![0.0, 0.0] }, vec![true, false]),
    };
    let row = |converted, split, value| Row { converted, split, values: vec![9.0, value] };
    let rows = vec![
        row(true, Split::Test, 2.0),
        row(false, Split::Test, 1.0),
        row(true, Split::Test, 0.5),
        row(false, Split::Test, -1.0),
        row(false, Split::Train, 5.0),
        row(true, Split::Train, -5.0),
    ];
    assert_eq!(chosen.auc(&rows, Split::Test, &mut || {}), Some(0.75));
    assert_eq!(chosen.auc(&rows, Split::Train, &mut || {}), Some(0.0));
    assert_eq!(chosen.auc(&rows, Split::Valid, &mut || {}), None);
    // Probability ½ for both validation contacts: (½)² each.
    assert_eq!(chosen.brier_valid(), 0.25);
}
