//! Tests of the evaluation metrics, each against a brute-force reference on
//! pseudo-random contacts (ties included), and on cases whose answer is known.

use serde_json::json;

use crate::evaluation::{
    auc, bands, calibration, catch_at, lift_top_decile, metrics, suggested_threshold, BandBy,
    Observation,
};
use crate::settings::{Likelihood, Settings};

fn observation(score: f64, converted: bool) -> Observation {
    Observation { score, converted, disqualified: false }
}

/// Deterministic contacts: scores on a coarse grid (many ties), conversions more
/// likely at higher scores, a few disqualified.
fn contacts(n: usize, seed: u64) -> Vec<Observation> {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 33) as f64 / (1u64 << 31) as f64
    };
    (0..n)
        .map(|_| {
            let score = (next() * 20.0).floor() * 2.5 - 10.0;
            let converted = next() < 0.1 + 0.4 * (score + 10.0) / 50.0;
            Observation { score, converted, disqualified: next() < 0.05 }
        })
        .collect()
}

/// AUC by counting every (converted, not converted) pair, ties half.
fn pairwise_auc(observations: &[Observation]) -> Option<f64> {
    let (mut wins, mut pairs) = (0.0, 0.0);
    for p in observations.iter().filter(|o| o.converted) {
        for n in observations.iter().filter(|o| !o.converted) {
            pairs += 1.0;
            wins += if p.score > n.score {
                1.0
            } else if p.score == n.score {
                0.5
            } else {
                0.0
            };
        }
    }
    (pairs > 0.0).then(|| wins / pairs)
}

#[test]
fn auc_is_the_share_of_pairs_ranked_right_ties_half() {
    for seed in 1..20 {
        let found = contacts(300, seed);
        let (fast, slow) = (auc(&found).unwrap(), pairwise_auc(&found).unwrap());
        assert!((fast - slow).abs() < 1e-12, "seed {seed}: {fast} vs {slow}");
    }
    let perfect = [observation(1.0, false), observation(2.0, true), observation(3.0, true)];
    assert_eq!(auc(&perfect), Some(1.0));
    let reversed = [observation(3.0, false), observation(2.0, true), observation(1.0, true)];
    assert_eq!(auc(&reversed), Some(0.0));
    let tied = [observation(5.0, false), observation(5.0, true)];
    assert_eq!(auc(&tied), Some(0.5));
    // Undefined without both kinds.
    assert_eq!(auc(&[observation(1.0, true)]), None);
    assert_eq!(auc(&[]), None);
}

#[test]
fn lift_compares_the_top_tenth_with_everyone() {
    // 20 contacts, 4 converted; the top 2 both converted: (2/2) / (4/20) = 5.
    let mut found: Vec<Observation> = (0..20).map(|i| observation(i as f64, false)).collect();
    for i in [19, 18, 3, 2] {
        found[i].converted = true;
    }
    assert_eq!(lift_top_decile(&found), Some(5.0));
    // Rounded up: 11 contacts make a top tenth of 2.
    let eleven: Vec<Observation> = (0..11).map(|i| observation(i as f64, i == 10)).collect();
    assert_eq!(lift_top_decile(&eleven), Some((1.0 / 2.0) / (1.0 / 11.0)));
    assert_eq!(lift_top_decile(&[observation(1.0, false)]), None);
}

#[test]
fn a_threshold_catches_the_contacts_at_or_over_it_and_not_disqualified() {
    let found = [
        observation(10.0, true),
        observation(10.0, false),
        Observation { score: 30.0, converted: true, disqualified: true },
        observation(5.0, true),
        observation(1.0, false),
    ];
    let catch = catch_at(&found, 10.0);
    assert_eq!(catch.precision, Some(0.5));
    assert_eq!(catch.recall, Some(1.0 / 3.0));
    assert_eq!(catch.share, Some(0.4));
    // Nobody tagged: no precision, nothing caught.
    let none = catch_at(&found, 100.0);
    assert_eq!((none.precision, none.recall, none.share), (None, Some(0.0), Some(0.0)));
}

#[test]
fn the_suggested_threshold_has_the_best_f1_of_any_score() {
    for seed in 1..20 {
        let found = contacts(200, seed);
        let best = suggested_threshold(&found).unwrap();
        let f1_at = |threshold: f64| {
            let catch = catch_at(&found, threshold);
            match (catch.precision, catch.recall) {
                (Some(p), Some(r)) if p + r > 0.0 => 2.0 * p * r / (p + r),
                _ => 0.0,
            }
        };
        assert!((f1_at(best.threshold) - best.f1).abs() < 1e-12);
        for o in &found {
            assert!(f1_at(o.score) <= best.f1 + 1e-12, "seed {seed}: {} beats it", o.score);
        }
    }
    assert_eq!(suggested_threshold(&[observation(1.0, false)]), None);
}

