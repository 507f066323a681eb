//! Tests of learning points: planted weights are recovered, the penalty shrinks,
//! degenerate data stays finite, the split and the points are what they say.

use std::f64::consts::LN_2;

use crate::learning::{
    fit_with_validation, fit_with_validation_between, split_of, Matrix, Model, Split, LAMBDAS,
};

/// Deterministic uniform numbers in [0, 1).
fn uniform(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed;
    move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `n` contacts with a binary feature, a continuous one and pure noise, converting with
/// log-odds -1 + 1.5·x1 + 0.8·x2.
fn planted(n: usize, seed: u64) -> (Matrix, Vec<bool>) {
    let mut next = uniform(seed);
    let mut x = Matrix::new(3);
    let mut labels = Vec::new();
    for _ in 0..n {
        let row = [f64::from(u8::from(next() < 0.3)), 3.0 * next(), next()];
        let log_odds = -1.0 + 1.5 * row[0] + 0.8 * row[1];
        labels.push(next() < 1.0 / (1.0 + (-log_odds).exp()));
        x.push_row(&row);
    }
    (x, labels)
}

#[test]
fn planted_weights_are_recovered() {
    let (x, y) = planted(20_000, 7);
    let (vx, vy) = planted(5_000, 8);
    let fitted = fit_with_validation((&x, &y), (&vx, &vy)).unwrap();
    let model = &fitted.model;
    assert!((model.intercept + 1.0).abs() < 0.15, "{model:?}");
    assert!((model.weights[0] - 1.5).abs() < 0.15, "{model:?}");
    assert!((model.weights[1] - 0.8).abs() < 0.1, "{model:?}");
    assert!(model.weights[2].abs() < 0.2, "{model:?}");
    // Same data, same model, bit for bit.
    assert_eq!(fit_with_validation((&x, &y), (&vx, &vy)).unwrap(), fitted);
    // Better on held-out data than knowing only the base rate.
    let rate = vy.iter().filter(|y| **y).count() as f64 / vy.len() as f64;
    let base = -(rate * rate.ln() + (1.0 - rate) * (1.0 - rate).ln());
    assert!(fitted.valid_log_loss < base);
}

#[test]
fn points_double_the_odds_every_points_per_doubling() {
    let (x, y) = planted(3_000, 3);
    let model = fit_with_validation((&x, &y), (&x, &y)).unwrap().model;
    let points = model.points(10.0);
    for i in 0..50 {
        let row = x.row(i);
        let score: f64 = points.iter().zip(row).map(|(p, v)| p * v).sum();
        let from_points = model.intercept + score * LN_2 / 10.0;
        assert!((from_points - model.log_odds(row)).abs() < 1e-9);
    }
}

#[test]
fn degenerate_data_stays_finite() {
    // A constant feature gets no weight; a feature that separates the outcomes
    // perfectly gets a large but finite one.
    let mut x = Matrix::new(2);
    let mut y = Vec::new();
    for i in 0..400 {
        let converted = i % 3 == 0;
        x.push_row(&[1.0, f64::from(u8::from(converted))]);
        y.push(converted);
    }
    let fitted = fit_with_validation((&x, &y), (&x, &y)).unwrap();
    assert_eq!(fitted.model.weights[0], 0.0);
    assert!(fitted.model.weights[1].is_finite() && fitted.model.weights[1] > 1.0);
    assert!(fitted.model.intercept.is_finite());
    // One outcome only: nothing to learn.
    let all: Vec<bool> = vec![true; 400];
    assert_eq!(fit_with_validation((&x, &all), (&x, &all)), None);
}

#[test]
fn the_split_depends_on_the_key_alone() {
    let mut counts = [0usize; 3];
    for id in 0..20_000 {
        let split = split_of(&id.to_string());
        assert_eq!(split, split_of(&id.to_string()));
        counts[match split {
            Split::Train => 0,
            Split::Valid => 1,
            Split::Test => 2,
        }] += 1;
    }
    let share = |c: usize| c as f64 / 20_000.0;
    assert!((share(counts[0]) - 0.70).abs() < 0.02, "{counts:?}");
    assert!((share(counts[1]) - 0.15).abs() < 0.02, "{counts:?}");
    assert!((share(counts[2]) - 0.15).abs() < 0.02, "{counts:?}");
}

#[test]
fn the_split_is_fnv1a_mod_100_cut_at_70_and_85() {
    // FNV-1a (64-bit) of each key, computed outside this code (the first three are the
    // published test vectors), mod 100; the numbered keys sit on either side of each cut.
    let known = [
        ("", 0xcbf2_9ce4_8422_2325_u64, 37, Split::Train),
        ("a", 0xaf63_dc4c_8601_ec8c, 96, Split::Test),
        ("foobar", 0x8594_4171_f739_67e8, 68, Split::Train),
        ("contact-7", 0x881f_344a_0067_2727, 19, Split::Train),
        ("été", 0x009a_8f0e_88b5_1857, 59, Split::Train),
        ("742", 0, 0, Split::Train),
        ("239", 0, 69, Split::Train),
        ("155", 0, 70, Split::Valid),
        ("126", 0, 84, Split::Valid),
        ("17", 0, 85, Split::Test),
        ("73", 0, 99, Split::Test),
    ];
    for (key, hash, rest, split) in known {
        if hash != 0 {
            assert_eq!(hash % 100, rest, "{key:?}");
        }
        assert_eq!(split_of(key), split, "key {key:?}, hash mod 100 = {rest}");
    }
}

/// `planted` with its labels' link to the binary feature turned around: what the
/// training data teaches about it is wrong on these.
fn contradicting(n: usize, seed: u64) -> (Matrix, Vec<bool>) {
    let mut next = uniform(seed);
    let mut x = Matrix::new(3);
    let mut labels = Vec::new();
    for _ in 0..n {
        let row = [f64::from(u8::from(next() < 0.3)), 3.0 * next(), next()];
        let log_odds = -1.0 - 1.5 * row[0];
        labels.push(next() < 1.0 / (1.0 + (-log_odds).exp()));
        x.push_row(&row);
    }
    (x, labels)
}

#[test]
fn the_penalty_is_the_one_best_on_validation() {
    // Validated on its own training data, the weakest penalty fits best.
    let (x, y) = planted(3_000, 11);
    let fitted = fit_with_validation((&x, &y), (&x, &y)).unwrap();
    assert_eq!(fitted.lambda, 1.0, "{fitted:?}");
    // Validated on data where the effects it learns are wrong, the strongest wins.
    let (vx, vy) = contradicting(3_000, 12);
    let fitted = fit_with_validation((&x, &y), (&vx, &vy)).unwrap();
    assert_eq!(fitted.lambda, 1000.0, "{fitted:?}");
    // The log loss reported is the chosen model's, on the validation data.
    assert_eq!(fitted.valid_log_loss, fitted.model.log_loss(&vx, &vy));
}

#[test]
fn a_tie_on_validation_keeps_the_stronger_penalty() {
    // No validation rows: every penalty's log loss is 0, a tie; the first tried, the
    // strongest, is kept.
    assert_eq!(LAMBDAS[0], 1000.0);
    let (x, y) = planted(2_000, 5);
    let fitted = fit_with_validation((&x, &y), (&Matrix::new(3), &[])).unwrap();
    assert_eq!(fitted.valid_log_loss, 0.0);
    assert_eq!(fitted.lambda, 1000.0, "{fitted:?}");
}

#[test]
fn rules_under_half_a_point_are_dropped() {
    // Weights worth 0.49, 0.5, -0.5, -0.49, 17.3333 and 0 points at 10 points per doubling.
    let points = [0.49, 0.5, -0.5, -0.49, 17.3333, 0.0];
    let model =
        Model { intercept: -2.0, weights: points.iter().map(|p| p * LN_2 / 10.0).collect() };
    let kept = model.rule_points(10.0);
    assert_eq!(kept, vec![(1, 0.5), (2, -0.5), (4, 17.33)]);
    // At 20 points per doubling each is worth twice as much: 0.49 is kept, as 0.98.
    let kept = model.rule_points(20.0);
    assert_eq!(kept, vec![(0, 0.98), (1, 1.0), (2, -1.0), (3, -0.98), (4, 34.67)]);
}

#[test]
fn a_fit_calls_between_its_steps_and_stops_when_told() {
    let (x, y) = planted(2_000, 7);
    let (vx, vy) = planted(500, 8);
    // Counting: the same model as without a callback, and a call per row of every pass.
    let mut calls = 0usize;
    let counted = fit_with_validation_between((&x, &y), (&vx, &vy), &mut || calls += 1);
    assert_eq!(counted, fit_with_validation((&x, &y), (&vx, &vy)));
    assert!(calls > LAMBDAS.len() * 2 * x.rows(), "{calls} calls");
    // A callback that does not return (as a cancel raises) stops the fit at that call.
    let mut seen = 0usize;
    let stopped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        fit_with_validation_between((&x, &y), (&vx, &vy), &mut || {
            seen += 1;
            if seen == 5_000 {
                panic!("cancelled");
            }
        })
    }));
    assert!(stopped.is_err());
    assert_eq!(seen, 5_000);
}
