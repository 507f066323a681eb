//! Where each contact's summary sits, by integer key, while a pass folds events.
//!
//! A full pass looks a contact up once per event. CRM keys are mostly serial ids, so a
//! dense key range indexes a plain vector: one read of four bytes per event, in a table
//! that fits in the processor's cache (16 MiB at most for a million contacts), where a
//! hash map of the same keys costs a hash and about twice the memory. Keys far outside
//! the range (sparse ids, keys of contacts that do not exist) go to a hash map instead.

use rustc_hash::FxHashMap;

/// Places (`u32`) by `i64` key.
#[derive(Debug, Default)]
pub struct KeyPlaces {
    /// The key of `dense[0]`.
    base: i64,
    /// Place + 1 for each key from `base` on; 0 for none.
    dense: Vec<u32>,
    /// The most slots `dense` may grow to.
    limit: usize,
    sparse: FxHashMap<i64, u32>,
}

impl KeyPlaces {
    /// For about `contacts` keys: the dense range may span four times as many.
    pub fn for_contacts(contacts: usize) -> KeyPlaces {
        KeyPlaces { limit: contacts.saturating_mul(4).max(1 << 16), ..KeyPlaces::default() }
    }

    /// The place of `key`, given the next free place by `new` when it has none yet.
    pub fn place_of(&mut self, key: i64, new: impl FnOnce() -> u32) -> u32 {
        match self.dense_slot(key) {
            Some(slot) => {
                if *slot == 0 {
                    *slot = new() + 1;
                }
                *slot - 1
            }
            None => *self.sparse.entry(key).or_insert_with(new),
        }
    }

    /// Take `key`'s place out.
    pub fn remove(&mut self, key: i64) -> Option<u32> {
        if let Some(slot) = self.offset_of(key).and_then(|offset| self.dense.get_mut(offset)) {
            if *slot != 0 {
                return Some(std::mem::take(slot) - 1);
            }
        }
        self.sparse.remove(&key)
    }

    /// Every (key, place), in key order.
    pub fn into_sorted(self) -> Vec<(i64, u32)> {
        let base = i128::from(self.base);
        let dense = self.dense.into_iter().enumerate().filter(|&(_, slot)| slot != 0);
        // (A dense key is within the i64 range: it was placed there.)
        let mut all: Vec<(i64, u32)> =
            dense.map(|(offset, slot)| ((base + offset as i128) as i64, slot - 1)).collect();
        if !self.sparse.is_empty() {
            all.extend(self.sparse);
            all.sort_unstable_by_key(|&(key, _)| key);
        }
        all
    }

    /// Where `key` would sit in the dense range (which may not reach that far), or
    /// `None` below its base. Keys span the whole i64 range, so this is worked out in
    /// i128: `key - base` overflows i64 for keys of opposite signs far apart.
    fn offset_of(&self, key: i64) -> Option<usize> {
        usize::try_from(i128::from(key) - i128::from(self.base)).ok()
    }

