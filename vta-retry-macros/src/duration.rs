//! The duration grammar of `backoff = "…"`, `timeout = "…"` and the rest: a number and a unit,
//! such as `500ms` or `1.5s`; and a backoff's `"A..B"` or `"A"`.
//!
//! Plain functions over `&str`, so they are tested (and fuzzed) outside any macro expansion.
//! Arithmetic is exact, in whole nanoseconds: `0.1s` is 100 000 000 ns, not a float's approximation.

use std::fmt;
use std::time::Duration;

/// The units a duration may carry, with their length in nanoseconds. Longest suffix first, so `ms`
/// is not read as `m` followed by junk.
/// Microseconds also by their symbol, as the micro sign or the Greek mu.
const UNITS: [(&str, u128); 8] = [
    ("ns", 1),
    ("us", 1_000),
    ("\u{b5}s", 1_000),
    ("\u{3bc}s", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// The units, as an error message lists them.
pub const UNIT_LIST: &str = "ns, us, ms, s, m, h";

/// Why a string is not a duration. Rendered into the compile error at the literal's span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DurationError {
    /// Nothing (or only spaces) where a duration belongs.
    Empty,
    /// No digits before the unit, or a malformed number such as `1.` or `.5`.
    NotANumber(String),
    /// Digits with no unit after them.
    MissingUnit(String),
    /// A unit that is not one of [`UNIT_LIST`].
    UnknownUnit {
        /// The whole text given.
        text: String,
        /// The part read as a unit.
        unit: String,
    },
    /// Several durations run together, such as `1m30s`.
    Compound {
        /// The whole text given.
        text: String,
        /// The same length in one unit, such as `90s`.
        single: String,
    },
    /// A space between the number and its unit, such as `500 ms`.
    SpaceBeforeUnit {
        /// The whole text given.
        text: String,
        /// The text without the space.
        joined: String,
    },
    /// More than `Duration::MAX`.
    Overflow(String),
    /// A fraction finer than one nanosecond, such as `0.5ns`.
    SubNanosecond(String),
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(
                f,
                "expected a duration such as `500ms`, found an empty string"
            ),
            Self::NotANumber(text) => write!(
                f,
                "`{text}` is not a duration: expected a number and a unit, such as `500ms` or `1.5s`"
            ),
            Self::MissingUnit(text) => write!(
                f,
                "`{text}` has no unit: add one of {UNIT_LIST}, such as `{text}ms`"
            ),
            Self::UnknownUnit { text, unit } => {
                write!(
                    f,
                    "unknown unit `{unit}` in `{text}`: expected one of {UNIT_LIST}"
                )
            }
            Self::Compound { text, single } => {
                write!(
                    f,
                    "`{text}` runs several durations together: write it in one unit, `{single}`"
                )
            }
            Self::SpaceBeforeUnit { text, joined } => {
                write!(f, "`{text}` has a space before its unit: write `{joined}`")
            }
            Self::Overflow(text) => {
                write!(
                    f,
                    "`{text}` is too long: a duration must fit in `std::time::Duration`"
                )
            }
            Self::SubNanosecond(text) => {
                write!(f, "`{text}` is not a whole number of nanoseconds")
            }
        }
    }
}

/// `1m30s` (two or more durations, each valid alone) written in the largest unit that holds it
/// whole: `90s`.
fn compound_in_one_unit(text: &str) -> Option<String> {
    let mut nanos: u128 = 0;
    let mut parts = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let unit_end = rest[number_end..]
            .find(|c: char| !c.is_ascii_alphabetic())
            .map_or(rest.len(), |end| number_end + end);
        nanos = nanos.checked_add(parse_duration(&rest[..unit_end]).ok()?.as_nanos())?;
        parts += 1;
        rest = &rest[unit_end..];
    }
    let &(name, unit) = UNITS.iter().rev().find(|(_, unit)| nanos % unit == 0)?;
    (parts > 1 && duration_from_nanos(nanos).is_some()).then(|| format!("{}{name}", nanos / unit))
}

