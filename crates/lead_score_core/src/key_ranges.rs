//! Key ranges for a full pass whose per-contact summaries would not fit in its memory
//! budget: the contacts are scored a range of keys at a time, the ranges cut at keys
//! drawn from a sample of the contacts, a range that still outgrows the budget cut
//! again.
//!
//! A range is `(after, upto]`: every key greater than `after` (all keys when `None`)
//! and at most `upto` (all when `None`). Keys are compared in one total order on both
//! sides of a pass (the events' contact and the contact's key), so the ranges of one
//! split partition every key exactly once.

/// The keys greater than `after` and at most `upto`; `None` leaves that side open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRange<K> {
    pub after: Option<K>,
    pub upto: Option<K>,
}

impl<K: Ord + Clone> KeyRange<K> {
    /// Every key.
    pub fn everything() -> Self {
        KeyRange { after: None, upto: None }
    }

    /// Whether `key` is in the range.
    pub fn holds(&self, key: &K) -> bool {
        self.after.as_ref().is_none_or(|after| key > after)
            && self.upto.as_ref().is_none_or(|upto| key <= upto)
    }

    /// Cut the range into at most `pieces` ranges, in key order, at keys of `sample`
    /// (sorted, without duplicates) that lie inside it, so that each piece holds about
    /// as many sample keys as the others. Fewer pieces when the range holds fewer
    /// sample keys; the range itself, alone, when it holds none.
    pub fn split(&self, sample: &[K], pieces: usize) -> Vec<KeyRange<K>> {
        let inside: Vec<&K> = sample.iter().filter(|key| self.holds(key)).collect();
        let pieces = pieces.clamp(1, inside.len() + 1);
        let mut ranges = Vec::with_capacity(pieces);
        let mut after = self.after.clone();
        for piece in 1..pieces {
            // The last key of each piece: the piece-th of `pieces` equal shares of the
            // sample keys inside and the gap after them (`pieces` is at most one more
            // than the keys, so no two cuts fall on one key).
            let cut = inside[piece * (inside.len() + 1) / pieces - 1].clone();
            if after.as_ref().is_some_and(|after| after >= &cut) {
                continue;
            }
            ranges.push(KeyRange { after: after.replace(cut.clone()), upto: Some(cut) });
        }
        ranges.push(KeyRange { after, upto: self.upto.clone() });
        ranges
    }

    /// How many sample keys lie inside the range.
    pub fn sample_share(&self, sample: &[K]) -> usize {
        sample.iter().filter(|key| self.holds(key)).count()
    }
}

/// Into how many pieces to cut a range that outgrew `budget` bytes after its summaries
/// had taken `used` bytes for `seen` contacts: enough for the range's estimated
/// `contacts` at that many bytes each, with room to spare (the contacts seen had not
/// all their events yet), and never fewer than two.
pub fn pieces_for(used: usize, seen: usize, contacts: usize, budget: usize) -> usize {
    let per_contact = used as f64 / seen.max(1) as f64;
    let needed = contacts.max(seen) as f64 * per_contact * 1.5 / budget.max(1) as f64;
    (needed.ceil() as usize).clamp(2, 1 << 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(after: Option<i64>, upto: Option<i64>) -> KeyRange<i64> {
        KeyRange { after, upto }
    }

    /// Every key of `keys` lies in exactly one of `ranges`, and the ranges follow one
    /// another in key order without a gap.
    fn partitions(ranges: &[KeyRange<i64>], whole: &KeyRange<i64>, keys: &[i64]) {
        assert_eq!(ranges.first().unwrap().after, whole.after);
        assert_eq!(ranges.last().unwrap().upto, whole.upto);
        for pair in ranges.windows(2) {
            assert_eq!(pair[0].upto, pair[1].after, "{ranges:?}");
            assert!(pair[0].after.is_none() || pair[0].after < pair[0].upto, "{ranges:?}");
        }
        for key in keys.iter().filter(|key| whole.holds(key)) {
            assert_eq!(ranges.iter().filter(|r| r.holds(key)).count(), 1, "{key} in {ranges:?}");
        }
    }

    #[test]
    fn splits_into_the_pieces_asked_for_when_the_sample_allows() {
        let sample: Vec<i64> = (0..100).map(|k| k * 10).collect();
        let keys: Vec<i64> = (-50..1_050).collect();
        let whole = KeyRange::everything();
        for pieces in [1, 2, 3, 7, 50, 100, 101, 1_000] {
            let ranges = whole.split(&sample, pieces);
            assert_eq!(ranges.len(), pieces.min(101), "{pieces}");
            partitions(&ranges, &whole, &keys);
        }
        // About equal shares of the sample.
        let shares: Vec<usize> =
            whole.split(&sample, 4).iter().map(|r| r.sample_share(&sample)).collect();
        assert_eq!(shares, vec![25, 25, 25, 25]);
    }

    #[test]
    fn splits_a_bounded_range_at_the_sample_keys_inside_it() {
        let sample: Vec<i64> = (0..100).collect();
        let keys: Vec<i64> = (-5..105).collect();
        for whole in [range(Some(10), Some(20)), range(None, Some(3)), range(Some(95), None)] {
            for pieces in 1..15 {
                let ranges = whole.split(&sample, pieces);
                partitions(&ranges, &whole, &keys);
                assert!(ranges.len() <= whole.sample_share(&sample) + 1);
            }
        }
    }

    #[test]
    fn a_range_without_sample_keys_stays_whole() {
        let whole = range(Some(10), Some(20));
        assert_eq!(whole.split(&[1, 2, 30], 5), vec![whole.clone()]);
        assert_eq!(whole.split(&[], 5), vec![whole]);
    }

    #[test]
    fn text_keys_split_in_byte_order() {
        let sample: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        let ranges = KeyRange::everything().split(&sample, 2);
        assert_eq!(ranges[0].upto.as_deref(), Some("b"));
        assert!(ranges[1].holds(&"bb".to_string()));
        assert!(ranges[0].holds(&"B".to_string()), "uppercase sorts first in byte order");
    }

    #[test]
    fn pieces_grow_with_what_the_range_would_take() {
        // 1,000 contacts seen in 1 MB: 1 kB each; 100,000 contacts in a 10 MB budget.
        assert_eq!(pieces_for(1 << 20, 1_000, 100_000, 10 << 20), 15);
        assert_eq!(pieces_for(100, 1, 1, 1_000_000), 2, "never fewer than two");
        assert_eq!(pieces_for(0, 0, 0, 0), 2);
        assert_eq!(pieces_for(usize::MAX, 1, usize::MAX, 1), 1 << 16);
    }
}
