//! What `train` does once each contact's value of each candidate is known: which split
//! an outcome is in, the model chosen among the half-lives tried (each fitted by
//! `learning`), and the chosen model turned into draft rules.

use serde_json::{json, Value as Json};

use crate::candidates::Candidate;
use crate::evaluation::{auc, Observation};
use crate::interrupt::Between;
use crate::learning::{fit_with_validation_between, split_of, Fitted, Matrix, Split};

/// How outcomes are split into training, validation and test data.
#[derive(Clone, Copy, Debug)]
pub enum Splitting<'a> {
    /// By a hash of each contact's key (`split_of`).
    ByKey,
    /// By a column whose values name the training, validation and test data, in that
    /// order.
    ByColumn(&'a [String; 3]),
}

impl Splitting<'_> {
    /// The split of the outcome of contact `key` whose split column holds `value`: none
    /// when the column is NULL or names none of the three (the outcome is ignored).
    pub fn split(&self, key: &str, value: Option<&str>) -> Option<Split> {
        match self {
            Splitting::ByKey => Some(split_of(key)),
            Splitting::ByColumn(names) => {
                let value = value?;
                names
                    .iter()
                    .position(|n| n == value)
                    .map(|i| [Split::Train, Split::Valid, Split::Test][i])
            }
        }
    }
}

/// One contact's row: whether it converted, its split, and its value of each candidate.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub converted: bool,
    pub split: Split,
    pub values: Vec<f64>,
}

/// How many of `rows` are in `split` with outcome `converted`.
pub fn count(rows: &[Row], split: Split, converted: bool) -> usize {
    rows.iter().filter(|r| r.split == split && r.converted == converted).count()
}

/// One split's values and outcomes.
pub type SplitRows = (Matrix, Vec<bool>);

/// The rows of one split, with only the given candidate columns. `between` is called
/// once per row.
pub fn matrix(rows: &[Row], split: Split, columns: &[usize], between: Between) -> SplitRows {
    let mut x = Matrix::new(columns.len());
    let mut labels = Vec::new();
    let mut values = vec![0.0; columns.len()];
    for row in rows.iter().filter(|r| r.split == split) {
        between();
        for (v, &c) in values.iter_mut().zip(columns) {
            *v = row.values[c];
        }
        x.push_row(&values);
        labels.push(row.converted);
    }
    (x, labels)
}

/// The model kept: the half-life its event candidates decay with (an index into the
/// half-lives tried), the candidates it was fitted on (indices into all of them), the
/// fit, and the validation rows it was judged on.
#[derive(Clone, Debug, PartialEq)]
pub struct Chosen {
    pub half_life: usize,
    pub columns: Vec<usize>,
    pub fitted: Fitted,
    pub valid: SplitRows,
}

/// Fit a model for each of `half_lives` half-lives (the fit candidates with the event
/// candidates of that half-life) on the training rows, and keep the one with the lowest
/// log loss on the validation rows: the first tried on a tie, so the profile's own
/// half-life (tried first) unless another does better. None when no model could be
/// fitted (the training rows lack an outcome). `between` is called between rows, fits
/// and the fits' steps (see `Between`).
pub fn choose_model(
    rows: &[Row],
    candidates: &[Candidate],
    half_lives: usize,
    between: Between,
) -> Option<Chosen> {
    let mut best: Option<Chosen> = None;
    for half_life in 0..half_lives {
        let columns: Vec<usize> = candidates
            .iter()
            .enumerate()
            .filter(|(_, c)| c.half_life.is_none_or(|h| h == half_life))
            .map(|(i, _)| i)
            .collect();
        let train = matrix(rows, Split::Train, &columns, &mut *between);
        let valid = matrix(rows, Split::Valid, &columns, &mut *between);
        let Some(fitted) =
            fit_with_validation_between((&train.0, &train.1), (&valid.0, &valid.1), &mut *between)
        else {
            continue;
        };
        if best.as_ref().is_none_or(|b| fitted.valid_log_loss < b.fitted.valid_log_loss) {
            best = Some(Chosen { half_life, columns, fitted, valid });
        }
    }
    best
}

impl Chosen {
    /// The model as draft rules: each candidate worth a rule (see `Model::rule_points`)
    /// with its name and its body carrying the points learned.
    pub fn rules(&self, candidates: &[Candidate], points_per_doubling: f64) -> Vec<(String, Json)> {
        self.fitted
            .model
            .rule_points(points_per_doubling)
            .into_iter()
            .map(|(j, points)| {
                let candidate = &candidates[self.columns[j]];
                let mut rule = candidate.rule.clone();
                rule["points"] = json!(points);
                (candidate.name.clone(), rule)
            })
            .collect()
    }

    /// The model's AUC on one split's rows; none when the split lacks an outcome.
    pub fn auc(&self, rows: &[Row], split: Split, between: Between) -> Option<f64> {
        let (x, labels) = matrix(rows, split, &self.columns, between);
        let observations: Vec<Observation> = (0..x.rows())
            .map(|i| Observation {
                score: self.fitted.model.log_odds(x.row(i)),
                converted: labels[i],
                disqualified: false,
            })
            .collect();
        auc(&observations)
    }

    /// The model's Brier score on the validation rows.
    pub fn brier_valid(&self) -> f64 {
        self.fitted.model.brier(&self.valid.0, &self.valid.1)
    }
}