/// Parses one duration: digits, an optional fraction, then a unit (`500ms`, `1.5s`, `2m`).
/// Surrounding whitespace is ignored; whitespace between the number and the unit is not allowed.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(DurationError::Empty);
    }
    let number_len = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(number_len);
    let (whole, fraction) = match number.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (number, None),
    };
    let is_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !is_digits(whole) || fraction.is_some_and(|f| !is_digits(f)) {
        return Err(DurationError::NotANumber(trimmed.to_owned()));
    }
    if unit.is_empty() {
        return Err(DurationError::MissingUnit(trimmed.to_owned()));
    }
    let unit_after_space = unit.trim_start();
    if unit_after_space.len() < unit.len()
        && UNITS.iter().any(|(name, _)| *name == unit_after_space)
    {
        return Err(DurationError::SpaceBeforeUnit {
            text: trimmed.to_owned(),
            joined: format!("{number}{unit_after_space}"),
        });
    }
    let Some(&(_, unit_nanos)) = UNITS.iter().find(|(name, _)| *name == unit) else {
        // Only a unit with digits in it can hide another duration; each part has none.
        let more_parts = unit.contains(|c: char| c.is_ascii_digit());
        if let Some(single) = more_parts.then(|| compound_in_one_unit(trimmed)).flatten() {
            return Err(DurationError::Compound {
                text: trimmed.to_owned(),
                single,
            });
        }
        // A separator in the number (`1_000ms`, `1,5s`) is the number's mistake, not the unit's.
        if unit.starts_with(['_', ',']) {
            return Err(DurationError::NotANumber(trimmed.to_owned()));
        }
        return Err(DurationError::UnknownUnit {
            text: trimmed.to_owned(),
            unit: unit_after_space.to_owned(),
        });
    };
    let overflow = || DurationError::Overflow(trimmed.to_owned());
    let nanos = digits_value(whole)
        .and_then(|w| w.checked_mul(unit_nanos))
        .ok_or_else(overflow)?;
    let nanos = match fraction {
        None => nanos,
        Some(fraction) => {
            let fraction_nanos = fraction_nanos(fraction, unit_nanos)
                .ok_or_else(|| DurationError::SubNanosecond(trimmed.to_owned()))?;
            nanos.checked_add(fraction_nanos).ok_or_else(overflow)?
        }
    };
    duration_from_nanos(nanos).ok_or_else(overflow)
}

/// The value of a run of ASCII digits, or `None` when it does not fit in a `u128`.
fn digits_value(digits: &str) -> Option<u128> {
    digits.bytes().try_fold(0u128, |value, digit| {
        value.checked_mul(10)?.checked_add(u128::from(digit - b'0'))
    })
}

/// `0.<fraction>` of a unit, in nanoseconds; `None` unless that is a whole number of nanoseconds.
fn fraction_nanos(fraction: &str, unit_nanos: u128) -> Option<u128> {
    // Trailing zeros carry no value, and dropping them keeps `1.50000000000000000000s` in range.
    let significant = fraction.trim_end_matches('0');
    // A unit is at most 3.6e12 ns, so more than 13 significant digits is always sub-nanosecond.
    if significant.len() > 13 {
        return None;
    }
    let scale = 10u128.pow(u32::try_from(significant.len()).ok()?);
    let scaled = digits_value(significant)? * unit_nanos;
    (scaled % scale == 0).then_some(scaled / scale)
}

fn duration_from_nanos(nanos: u128) -> Option<Duration> {
    let secs = u64::try_from(nanos / 1_000_000_000).ok()?;
    // The remainder is below 1e9, so it always fits in a u32.
    let subsec = (nanos % 1_000_000_000) as u32;
    Some(Duration::new(secs, subsec))
}

/// The canonical text of a duration: an integer count of the largest unit that divides it
/// exactly. `parse_duration(&display_duration(d)) == Ok(d)` for every `Duration`.
pub fn display_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos == 0 {
        return "0s".to_owned();
    }
    let (name, unit_nanos) = UNITS
        .iter()
        .rev()
        .find(|(_, unit_nanos)| nanos % unit_nanos == 0)
        .copied()
        .unwrap_or(UNITS[0]);
    format!("{}{name}", nanos / unit_nanos)
}

// ---- The `backoff` string: `"A..B"` or `"A"` ----

/// The durations of a `backoff` string, before their order is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffText {
    /// The wait before the second attempt.
    pub first: Duration,
    /// The cap after `..`; `None` for a constant backoff.
    pub max: Option<Duration>,
}

