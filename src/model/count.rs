//! Numbers as people write them in manifests, env and profiles.

/// A count as a person writes it (`15`, ` 300 `): digits only. A number too large for
/// u32 is taken as u32::MAX rather than refused, so `99999999999` reads as "huge" (over
/// any budget) and not as "not given" (a harmless default).
pub fn parse_count(text: &str) -> Option<u32> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse().unwrap_or(u32::MAX))
}
