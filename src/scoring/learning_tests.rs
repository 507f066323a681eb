//! Tests of learning points: planted weights are recovered, the penalty shrinks,
//! degenerate data stays finite, the split and the points are what they say.

use std::f64::consts::LN_2;

use crate::scoring::learning::{fit_with_validation, split_of, Matrix, Split};

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
