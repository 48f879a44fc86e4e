//! Values the API server stamps on objects' metadata.

/// Now, to the second, as the API server writes `creationTimestamp` and managedFields' `time`.
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now().round(jiff::Unit::Second).unwrap_or_else(|_| jiff::Timestamp::now()).to_string()
}