#[test]
fn a_tie_in_f1_suggests_the_highest_score() {
    // Two converted of four. At 4: one caught of one, F1 2/3; at 3 and 2 worse; at 1:
    // both caught of four, F1 2/3 again. The documented tie-break takes the higher.
    let found = [
        observation(1.0, true),
        observation(2.0, false),
        observation(4.0, true),
        observation(3.0, false),
    ];
    let best = suggested_threshold(&found).unwrap();
    assert_eq!((best.threshold, best.precision, best.recall), (4.0, 1.0, 0.5));
    let low = catch_at(&found, 1.0);
    assert_eq!((low.precision, low.recall), (Some(0.5), Some(1.0)));
    assert_eq!(best.f1, 2.0 / 3.0, "the two do tie");
}

#[test]
fn metrics_are_listed_per_tag_in_the_profile_order() {
    let settings =
        Settings::compile(&json!({"pql_threshold": 20, "thresholds": {"MQL": 10}})).unwrap();
    let names: Vec<String> =
        metrics(&settings, &contacts(50, 3)).into_iter().map(|(name, _)| name).collect();
    assert_eq!(
        names,
        [
            "contacts",
            "positives",
            "auc",
            "lift_top_decile",
            "precision_PQL",
            "recall_PQL",
            "share_PQL",
            "precision_MQL",
            "recall_MQL",
            "share_MQL",
            "suggested_threshold",
            "suggested_precision",
            "suggested_recall",
            "suggested_f1"
        ]
    );
}

#[test]
fn bands_hold_every_contact_once() {
    let settings = Settings::compile(&json!({"pql_threshold": 20})).unwrap();
    for n in [0, 7, 10, 23, 301] {
        let found = contacts(n, n as u64 + 1);
        for by in [BandBy::Decile, BandBy::Score100, BandBy::Stars] {
            let banded = bands(&settings, &found, by);
            let total: u64 = banded.iter().map(|b| b.contacts).sum();
            let converted: u64 = banded.iter().map(|b| b.positives).sum();
            assert_eq!(total as usize, n, "{by:?}");
            assert_eq!(converted as usize, found.iter().filter(|o| o.converted).count());
        }
        // Deciles as ntile(10) cuts them: sizes differ by at most one, larger first.
        let sizes: Vec<u64> =
            bands(&settings, &found, BandBy::Decile).iter().map(|b| b.contacts).collect();
        assert!(sizes.windows(2).all(|w| w[0] >= w[1] && w[0] - w[1] <= 1), "{sizes:?}");
        assert_eq!(sizes.len(), n.min(10));
    }
    assert_eq!(bands(&settings, &[], BandBy::Score100).len(), 10);
    assert_eq!(bands(&settings, &[], BandBy::Stars).len(), 6);
}

#[test]
fn calibration_is_the_brier_score_and_the_log_loss() {
    // Log-odds 0 at a score of 0: every probability is one half.
    let even = Likelihood { intercept: 0.0, points_per_doubling: 10.0 };
    let found = [observation(0.0, true), observation(0.0, false)];
    let (brier, log_loss) = calibration(even, &found).unwrap();
    assert!((brier - 0.25).abs() < 1e-12);
    assert!((log_loss - std::f64::consts::LN_2).abs() < 1e-12);
    // Certain and right: no loss; certain and wrong: bounded, never infinite.
    let sure = Likelihood { intercept: 100.0, points_per_doubling: 10.0 };
    assert_eq!(calibration(sure, &[observation(0.0, true)]).unwrap().0, 0.0);
    let (wrong_brier, wrong_loss) = calibration(sure, &[observation(0.0, false)]).unwrap();
    assert_eq!(wrong_brier, 1.0);
    assert!(wrong_loss.is_finite() && wrong_loss > 30.0);
    assert_eq!(calibration(even, &[]), None);
    // Listed only for a profile with a likelihood.
    let with =
        Settings::compile(&json!({"likelihood": {"intercept": -1, "points_per_doubling": 5}}));
    let names: Vec<String> =
        metrics(&with.unwrap(), &contacts(30, 2)).into_iter().map(|(name, _)| name).collect();
    assert_eq!(&names[4..6], ["brier", "log_loss"]);
}