    /// `key`'s slot in the dense range, growing the range to take it in when that stays
    /// within the limit.
    fn dense_slot(&mut self, key: i64) -> Option<&mut u32> {
        if self.dense.is_empty() {
            self.base = key;
        }
        let offset = i128::from(key) - i128::from(self.base);
        let len = self.dense.len() as i128;
        let limit = self.limit as i128;
        if offset < 0 {
            // Grow downwards, by at least half again, so a descending scan moves little.
            let needed = len - offset;
            if needed > limit {
                return None;
            }
            let grown = (needed as usize).max(self.dense.len() * 3 / 2).min(self.limit);
            // Never below i64::MIN: the base moves down by at most its distance to it.
            let room = (i128::from(self.base) - i128::from(i64::MIN)) as u128;
            let extra = (grown - self.dense.len()).min(usize::try_from(room).unwrap_or(usize::MAX));
            self.dense.splice(0..0, std::iter::repeat_n(0, extra));
            self.base = (i128::from(self.base) - extra as i128) as i64;
        } else if offset >= len {
            let needed = offset + 1;
            if needed > limit {
                return None;
            }
            let grown = (needed as usize).max(self.dense.len() * 3 / 2).min(self.limit);
            self.dense.resize(grown, 0);
        }
        let offset = self.offset_of(key)?;
        self.dense.get_mut(offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placed(places: &mut KeyPlaces, keys: &[i64]) -> Vec<u32> {
        let mut next = 0;
        keys.iter()
            .map(|&key| {
                places.place_of(key, || {
                    next += 1;
                    next - 1
                })
            })
            .collect()
    }

    #[test]
    fn the_same_key_keeps_its_place_whichever_way_the_range_grows() {
        let cases: &[(&str, &[i64], &[u32])] = &[
            ("ascending", &[1, 2, 3, 1, 3], &[0, 1, 2, 0, 2]),
            ("descending", &[100, 50, 7, 100, 7], &[0, 1, 2, 0, 2]),
            ("both ways", &[500, 1000, 2, 1000, 500, 2], &[0, 1, 2, 1, 0, 2]),
            ("negative and zero", &[0, -5, 5, -5], &[0, 1, 2, 1]),
            ("far apart: sparse", &[1, 1 << 40, -(1 << 40), 1 << 40], &[0, 1, 2, 1]),
            ("extremes", &[i64::MAX, i64::MIN, 0, i64::MIN], &[0, 1, 2, 1]),
        ];
        for (name, keys, expected) in cases {
            let mut places = KeyPlaces::for_contacts(10);
            assert_eq!(placed(&mut places, keys), *expected, "{name}");
        }
    }

    #[test]
    fn sorted_by_key_dense_and_sparse_together() {
        let mut places = KeyPlaces::for_contacts(10);
        placed(&mut places, &[30, 10, 1 << 40, 20, -(1 << 40)]);
        assert_eq!(
            places.into_sorted(),
            vec![(-(1 << 40), 4), (10, 1), (20, 3), (30, 0), (1 << 40, 2)]
        );
    }

    #[test]
    fn removed_keys_are_gone() {
        let mut places = KeyPlaces::for_contacts(10);
        placed(&mut places, &[5, 6, 1 << 50]);
        assert_eq!(places.remove(6), Some(1));
        assert_eq!(places.remove(6), None);
        assert_eq!(places.remove(1 << 50), Some(2));
        assert_eq!(places.remove(7), None);
        assert_eq!(places.remove(i64::MIN), None);
        assert_eq!(places.into_sorted(), vec![(5, 0)]);
    }

    #[test]
    fn keys_across_the_whole_range_keep_their_places() {
        let cases: &[&[i64]] = &[
            &[i64::MIN, -1, 0, 1, 2, i64::MAX - 1, i64::MAX],
            &[-4_611_686_018_427_387_904, 1, 2, 3, 4_611_686_018_427_387_904],
            &[i64::MAX, i64::MAX - 1, i64::MIN + 1, i64::MIN],
            &[i64::MIN, i64::MIN + 1, i64::MIN + 2, 7],
            &[2, 1, 0, -1, i64::MIN],
        ];
        for keys in cases {
            let mut places = KeyPlaces::for_contacts(keys.len());
            let got = placed(&mut places, keys);
            assert_eq!(got, (0..keys.len() as u32).collect::<Vec<_>>(), "{keys:?}");
            let mut sorted: Vec<(i64, u32)> = keys.iter().copied().zip(got).collect();
            sorted.sort_unstable();
            let mut removed = KeyPlaces::for_contacts(keys.len());
            placed(&mut removed, keys);
            assert_eq!(places.into_sorted(), sorted, "{keys:?}");
            for (i, key) in keys.iter().enumerate() {
                assert_eq!(removed.remove(*key), Some(i as u32), "{keys:?}: {key}");
            }
            assert_eq!(removed.into_sorted(), vec![], "{keys:?}");
        }
    }

    proptest::proptest! {
        /// Any keys, in any order: each keeps its first place, comes out once in
        /// order, and is found again by `remove`.
        #[test]
        fn any_keys_behave_like_a_map(
            keys in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::num::i64::ANY,
                    -50i64..50,
                    proptest::sample::select(vec![i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX - 1, i64::MAX]),
                ],
                0..200,
            ),
            contacts in 0usize..300,
        ) {
            let mut places = KeyPlaces::for_contacts(contacts);
            let mut expected = std::collections::BTreeMap::new();
            for (got, key) in placed(&mut places, &keys).into_iter().zip(&keys) {
                let first = *expected.entry(*key).or_insert(got);
                proptest::prop_assert_eq!(got, first);
            }
            let mut again = KeyPlaces::for_contacts(contacts);
            placed(&mut again, &keys);
            let sorted: Vec<(i64, u32)> = expected.iter().map(|(k, v)| (*k, *v)).collect();
            proptest::prop_assert_eq!(places.into_sorted(), sorted);
            for (key, place) in &expected {
                proptest::prop_assert_eq!(again.remove(*key), Some(*place));
                proptest::prop_assert_eq!(again.remove(*key), None);
            }
        }
    }

    #[test]
    fn the_dense_range_stays_within_its_limit() {
        let mut places = KeyPlaces::for_contacts(10);
        let keys: Vec<i64> = (0..200_000).map(|k| k * 3).collect();
        let got = placed(&mut places, &keys);
        assert_eq!(got, (0..200_000).collect::<Vec<u32>>());
        assert!(places.dense.len() <= places.limit);
        assert!(!places.sparse.is_empty());
        let sorted = places.into_sorted();
        assert!(sorted.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(sorted.len(), 200_000);
    }
}
