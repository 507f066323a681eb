//! Lengths of time written in rules and settings: `"14 days"`, `"1 hour 30 minutes"`,
//! `"2 weeks"`, or ISO 8601 `"P14D"`, `"PT36H"`. Rules are compiled without Postgres,
//! so the core parses them itself, measuring units as `extract(epoch FROM interval)`
//! does (a month is 30 days, a year 365.25 days) so that `"1 mon"` here and
//! `interval '1 mon'` in SQL are the same length.

use std::fmt;

const MINUTE: f64 = 60.0;
const HOUR: f64 = 3_600.0;
const DAY: f64 = 86_400.0;

/// A non-negative length of time, in seconds, with the text it was written as.
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    seconds: f64,
    text: String,
}

impl Span {
    pub fn seconds(&self) -> f64 {
        self.seconds
    }

    pub fn micros(&self) -> i64 {
        (self.seconds * 1e6).round() as i64
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn unit_seconds(unit: &str) -> Option<f64> {
    Some(match unit.to_ascii_lowercase().as_str() {
        "ms" | "msec" | "msecs" | "millisecond" | "milliseconds" => 0.001,
        "s" | "sec" | "secs" | "second" | "seconds" => 1.0,
        "m" | "min" | "mins" | "minute" | "minutes" => MINUTE,
        "h" | "hr" | "hrs" | "hour" | "hours" => HOUR,
        "d" | "day" | "days" => DAY,
        "w" | "week" | "weeks" => 7.0 * DAY,
        "mon" | "mons" | "month" | "months" => 30.0 * DAY,
        "y" | "yr" | "yrs" | "year" | "years" => 365.25 * DAY,
        _ => return None,
    })
}

/// Parse a length of time. The error says what was expected, without a JSON path
/// (the caller knows where the text came from).
pub fn parse_span(text: &str) -> Result<Span, String> {
    let trimmed = text.trim();
    let seconds =
        if trimmed.starts_with(['P', 'p']) { parse_iso8601(trimmed) } else { parse_words(trimmed) };
    match seconds {
        Some(seconds) if seconds.is_finite() => Ok(Span { seconds, text: trimmed.to_owned() }),
        _ => Err(format!(
            "invalid interval \"{text}\": expected amounts with units such as \"14 days\", \
             \"1 hour 30 minutes\" or ISO 8601 \"P14D\""
        )),
    }
}

/// `"1 day 12 hours"`, `"90d"`, `"1.5 hours"`, `"2 weeks, 3 days"`.
fn parse_words(text: &str) -> Option<f64> {
    let mut rest = text;
    let mut total = 0.0;
    let mut terms = 0;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',');
        if rest.is_empty() {
            break;
        }
        let number_len =
            rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if number_len == 0 {
            return None;
        }
        let amount: f64 = rest[..number_len].parse().ok()?;
        rest = rest[number_len..].trim_start();
        let unit_len = rest.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(rest.len());
        if unit_len == 0 {
            return None;
        }
        total += amount * unit_seconds(&rest[..unit_len])?;
        rest = &rest[unit_len..];
        terms += 1;
    }
    (terms > 0).then_some(total)
}

/// ISO 8601 durations: `P[nY][nM][nW][nD][T[nH][nM][nS]]`.
fn parse_iso8601(text: &str) -> Option<f64> {
    let body = &text[1..];
    let (date_part, time_part) = match body.find(['T', 't']) {
        Some(at) => (&body[..at], Some(&body[at + 1..])),
        None => (body, None),
    };
    let mut total = 0.0;
    let mut terms = 0;
    for (part, is_time) in [(date_part, false), (time_part.unwrap_or(""), true)] {
        let mut number_start = 0;
        for (at, c) in part.char_indices() {
            if c.is_ascii_digit() || c == '.' {
                continue;
            }
            let amount: f64 = part[number_start..at].parse().ok()?;
            let unit = match (c.to_ascii_uppercase(), is_time) {
                ('Y', false) => 365.25 * DAY,
                ('M', false) => 30.0 * DAY,
                ('W', false) => 7.0 * DAY,
                ('D', false) => DAY,
                ('H', true) => HOUR,
                ('M', true) => MINUTE,
                ('S', true) => 1.0,
                _ => return None,
            };
            total += amount * unit;
            terms += 1;
            number_start = at + c.len_utf8();
        }
        if number_start != part.len() {
            return None;
        }
    }
    if time_part == Some("") {
        return None;
    }
    (terms > 0).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_words_abbreviations_and_iso8601() {
        let cases: &[(&str, f64)] = &[
            ("14 days", 14.0 * DAY),
            ("1 day", DAY),
            ("90d", 90.0 * DAY),
            ("1 hour 30 minutes", 1.5 * HOUR),
            ("1.5 hours", 1.5 * HOUR),
            ("2 weeks, 3 days", 17.0 * DAY),
            ("1 mon", 30.0 * DAY),
            ("6 months", 180.0 * DAY),
            ("1 year", 365.25 * DAY),
            ("  30 DAYS  ", 30.0 * DAY),
            ("500 ms", 0.5),
            ("45s", 45.0),
            ("P14D", 14.0 * DAY),
            ("PT36H", 36.0 * HOUR),
            (
                "P1Y2M3DT4H5M6S",
                365.25 * DAY + 60.0 * DAY + 3.0 * DAY + 4.0 * HOUR + 5.0 * MINUTE + 6.0,
            ),
            ("P2W", 14.0 * DAY),
            ("0 days", 0.0),
        ];
        for &(text, seconds) in cases {
            let span = parse_span(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert!(
                (span.seconds() - seconds).abs() < 1e-6,
                "{text}: {} != {seconds}",
                span.seconds()
            );
        }
    }

    #[test]
    fn rejects_what_is_not_a_length_of_time() {
        for text in [
            "",
            "abc",
            "14",
            "days",
            "14 fortnights",
            "-3 days",
            "1..5 days",
            "P",
            "PT",
            "P1H",
            "PT1D",
            "P1DT",
            "1 day ago",
            "14 days x",
            "NaN days",
            "1e400 days",
        ] {
            assert!(parse_span(text).is_err(), "{text:?} accepted");
        }
        assert_eq!(
            parse_span("abc").unwrap_err(),
            "invalid interval \"abc\": expected amounts with units such as \"14 days\", \
             \"1 hour 30 minutes\" or ISO 8601 \"P14D\""
        );
    }

    #[test]
    fn keeps_the_text_it_was_written_as() {
        assert_eq!(parse_span(" 14 days ").unwrap().to_string(), "14 days");
        assert_eq!(parse_span("1 hour").unwrap().micros(), 3_600_000_000);
    }
}
