//! Learning points from outcomes: a logistic regression with a ridge penalty over the
//! values candidate rules take for each contact (1 when a fit rule holds, an event
//! rule's decayed worth at one point per event), fitted by Newton's method; the
//! penalty chosen on validation data; the weights turned into points of a profile whose
//! likelihood links its score back to the fitted probability. Deterministic: the same
//! data gives the same model, bit for bit.

use std::f64::consts::LN_2;

use crate::interrupt::Between;
use crate::settings::logistic;

/// Learned features worth less than this many points are not written as rules.
pub const NEGLIGIBLE_POINTS: f64 = 0.5;

/// Rows of feature values, one row per contact, `columns` values each.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Matrix {
    pub columns: usize,
    pub values: Vec<f64>,
}

impl Matrix {
    pub fn new(columns: usize) -> Matrix {
        Matrix { columns, values: Vec::new() }
    }

    pub fn push_row(&mut self, row: &[f64]) {
        debug_assert_eq!(row.len(), self.columns);
        self.values.extend_from_slice(row);
    }

    pub fn rows(&self) -> usize {
        self.values.len().checked_div(self.columns).unwrap_or(0)
    }

    pub fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.columns..(i + 1) * self.columns]
    }
}

/// A fitted model on the features as given: log-odds = `intercept` + Σ `weights`·x.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    pub intercept: f64,
    pub weights: Vec<f64>,
}

/// `-ln p`, with `p` kept within 1e-15 of 0 and 1.
fn surprise(p: f64) -> f64 {
    -p.clamp(1e-15, 1.0 - 1e-15).ln()
}

impl Model {
    pub fn log_odds(&self, row: &[f64]) -> f64 {
        self.intercept + self.weights.iter().zip(row).map(|(w, x)| w * x).sum::<f64>()
    }

    pub fn probability(&self, row: &[f64]) -> f64 {
        logistic(self.log_odds(row))
    }

    /// The mean negative log-likelihood of `labels`.
    pub fn log_loss(&self, x: &Matrix, labels: &[bool]) -> f64 {
        let total: f64 = (0..x.rows())
            .map(|i| {
                let p = self.probability(x.row(i));
                if labels[i] {
                    surprise(p)
                } else {
                    surprise(1.0 - p)
                }
            })
            .sum();
        total / x.rows().max(1) as f64
    }

    /// The mean squared error of the probabilities.
    pub fn brier(&self, x: &Matrix, labels: &[bool]) -> f64 {
        let total: f64 = (0..x.rows())
            .map(|i| {
                let p = self.probability(x.row(i));
                let y = if labels[i] { 1.0 } else { 0.0 };
                (p - y) * (p - y)
            })
            .sum();
        total / x.rows().max(1) as f64
    }

    /// The model as points: `points_per_doubling` points double the odds, so feature
    /// j is worth `weight·points_per_doubling / ln 2` points, and the profile's
    /// likelihood is this intercept with that `points_per_doubling`.
    pub fn points(&self, points_per_doubling: f64) -> Vec<f64> {
        self.weights.iter().map(|w| w * points_per_doubling / LN_2).collect()
    }

    /// The features worth a rule: each feature's index with its points rounded to
    /// hundredths, leaving out those worth less than `NEGLIGIBLE_POINTS` (before
    /// rounding) either way.
    pub fn rule_points(&self, points_per_doubling: f64) -> Vec<(usize, f64)> {
        self.points(points_per_doubling)
            .into_iter()
            .enumerate()
            .filter(|(_, p)| p.abs() >= NEGLIGIBLE_POINTS)
            .map(|(i, p)| (i, (p * 100.0).round() / 100.0))
            .collect()
    }
}

/// The features scaled to a standard deviation of 1 (constant ones dropped), so one
/// penalty suits features of any scale. Not centred: a feature that is 0 for a contact
/// stays 0, so each contact's row holds only its few non-zero values, and the fit's
/// work grows with those, not with every candidate. (The intercept, not penalised,
/// absorbs the means.)
struct Scaled {
    scales: Vec<f64>,
}

