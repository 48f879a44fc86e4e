//! Recent events of a service (its workload, its ReplicaSets, its pods), newest first.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Event;
use serde::Deserialize;

use super::sanitize::{Sgr, cut_for_display, sanitize};
use super::service::EventRow;

/// The detail view shows this many; older ones are one `kubectl get events` away.
pub const MAX_EVENTS: usize = 20;

/// Event messages can be long (a whole stack trace); rows keep the start.
const MAX_MESSAGE_CHARS: usize = 300;

/// What the model reads of an Event, taken once when it arrives: the API server keeps an
/// hour of Events, thousands on a busy cluster, and a whole `Event` is a kilobyte as
/// stored. The row a service shows of it is made here, sanitised once, not with every
/// reassembly. Deserialises from an Event's JSON.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(from = "Event")]
pub struct EventFacts {
    pub namespace: String,
    pub name: String,
    /// What it is about, as the API names it (kind, name, and namespace when given).
    pub about_kind: String,
    pub about_name: String,
    pub about_namespace: Option<String>,
    pub row: EventRow,
}

impl From<Event> for EventFacts {
    fn from(event: Event) -> Self {
        let row = event_row(&event);
        let about = event.involved_object;
        EventFacts {
            namespace: event.metadata.namespace.unwrap_or_default(),
            name: event.metadata.name.unwrap_or_default(),
            about_kind: about.kind.unwrap_or_default(),
            about_name: about.name.unwrap_or_default(),
            about_namespace: about.namespace,
            row,
        }
    }
}

impl EventFacts {
    /// The namespace of what it is about (its own when the reference names none).
    pub fn about_namespace(&self) -> &str {
        self.about_namespace.as_deref().unwrap_or(&self.namespace)
    }
}

/// When the event last happened, from whichever field the reporter filled in.
fn last_seen(event: &Event) -> Option<Timestamp> {
    event
        .series
        .as_ref()
        .and_then(|s| s.last_observed_time.as_ref())
        .map(|t| t.0)
        .or_else(|| event.last_timestamp.as_ref().map(|t| t.0))
        .or_else(|| event.event_time.as_ref().map(|t| t.0))
        .or_else(|| event.first_timestamp.as_ref().map(|t| t.0))
        .or_else(|| event.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

fn event_row(event: &Event) -> EventRow {
    let involved = &event.involved_object;
    let kind = short_kind(involved.kind.as_deref().unwrap_or(""));
    let message = sanitize(event.message.as_deref().unwrap_or(""), Sgr::Strip);
    EventRow {
        warning: event.type_.as_deref() == Some("Warning"),
        reason: safe(event.reason.as_deref().unwrap_or("")),
        message: cut_for_display(message.trim(), MAX_MESSAGE_CHARS).into_owned(),
        count: event.series.as_ref().and_then(|s| s.count).or(event.count).unwrap_or(1),
        last_seen: last_seen(event),
        object: format!("{kind}/{}", safe(involved.name.as_deref().unwrap_or(""))),
    }
}

/// Newest first, capped at [`MAX_EVENTS`].
pub fn newest_first<'a>(events: impl IntoIterator<Item = &'a EventFacts>) -> Vec<EventRow> {
    let mut rows: Vec<EventRow> = events.into_iter().map(|e| e.row.clone()).collect();
    rows.sort_by(|a, b| b.last_seen.cmp(&a.last_seen).then_with(|| a.object.cmp(&b.object)));
    rows.truncate(MAX_EVENTS);
    rows
}

fn short_kind(kind: &str) -> String {
    match kind {
        "Pod" => "pod".to_string(),
        "Deployment" => "deploy".to_string(),
        "StatefulSet" => "sts".to_string(),
        "ReplicaSet" => "rs".to_string(),
        "HorizontalPodAutoscaler" => "hpa".to_string(),
        "PodDisruptionBudget" => "pdb".to_string(),
        other => safe(&other.to_lowercase()),
    }
}

fn safe(text: &str) -> String {
    sanitize(text, Sgr::Strip).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(name: &str, kind: &str, last: &str, reason: &str, message: &str) -> EventFacts {
        serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "s"},
            "involvedObject": {"kind": kind, "name": "fe-1", "namespace": "s"},
            "type": "Warning", "reason": reason, "message": message, "count": 4, "lastTimestamp": last,
        }))
        .unwrap()
    }

    #[test]
    fn rows_are_newest_first_and_sanitized() {
        let events = [
            event("a", "Pod", "2025-06-01T10:00:00Z", "Unhealthy", "Readiness probe failed: 503"),
            event("b", "Pod", "2025-06-01T11:00:00Z", "BackOff", "Back-off \u{1b}]52;c;ZXZpbA==\u{7}restarting"),
        ];
        let rows = newest_first(events.iter());
        assert_eq!(rows[0].reason, "BackOff");
        assert_eq!(rows[0].message, "Back-off restarting");
        assert_eq!(rows[0].object, "pod/fe-1");
        assert_eq!(rows[1].count, 4);
        assert!(rows[1].warning);
    }

    #[test]
    fn capped() {
        let events: Vec<EventFacts> = (0..30)
            .map(|i| event(&format!("e{i}"), "Pod", &format!("2025-06-01T10:{i:02}:00Z"), "Pulled", "ok"))
            .collect();
        let rows = newest_first(events.iter());
        assert_eq!(rows.len(), MAX_EVENTS);
        assert_eq!(rows[0].last_seen, Some("2025-06-01T10:29:00Z".parse().unwrap()));
    }
}
