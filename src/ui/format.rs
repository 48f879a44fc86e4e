//! Times as an operator reads them on screen; the rules (kubectl's) live in the model so
//! `status` and the cockpit print the same ages.

use jiff::Timestamp;

use crate::model::age::{human_age, human_duration};

/// `-` when the time is unknown.
pub fn age(since: Option<Timestamp>, now: Timestamp) -> String {
    since.map_or_else(|| "-".to_string(), |t| human_age(t, now))
}

pub fn duration(seconds: i64) -> String {
    human_duration(seconds)
}