impl Scaled {
    fn of(x: &Matrix, between: Between) -> Scaled {
        let (n, k) = (x.rows().max(1) as f64, x.columns);
        let mut means = vec![0.0; k];
        for i in 0..x.rows() {
            between();
            for (m, v) in means.iter_mut().zip(x.row(i)) {
                *m += v;
            }
        }
        means.iter_mut().for_each(|m| *m /= n);
        let mut scales = vec![0.0; k];
        for i in 0..x.rows() {
            between();
            for ((s, v), m) in scales.iter_mut().zip(x.row(i)).zip(&means) {
                *s += (v - m) * (v - m);
            }
        }
        // A constant feature has no scale: it gets no weight.
        scales.iter_mut().for_each(|s| *s = if *s > 0.0 { (*s / n).sqrt() } else { 0.0 });
        Scaled { scales }
    }

    /// A model on scaled features as one on the features as given.
    fn unscale(&self, intercept: f64, weights: &[f64]) -> Model {
        let weights = weights
            .iter()
            .zip(&self.scales)
            .map(|(w, s)| if *s > 0.0 { w / s } else { 0.0 })
            .collect();
        Model { intercept, weights }
    }
}

/// Solve `a·x = b` for a symmetric positive definite `a` (row-major, `n`×`n`) by
/// Cholesky decomposition; `None` if it is not positive definite.
/// `between` is called once per column: the decomposition's cost grows with the cube
/// of the number of candidates.
fn solve(mut a: Vec<f64>, mut b: Vec<f64>, n: usize, between: Between) -> Option<Vec<f64>> {
    for j in 0..n {
        between();
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        if d.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            return None;
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
    }
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= a[i * n + k] * b[k];
        }
        b[i] = s / a[i * n + i];
    }
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in i + 1..n {
            s -= a[k * n + i] * b[k];
        }
        b[i] = s / a[i * n + i];
    }
    Some(b)
}

/// At most this many Newton steps per fit.
const MAX_STEPS: usize = 100;

/// The scaled non-zero values of every row, by column (ascending): built once per
/// training set, read by every step of every fit. Each row also has the intercept's 1.
struct Design {
    /// Number of weights; the intercept is parameter `columns`.
    columns: usize,
    starts: Vec<usize>,
    indices: Vec<usize>,
    values: Vec<f64>,
}

impl Design {
    fn of(x: &Matrix, scaled: &Scaled, between: Between) -> Design {
        let mut design =
            Design { columns: x.columns, starts: vec![0], indices: Vec::new(), values: Vec::new() };
        for i in 0..x.rows() {
            between();
            for (j, (v, s)) in x.row(i).iter().zip(&scaled.scales).enumerate() {
                if *s > 0.0 && *v != 0.0 {
                    design.indices.push(j);
                    design.values.push(v / s);
                }
            }
            design.starts.push(design.indices.len());
        }
        design
    }

    /// Each row's non-zero (column, value) pairs.
    fn rows(&self) -> impl Iterator<Item = (&[usize], &[f64])> {
        self.starts.windows(2).map(|w| (&self.indices[w[0]..w[1]], &self.values[w[0]..w[1]]))
    }

    /// A row's log-odds under `theta` (weights, then the intercept).
    fn log_odds(&self, (indices, values): (&[usize], &[f64]), theta: &[f64]) -> f64 {
        theta[self.columns] + indices.iter().zip(values).map(|(j, v)| theta[*j] * v).sum::<f64>()
    }
}

