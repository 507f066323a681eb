//! How good a profile is against what actually happened: each contact's score as of
//! the instant a prediction would have been made, beside whether it converted. Ranking
//! quality (AUC, lift), what each threshold tag catches (precision, recall, share), the
//! threshold that would have caught most (best F1), and conversion by score band.

use crate::settings::{Likelihood, Settings};

/// One contact in an evaluation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Observation {
    /// Its score as of its instant.
    pub score: f64,
    /// Whether it converted.
    pub converted: bool,
    /// Whether a disqualifier held then: it would have had no tag, whatever its score.
    pub disqualified: bool,
}

/// What a threshold tag would have caught: of the contacts at or over the threshold
/// (and not disqualified), the share that converted (`precision`); of those that
/// converted, the share it caught (`recall`); and the share of all contacts it tags.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Catch {
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub share: Option<f64>,
}

/// The threshold with the best F1 (the harmonic mean of precision and recall), and
/// what it catches.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Suggestion {
    pub threshold: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

fn ratio(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn positives(observations: &[Observation]) -> usize {
    observations.iter().filter(|o| o.converted).count()
}

/// The area under the ROC curve: the chance that a contact that converted scores
/// higher than one that did not, ties counted half (the Mann–Whitney U statistic over
/// both counts). `None` without both kinds.
pub fn auc(observations: &[Observation]) -> Option<f64> {
    let positive = positives(observations);
    let negative = observations.len() - positive;
    if positive == 0 || negative == 0 {
        return None;
    }
    let mut sorted: Vec<&Observation> = observations.iter().collect();
    sorted.sort_by(|a, b| a.score.total_cmp(&b.score));
    // Sum of the positives' ranks, tied scores sharing their average rank.
    let mut rank_sum = 0.0;
    let mut start = 0;
    while start < sorted.len() {
        let end = start
            + sorted[start..]
                .iter()
                .take_while(|o| o.score.total_cmp(&sorted[start].score).is_eq())
                .count();
        let average_rank = (start + 1 + end) as f64 / 2.0;
        rank_sum += average_rank * sorted[start..end].iter().filter(|o| o.converted).count() as f64;
        start = end;
    }
    let (p, n) = (positive as f64, negative as f64);
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// The conversion rate of the top tenth by score (rounded up; ties in the order given)
/// over the overall rate. `None` without contacts or conversions.
pub fn lift_top_decile(observations: &[Observation]) -> Option<f64> {
    let overall = ratio(positives(observations), observations.len()).filter(|r| *r > 0.0)?;
    let mut sorted: Vec<&Observation> = observations.iter().collect();
    sorted.sort_by(|a, b| b.score.total_cmp(&a.score));
    let top = observations.len().div_ceil(10);
    let caught = sorted[..top].iter().filter(|o| o.converted).count();
    Some(caught as f64 / top as f64 / overall)
}

/// What a tag at `threshold` would have caught.
pub fn catch_at(observations: &[Observation], threshold: f64) -> Catch {
    let tagged = |o: &&Observation| !o.disqualified && o.score >= threshold;
    let caught = observations.iter().filter(tagged).count();
    let caught_positive = observations.iter().filter(tagged).filter(|o| o.converted).count();
    Catch {
        precision: ratio(caught_positive, caught),
        recall: ratio(caught_positive, positives(observations)),
        share: ratio(caught, observations.len()),
    }
}

/// The threshold (one of the scores) at which tagging would have had the best F1,
/// disqualified contacts never tagged; the highest such score when several tie.
/// `None` without a conversion among the contacts that could be tagged.
pub fn suggested_threshold(observations: &[Observation]) -> Option<Suggestion> {
    let all_positive = positives(observations);
    let mut candidates: Vec<&Observation> =
        observations.iter().filter(|o| !o.disqualified).collect();
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut best: Option<Suggestion> = None;
    let (mut caught, mut caught_positive) = (0usize, 0usize);
    let mut index = 0;
    while index < candidates.len() {
        let score = candidates[index].score;
        // Everyone at this score is tagged with it.
        while index < candidates.len() && candidates[index].score.total_cmp(&score).is_eq() {
            caught += 1;
            caught_positive += usize::from(candidates[index].converted);
            index += 1;
        }
        if caught_positive == 0 {
            continue;
        }
        let precision = caught_positive as f64 / caught as f64;
        let recall = caught_positive as f64 / all_positive as f64;
        let f1 = 2.0 * precision * recall / (precision + recall);
        if best.is_none_or(|b| f1 > b.f1) {
            best = Some(Suggestion { threshold: score, precision, recall, f1 });
        }
    }
    best
}

/// How well probabilities match outcomes: the Brier score (mean squared error) and the
/// log loss (mean negative log-likelihood, probabilities kept within 1e-15 of 0 and 1).
/// `None` without contacts.
pub fn calibration(likelihood: Likelihood, observations: &[Observation]) -> Option<(f64, f64)> {
    if observations.is_empty() {
        return None;
    }
    let (mut brier, mut log_loss) = (0.0, 0.0);
    for o in observations {
        let p = likelihood.probability(o.score);
        let y = if o.converted { 1.0 } else { 0.0 };
        brier += (p - y) * (p - y);
        let p = p.clamp(1e-15, 1.0 - 1e-15);
        log_loss -= if o.converted { p.ln() } else { (1.0 - p).ln() };
    }
    let n = observations.len() as f64;
    Some((brier / n, log_loss / n))
}

/// The metrics of `evaluate()`, by name, in the order it lists them: `contacts`,
/// `positives`, `auc`, `lift_top_decile`, `brier` and `log_loss` (for a profile with a
/// likelihood), then per threshold tag (the profile's order)
/// `precision_<TAG>`, `recall_<TAG>`, `share_<TAG>`, then `suggested_threshold` with its
/// `suggested_precision`, `suggested_recall` and `suggested_f1`. A metric that is
/// undefined for these contacts (an AUC without conversions) is `None`.
pub fn metrics(settings: &Settings, observations: &[Observation]) -> Vec<(String, Option<f64>)> {
    let mut found = vec![
        ("contacts".to_owned(), Some(observations.len() as f64)),
        ("positives".to_owned(), Some(positives(observations) as f64)),
        ("auc".to_owned(), auc(observations)),
        ("lift_top_decile".to_owned(), lift_top_decile(observations)),
    ];
    if let Some(likelihood) = settings.likelihood {
        let found_calibration = calibration(likelihood, observations);
        found.push(("brier".to_owned(), found_calibration.map(|c| c.0)));
        found.push(("log_loss".to_owned(), found_calibration.map(|c| c.1)));
    }
    for (tag, threshold) in settings.tags() {
        let catch = catch_at(observations, threshold);
        found.push((format!("precision_{tag}"), catch.precision));
        found.push((format!("recall_{tag}"), catch.recall));
        found.push((format!("share_{tag}"), catch.share));
    }
    let suggestion = suggested_threshold(observations);
    found.push(("suggested_threshold".to_owned(), suggestion.map(|s| s.threshold)));
    found.push(("suggested_precision".to_owned(), suggestion.map(|s| s.precision)));
    found.push(("suggested_recall".to_owned(), suggestion.map(|s| s.recall)));
    found.push(("suggested_f1".to_owned(), suggestion.map(|s| s.f1)));
    found
}

/// How `evaluate_bands()` groups contacts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BandBy {
    /// Ten bands of (nearly) equal size by score, lowest first, as `ntile(10)` cuts
    /// them (the first bands one larger when the count does not divide by ten).
    Decile,
    /// The 1–100 score in ten bands of ten: 1–10, ..., 91–100.
    Score100,
    /// Stars, 0 to 5.
    Stars,
}

impl BandBy {
    pub fn parse(name: &str) -> Option<BandBy> {
        match name {
            "decile" | "score" => Some(BandBy::Decile),
            "score_100" => Some(BandBy::Score100),
            "stars" => Some(BandBy::Stars),
            _ => None,
        }
    }
}

/// One band: its name, the lowest and highest value in it (scores for deciles, the
/// band's bounds otherwise), how many contacts it holds, how many converted, and the
/// rate (`None` for an empty band).
#[derive(Clone, Debug, PartialEq)]
pub struct Band {
    pub name: String,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub contacts: u64,
    pub positives: u64,
    pub rate: Option<f64>,
}

impl Band {
    fn new(name: String, low: Option<f64>, high: Option<f64>) -> Band {
        Band { name, low, high, contacts: 0, positives: 0, rate: None }
    }

    fn count(&mut self, observation: &Observation) {
        self.contacts += 1;
        self.positives += u64::from(observation.converted);
        self.rate = Some(self.positives as f64 / self.contacts as f64);
    }
}

/// Conversion by band, lowest band first. Every band of the 1–100 and star scales is
/// listed, empty or not; deciles are as many as there are contacts, up to ten.
pub fn bands(settings: &Settings, observations: &[Observation], by: BandBy) -> Vec<Band> {
    let scale = settings.score_100;
    match by {
        BandBy::Decile => {
            let mut sorted: Vec<&Observation> = observations.iter().collect();
            sorted.sort_by(|a, b| a.score.total_cmp(&b.score));
            let (size, larger) = (sorted.len() / 10, sorted.len() % 10);
            let mut found = Vec::new();
            let mut start = 0;
            for decile in 0..10 {
                let len = size + usize::from(decile < larger);
                if len == 0 {
                    break;
                }
                let members = &sorted[start..start + len];
                let mut band = Band::new(
                    format!("decile {}", decile + 1),
                    members.first().map(|o| o.score),
                    members.last().map(|o| o.score),
                );
                members.iter().for_each(|o| band.count(o));
                found.push(band);
                start += len;
            }
            found
        }
        BandBy::Score100 => {
            let mut found: Vec<Band> = (0..10)
                .map(|b| {
                    let (low, high) = (10 * b + 1, 10 * b + 10);
                    Band::new(format!("{low}-{high}"), Some(low as f64), Some(high as f64))
                })
                .collect();
            for observation in observations {
                let value = scale.score_100(observation.score);
                found[((value - 1) / 10).clamp(0, 9) as usize].count(observation);
            }
            found
        }
        BandBy::Stars => {
            let mut found: Vec<Band> = (0..=5)
                .map(|s| Band::new(format!("{s} stars"), Some(s as f64), Some(s as f64)))
                .collect();
            for observation in observations {
                found[scale.stars(observation.score).clamp(0, 5) as usize].count(observation);
            }
            found
        }
    }
}
