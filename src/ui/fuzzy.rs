//! Fuzzy matching for the command palette and pickers: every query character must appear
//! in order; consecutive runs and word starts score higher, so `rr` finds
//! `rollout_restart` before `error_rate`.

/// A match: its score (higher is better) and the matched character positions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match {
    pub score: i64,
    pub positions: Vec<usize>,
}

pub fn fuzzy_match(query: &str, candidate: &str) -> Option<Match> {
    if query.is_empty() {
        return Some(Match { score: 0, positions: Vec::new() });
    }
    let cand: Vec<char> = candidate.chars().collect();
    let mut positions = Vec::with_capacity(query.len());
    let mut score = 0i64;
    let mut next = 0usize;
    let mut previous: Option<usize> = None;
    for q in query.chars().map(|c| c.to_ascii_lowercase()) {
        let found = (next..cand.len()).find(|&i| cand[i].to_ascii_lowercase() == q)?;
        let word_start = found == 0 || matches!(cand[found - 1], '_' | '-' | ' ' | '/' | '.');
        score += 1;
        if word_start {
            score += 8;
        }
        if previous == Some(found.wrapping_sub(1)) {
            score += 5;
        }
        score -= (found - next) as i64 / 4;
        positions.push(found);
        previous = Some(found);
        next = found + 1;
    }
    // Prefer shorter candidates among equals.
    score -= cand.len() as i64 / 16;
    Some(Match { score, positions })
}

/// Candidates matching `query`, best first (stable for equal scores).
pub fn rank<'a, T>(query: &str, items: &'a [T], text: impl Fn(&T) -> String) -> Vec<(&'a T, Match)> {
    let mut out: Vec<(&T, Match)> = items.iter().filter_map(|i| fuzzy_match(query, &text(i)).map(|m| (i, m))).collect();
    out.sort_by_key(|m| std::cmp::Reverse(m.1.score));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsequence_in_order_is_required() {
        assert!(fuzzy_match("scl", "scale").is_some());
        assert!(fuzzy_match("lcs", "scale").is_none());
    }

    #[test]
    fn word_starts_rank_first() {
        let items = ["error_rate", "rollout_restart", "rollout_resume"];
        let ranked = rank("rr", &items, |s| s.to_string());
        assert_eq!(*ranked[0].0, "rollout_restart");
    }

    #[test]
    fn positions_point_at_matched_characters() {
        assert_eq!(fuzzy_match("ol", "open_logs").unwrap().positions, vec![0, 5]);
    }
}