/// Fit a logistic regression of `labels` on the design's rows with a ridge penalty
/// `lambda`·Σw²/2 on the scaled weights (not on the intercept), by Newton's method with
/// a line search, starting from `start` or from zero. Returns the weights, then the
/// intercept. `between` is called between rows, steps and columns (see `Between`).
fn fit_scaled(
    design: &Design,
    labels: &[bool],
    lambda: f64,
    start: Option<&[f64]>,
    between: Between,
) -> Vec<f64> {
    let k = design.columns;
    let size = k + 1;
    let objective = |theta: &[f64], between: &mut dyn FnMut()| {
        let mut total = 0.0;
        for (row, converted) in design.rows().zip(labels) {
            between();
            let p = logistic(design.log_odds(row, theta));
            total += if *converted { surprise(p) } else { surprise(1.0 - p) };
        }
        total + lambda * theta[..k].iter().map(|w| w * w).sum::<f64>() / 2.0
    };
    let mut theta = match start {
        Some(start) => start.to_vec(),
        None => vec![0.0; size],
    };
    let mut current = objective(&theta, &mut *between);
    for _ in 0..MAX_STEPS {
        let mut gradient = vec![0.0; size];
        // The lower triangle (row >= column), then mirrored.
        let mut hessian = vec![0.0; size * size];
        for (row, converted) in design.rows().zip(labels) {
            between();
            let p = logistic(design.log_odds(row, &theta));
            let residual = p - if *converted { 1.0 } else { 0.0 };
            let weight = (p * (1.0 - p)).max(1e-12);
            let (indices, values) = row;
            for (n, (&a, &va)) in indices.iter().zip(values).enumerate() {
                gradient[a] += residual * va;
                let wa = weight * va;
                for (&b, &vb) in indices[..=n].iter().zip(values) {
                    hessian[a * size + b] += wa * vb;
                }
                hessian[k * size + a] += wa;
            }
            gradient[k] += residual;
            hessian[k * size + k] += weight;
        }
        for a in 0..size {
            for b in 0..a {
                hessian[b * size + a] = hessian[a * size + b];
            }
        }
        for j in 0..k {
            gradient[j] += lambda * theta[j];
            // A tiny ridge on every parameter keeps the system solvable (a constant
            // feature's row and column are all zero).
            hessian[j * size + j] += lambda.max(1e-9);
        }
        hessian[k * size + k] += 1e-9;
        let Some(step) = solve(hessian, gradient, size, &mut *between) else { break };
        // Halve the step until the objective does not rise.
        let mut scale = 1.0;
        let mut improved = false;
        for _ in 0..30 {
            let candidate: Vec<f64> = theta.iter().zip(&step).map(|(t, s)| t - scale * s).collect();
            let value = objective(&candidate, &mut *between);
            if value <= current {
                theta = candidate;
                improved = current - value > 1e-12 * current.abs().max(1.0);
                current = value;
                break;
            }
            scale /= 2.0;
        }
        let largest = step.iter().map(|s| (s * scale).abs()).fold(0.0, f64::max);
        if !improved || largest < 1e-9 {
            break;
        }
    }
    theta
}

/// A model fitted with the penalty that did best on the validation data.
#[derive(Clone, Debug, PartialEq)]
pub struct Fitted {
    pub model: Model,
    pub lambda: f64,
    pub valid_log_loss: f64,
}

/// The penalties tried, strongest first (each fit starts from the previous one).
pub const LAMBDAS: [f64; 7] = [1000.0, 300.0, 100.0, 30.0, 10.0, 3.0, 1.0];

/// Fit on `train` with each of `LAMBDAS` and keep the model with the lowest log loss on
/// `valid` (the stronger penalty on a tie). `None` without both outcomes in `train`.
pub fn fit_with_validation(train: (&Matrix, &[bool]), valid: (&Matrix, &[bool])) -> Option<Fitted> {
    fit_with_validation_between(train, valid, &mut || {})
}

/// `fit_with_validation`, calling `between` between rows, Newton steps and columns, so
/// that a long fit can be stopped (see `Between`).
pub fn fit_with_validation_between(
    train: (&Matrix, &[bool]),
    valid: (&Matrix, &[bool]),
    between: Between,
) -> Option<Fitted> {
    let (x, labels) = train;
    if !labels.iter().any(|y| *y) || labels.iter().all(|y| *y) {
        return None;
    }
    let scaled = Scaled::of(x, &mut *between);
    let design = Design::of(x, &scaled, &mut *between);
    let mut best: Option<Fitted> = None;
    let mut start: Option<Vec<f64>> = None;
    for lambda in LAMBDAS {
        between();
        let theta = fit_scaled(&design, labels, lambda, start.as_deref(), &mut *between);
        let model = scaled.unscale(theta[x.columns], &theta[..x.columns]);
        let valid_log_loss = model.log_loss(valid.0, valid.1);
        if best.as_ref().is_none_or(|b| valid_log_loss < b.valid_log_loss) {
            best = Some(Fitted { model, lambda, valid_log_loss });
        }
        start = Some(theta);
    }
    best
}

/// Which part of the data a contact is in when the outcomes name no split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    Train,
    Valid,
    Test,
}

/// The split of a contact by its key (as text): 64-bit FNV-1a of the key's bytes, mod
/// 100: below 70 train, below 85 valid, else test. The same key always lands in the
/// same part, whatever the order or the other contacts.
pub fn split_of(key: &str) -> Split {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    match hash % 100 {
        0..70 => Split::Train,
        70..85 => Split::Valid,
        _ => Split::Test,
    }
}
