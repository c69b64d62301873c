//! A small fuzzy matcher for the `/` filter: the query's characters must appear in order
//! (case-insensitively); tighter and earlier matches rank first.

/// A score for `candidate` (lower is better), or `None` when it does not match.
pub fn score(query: &str, candidate: &str) -> Option<usize> {
    let lower: Vec<char> = candidate.chars().map(|c| c.to_ascii_lowercase()).collect();
    let query: Vec<char> = query.chars().map(|c| c.to_ascii_lowercase()).collect();
    let Some(&head) = query.first() else {
        return Some(0);
    };
    // Greedy from each place the first character occurs, keeping the tightest: names are short,
    // so the quadratic worst case costs nothing noticeable.
    (0..lower.len())
        .filter(|&start| lower[start] == head)
        .filter_map(|start| {
            let mut at = start;
            for wanted in &query[1..] {
                at += 1 + lower[at + 1..].iter().position(|c| c == wanted)?;
            }
            // Spread of the match first, then its position, then shorter names.
            Some((at - start) * 1_000 + start * 10 + lower.len().min(9))
        })
        .min()
}

/// Indices of `candidates` that match `query`, best first; every index, in order, for an empty query.
pub fn filter<'a>(query: &str, candidates: impl Iterator<Item = &'a str>) -> Vec<usize> {
    let mut scored: Vec<(usize, usize)> = candidates
        .enumerate()
        .filter_map(|(i, c)| score(query, c).map(|s| (s, i)))
        .collect();
    if !query.is_empty() {
        scored.sort();
    }
    scored.into_iter().map(|(_, i)| i).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn characters_must_appear_in_order() {
        assert!(score("pcf", "parse_config").is_some());
        assert!(score("PCF", "parse_config").is_some());
        assert!(score("fcp", "parse_config").is_none());
        assert!(score("", "anything").is_some());
    }

    #[test]
    fn tight_matches_rank_first() {
        let names = ["split_fields", "parse_config", "src/config.rs"];
        assert_eq!(filter("conf", names.into_iter()), vec![2, 1]);
        assert_eq!(filter("", names.into_iter()), vec![0, 1, 2]);
    }
}
