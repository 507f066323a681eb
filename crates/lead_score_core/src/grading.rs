//! Fit grades and the priority matrix: a contact's grade is the best grade whose fit
//! minimum its fit score reaches (`A` ... `D`, Pardot's grades), its engagement band the
//! first band whose minimum its engagement reaches (1 best), and its priority the two
//! together (`A1` best ... `D4`, HubSpot's fit × engagement matrix). Pure functions of
//! the two scores; the scores views call them per row.

/// A profile's grades and engagement bands, both best first, as validated.
#[derive(Clone, Debug, PartialEq)]
pub struct Grading {
    /// `(name, fit minimum)`, minimums strictly decreasing.
    pub grades: Vec<(String, f64)>,
    /// The engagement minimums of bands 1 to n, strictly decreasing; below the last one
    /// is band n + 1. Empty: no engagement bands, so no priority.
    pub bands: Vec<f64>,
}

/// At most this many engagement bands (so a band is one digit, 1 to 10).
pub const MAX_BANDS: usize = 9;

/// Whether `values` are finite and strictly decreasing; otherwise the index of the
/// first that is not.
pub fn first_not_decreasing(values: &[f64]) -> Option<usize> {
    values.iter().enumerate().position(|(i, v)| !v.is_finite() || (i > 0 && *v >= values[i - 1]))
}

impl Grading {
    /// Grades and bands given by hand (the SQL functions take them as arrays): the same
    /// rules as the profile settings, with a plain message when they are broken.
    pub fn new(grades: Vec<(String, f64)>, bands: Vec<f64>) -> Result<Grading, String> {
        if grades.is_empty() {
            return Err("grades need at least one grade".to_owned());
        }
        if let Some((name, _)) = grades.iter().find(|(name, _)| name.is_empty() || name.len() > 63)
        {
            return Err(format!("grade names are 1 to 63 bytes, got \"{name}\""));
        }
        let minimums: Vec<f64> = grades.iter().map(|(_, m)| *m).collect();
        if let Some(i) = first_not_decreasing(&minimums) {
            return Err(format!(
                "grade minimums must be finite and strictly decreasing (best grade first), \
                 got {} at position {}",
                minimums[i],
                i + 1
            ));
        }
        if bands.len() > MAX_BANDS {
            return Err(format!("at most {MAX_BANDS} engagement bands, got {}", bands.len()));
        }
        if let Some(i) = first_not_decreasing(&bands) {
            return Err(format!(
                "engagement bands must be finite and strictly decreasing, got {} at position {}",
                bands[i],
                i + 1
            ));
        }
        Ok(Grading { grades, bands })
    }

    /// Grades and bands as SQL arrays give them (`NULL` elements possible): the names
    /// and minimums pair up by position.
    pub fn from_arrays(
        names: &[Option<String>],
        minimums: &[Option<f64>],
        bands: &[Option<f64>],
    ) -> Result<Grading, String> {
        if names.len() != minimums.len() {
            return Err(format!(
                "{} grade names but {} grade minimums: they pair up by position",
                names.len(),
                minimums.len()
            ));
        }
        let grades = names
            .iter()
            .zip(minimums)
            .map(|pair| match pair {
                (Some(name), Some(minimum)) => Ok((name.clone(), *minimum)),
                _ => Err("grade names and minimums must not be NULL".to_owned()),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let bands = bands
            .iter()
            .map(|band| band.ok_or_else(|| "engagement bands must not be NULL".to_owned()))
            .collect::<Result<Vec<_>, _>>()?;
        Grading::new(grades, bands)
    }

    /// The index of the contact's grade (0: the best), `None` below every minimum.
    pub fn grade_index(&self, fit: f64) -> Option<usize> {
        self.grades.iter().position(|(_, minimum)| fit >= *minimum)
    }

    /// The contact's grade, `None` below every minimum.
    pub fn grade_of(&self, fit: f64) -> Option<&str> {
        self.grade_index(fit).map(|i| self.grades[i].0.as_str())
    }

    /// The engagement band (1 for at least the first minimum, ..., n + 1 below the
    /// last); `None` without bands.
    pub fn band_of(&self, engagement: f64) -> Option<usize> {
        if self.bands.is_empty() {
            return None;
        }
        Some(
            self.bands
                .iter()
                .position(|minimum| engagement >= *minimum)
                .unwrap_or(self.bands.len())
                + 1,
        )
    }

    /// The grade and band together (`A1`); `None` without a grade or without bands.
    pub fn priority(&self, fit: f64, engagement: f64) -> Option<String> {
        Some(format!("{}{}", self.grade_of(fit)?, self.band_of(engagement)?))
    }

    /// The priority's place in the queue: 1 for the best grade's band 1, then through
    /// the bands of that grade, then the next grade's; whatever the grade names, so
    /// that sorting by it is right where sorting the names is not.
    pub fn priority_rank(&self, fit: f64, engagement: f64) -> Option<i32> {
        let grade = self.grade_index(fit)?;
        let band = self.band_of(engagement)?;
        Some((grade * (self.bands.len() + 1) + band) as i32)
    }
}
