//! What both macros use to report mistakes: every error of one input collected into one
//! `syn::Error` ([`Errors`]), and the key a misspelt one was meant to be ([`closest`]).

/// A list of errors that becomes one `syn::Error` (`Error::combine`), so all are reported at once.
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    /// Adds one error.
    pub fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// Adds the error of a result, returning its value if there was one.
    pub fn check<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|e| self.push(e)).ok()
    }

    /// `Ok(value)` when nothing went wrong, otherwise every error collected.
    pub fn finish<T>(self, value: T) -> syn::Result<T> {
        match self.0 {
            Some(error) => Err(error),
            None => Ok(value),
        }
    }
}

/// The candidate `name` is most likely a misspelling of: the nearest by edit distance, if it is
/// near enough (one edit in four letters, at most two), with ties going to the first listed.
pub fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let allowed = (name.chars().count() / 4).clamp(1, 2);
    candidates
        .iter()
        .map(|candidate| (edit_distance(name, candidate), *candidate))
        .filter(|(distance, _)| *distance <= allowed)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance between `a` and `b`, counted in characters, with a transposition of two
/// neighbours counting as one edit (`atempts`, `backofff` and `jtiter` are each one away).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j]: distance between a[..i] and b[..j].
    let mut rows = vec![vec![0; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let substitution = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + substitution);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
impl Errors {
    /// Every message collected, in the order they were pushed: for tests.
    pub fn messages(self) -> Vec<String> {
        match self.finish(()) {
            Ok(()) => Vec::new(),
            Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: [&str; 4] = ["attempts", "backoff", "jitter", "timeout"];

    #[test]
    fn a_misspelt_key_finds_the_one_meant() {
        assert_eq!(closest("atempts", &KEYS), Some("attempts"));
        assert_eq!(closest("attemtps", &KEYS), Some("attempts"));
        assert_eq!(closest("backof", &KEYS), Some("backoff"));
        assert_eq!(closest("jtiter", &KEYS), Some("jitter"));
        assert_eq!(closest("timeuot", &KEYS), Some("timeout"));
    }

    #[test]
    fn a_word_far_from_every_key_finds_none() {
        assert_eq!(closest("deadline", &KEYS), None);
        assert_eq!(closest("x", &KEYS), None);
        assert_eq!(closest("", &KEYS), None);
        assert_eq!(closest("attempts_per_call", &KEYS), None);
    }

    #[test]
    fn edits_are_counted_in_characters() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("abc", "abc"), 0);
        assert_eq!(edit_distance("ab", "ba"), 1);
        assert_eq!(edit_distance("é", "e"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