/// Why a `backoff` string is not `"A..B"` or `"A"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackoffError {
    /// One of the durations is wrong.
    Duration(DurationError),
    /// A range written another way, such as `500ms-1s` or `500ms..=1s`: the text as written.
    RangeSyntax(String),
    /// More than two durations, such as `500ms..1s..2s`.
    TooManyParts(String),
}

impl std::fmt::Display for BackoffError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Duration(error) => error.fmt(f),
            Self::RangeSyntax(text) => write!(
                f,
                "`{text}` is not a backoff: write a range as `\"A..B\"`, such as `\"500ms..1s\"`"
            ),
            Self::TooManyParts(text) => write!(
                f,
                "`{text}` has more than two durations: a backoff is `\"A..B\"` (wait A, doubling up to B) or `\"A\"` (always A)"
            ),
        }
    }
}

/// `"A..B"` or `"A"`. Both halves are read even when the first is wrong, so both are reported.
pub fn parse_backoff_text(text: &str) -> Result<BackoffText, Vec<BackoffError>> {
    let trimmed = text.trim();
    if trimmed.matches("..").count() > 1 && !trimmed.contains("...") {
        return Err(vec![BackoffError::TooManyParts(trimmed.to_owned())]);
    }
    if looks_like_another_range_syntax(trimmed) {
        return Err(vec![BackoffError::RangeSyntax(trimmed.to_owned())]);
    }
    let duration = |text: &str| parse_duration(text).map_err(BackoffError::Duration);
    match text.split_once("..") {
        None => duration(text)
            .map(|first| BackoffText { first, max: None })
            .map_err(|e| vec![e]),
        Some((first, max)) => match (duration(first), duration(max)) {
            (Ok(first), Ok(max)) => Ok(BackoffText {
                first,
                max: Some(max),
            }),
            (first, max) => Err([first.err(), max.err()].into_iter().flatten().collect()),
        },
    }
}

/// `500ms-1s`, `500ms – 1s`, `500ms..=1s`, `500ms...1s`, `500ms to 1s`: two durations joined by
/// something other than `..`.
fn looks_like_another_range_syntax(text: &str) -> bool {
    let joiners = ["..=", "...", "-", "\u{2013}", "\u{2014}", " to "];
    joiners.iter().any(|joiner| {
        text.split_once(joiner).is_some_and(|(a, b)| {
            let a = a.trim().trim_end_matches('.');
            let b = b.trim().trim_start_matches(['.', '=']);
            starts_with_digit(a) && starts_with_digit(b)
        })
    })
}

fn starts_with_digit(text: &str) -> bool {
    text.trim().starts_with(|c: char| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn reads_every_unit() {
        assert_eq!(parse_duration("7ns"), Ok(Duration::from_nanos(7)));
        assert_eq!(parse_duration("7us"), Ok(Duration::from_micros(7)));
        assert_eq!(parse_duration("7ms"), Ok(ms(7)));
        assert_eq!(parse_duration("7s"), Ok(Duration::from_secs(7)));
        assert_eq!(parse_duration("7m"), Ok(Duration::from_secs(7 * 60)));
        assert_eq!(parse_duration("7h"), Ok(Duration::from_secs(7 * 3600)));
    }

    #[test]
    fn reads_decimals_exactly() {
        assert_eq!(parse_duration("1.5s"), Ok(ms(1500)));
        assert_eq!(parse_duration("0.1s"), Ok(ms(100)));
        assert_eq!(parse_duration("2.25m"), Ok(Duration::from_secs(135)));
        assert_eq!(parse_duration("1.500000000000000000000000s"), Ok(ms(1500)));
        assert_eq!(parse_duration(" 500ms "), Ok(ms(500)));
    }

    #[test]
    fn rejects_what_is_not_a_duration() {
        assert_eq!(parse_duration(""), Err(DurationError::Empty));
        assert_eq!(parse_duration("  "), Err(DurationError::Empty));
        assert!(matches!(
            parse_duration("ms"),
            Err(DurationError::NotANumber(_))
        ));
        assert!(matches!(
            parse_duration("1.s"),
            Err(DurationError::NotANumber(_))
        ));
        assert!(matches!(
            parse_duration(".5s"),
            Err(DurationError::NotANumber(_))
        ));
        assert!(matches!(
            parse_duration("1.2.3s"),
            Err(DurationError::NotANumber(_))
        ));
        assert!(matches!(
            parse_duration("-1s"),
            Err(DurationError::NotANumber(_))
        ));
        assert!(matches!(
            parse_duration("500"),
            Err(DurationError::MissingUnit(_))
        ));
        assert_eq!(
            parse_duration("500 ms"),
            Err(DurationError::SpaceBeforeUnit {
                text: "500 ms".into(),
                joined: "500ms".into()
            })
        );
        assert_eq!(
            DurationError::SpaceBeforeUnit {
                text: "1.5 s".into(),
                joined: "1.5s".into()
            }
            .to_string(),
            "`1.5 s` has a space before its unit: write `1.5s`"
        );
        assert_eq!(
            parse_duration("5 seconds"),
            Err(DurationError::UnknownUnit {
                text: "5 seconds".into(),
                unit: "seconds".into()
            })
        );
        // A separator in the number is the number's mistake.
        for text in ["1_000ms", "1,5s"] {
            assert_eq!(
                parse_duration(text),
                Err(DurationError::NotANumber(text.into()))
            );
        }
        assert_eq!(parse_duration("100\u{b5}s"), Ok(Duration::from_micros(100)));
        assert_eq!(
            parse_duration("100\u{3bc}s"),
            Ok(Duration::from_micros(100))
        );
        assert_eq!(
            parse_duration("5sec"),
            Err(DurationError::UnknownUnit {
                text: "5sec".into(),
                unit: "sec".into()
            })
        );
        let compound = |text: &str| match parse_duration(text) {
            Err(DurationError::Compound { single, .. }) => Some(single),
            _ => None,
        };
        assert_eq!(compound("1m30s").as_deref(), Some("90s"));
        assert_eq!(compound("1h30m").as_deref(), Some("90m"));
        assert_eq!(compound("2m60s").as_deref(), Some("3m"));
        assert_eq!(compound("1s500ms").as_deref(), Some("1500ms"));
        assert_eq!(compound("1.5s250ms").as_deref(), Some("1750ms"));
        assert_eq!(
            parse_duration("1m30s").unwrap_err().to_string(),
            "`1m30s` runs several durations together: write it in one unit, `90s`"
        );
        // Not every part a duration: an unknown unit, as before.
        assert!(compound("1m30x").is_none());
        assert!(compound("1m30").is_none());
        assert!(matches!(
            parse_duration("0.5ns"),
            Err(DurationError::SubNanosecond(_))
        ));
        assert!(matches!(
            parse_duration("1.00000000000001h"),
            Err(DurationError::SubNanosecond(_))
        ));
    }

    #[test]
    fn rejects_overflow_at_the_exact_limit() {
        let max_secs = u64::MAX;
        assert_eq!(
            parse_duration(&format!("{max_secs}s")),
            Ok(Duration::from_secs(max_secs))
        );
        assert!(matches!(
            parse_duration(&format!("{}s", u128::from(max_secs) + 1)),
            Err(DurationError::Overflow(_))
        ));
        assert!(matches!(
            parse_duration("99999999999999999999999999999999999999999999h"),
            Err(DurationError::Overflow(_))
        ));
    }

    #[test]
    fn displays_in_the_largest_exact_unit() {
        assert_eq!(display_duration(ms(500)), "500ms");
        assert_eq!(display_duration(ms(1500)), "1500ms");
        assert_eq!(display_duration(Duration::from_secs(120)), "2m");
        assert_eq!(display_duration(Duration::from_secs(7200)), "2h");
        assert_eq!(display_duration(Duration::from_nanos(1_001)), "1001ns");
        assert_eq!(display_duration(Duration::ZERO), "0s");
        assert_eq!(
            parse_duration(&display_duration(Duration::MAX)),
            Ok(Duration::MAX)
        );
    }

    #[test]
    fn a_range_written_another_way_is_named_as_such() {
        for text in [
            "500ms-1s",
            "500ms - 1s",
            "500ms..=1s",
            "500ms...1s",
            "500ms to 1s",
        ] {
            assert_eq!(
                parse_backoff_text(text),
                Err(vec![BackoffError::RangeSyntax(text.to_owned())]),
                "{text}"
            );
        }
        assert_eq!(
            parse_backoff_text("500ms..1s..2s"),
            Err(vec![BackoffError::TooManyParts("500ms..1s..2s".to_owned())])
        );
        assert!(matches!(
            parse_backoff_text("5sec"),
            Err(errors) if matches!(errors[..], [BackoffError::Duration(_)])
        ));
    }
}
