//! Log streams for the panes and the background SLO watches: one follower per pane or
//! watch, each following its service's pods; a pane closed is a follower (and its streams)
//! dropped. Lines come back tagged with the pane's id.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::cluster::logs::{LogEvent, LogFollower, pod_targets};
use crate::model::service::{Service, ServiceKey};

/// A log stream the screen wants followed: a pane, or a background SLO watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Follow {
    pub id: u64,
    pub key: ServiceKey,
    /// How far back the first lines go.
    pub backfill_s: u64,
    /// Container streams it may open.
    pub cap: usize,
}

/// One log follower per open pane or watch.
pub struct Followers {
    by_pane: HashMap<u64, LogFollower>,
    events: mpsc::UnboundedSender<(u64, LogEvent)>,
}

impl Followers {
    pub fn new(events: mpsc::UnboundedSender<(u64, LogEvent)>) -> Followers {
        Followers { by_pane: HashMap::new(), events }
    }

    /// Matches the followers to what is wanted, and each follower's streams to its
    /// service's pods now; answers how many streams each one follows. `client_for` is the
    /// connection a service's streams go through (in a fleet, its own cluster's); a service
    /// whose cluster is not connected gets no follower yet (its pane says 0 streams).
    pub fn sync(
        &mut self,
        wanted: &[Follow],
        services: &[Arc<Service>],
        client_for: impl Fn(&ServiceKey) -> Option<kube::Client>,
    ) -> HashMap<u64, usize> {
        self.by_pane.retain(|id, _| wanted.iter().any(|w| w.id == *id));
        let targets =
            |key: &ServiceKey| services.iter().find(|s| &s.key == key).map(|s| pod_targets(s)).unwrap_or_default();
        let mut followed = HashMap::new();
        for want in wanted {
            let streams = match self.follower(want, &client_for) {
                Some(follower) => {
                    follower.sync(&targets(&want.key));
                    follower.followed()
                }
                None => 0,
            };
            followed.insert(want.id, streams);
        }
        followed
    }

    /// The follower of `want`, started on first use through its service's connection.
    fn follower(
        &mut self,
        want: &Follow,
        client_for: &impl Fn(&ServiceKey) -> Option<kube::Client>,
    ) -> Option<&mut LogFollower> {
        let vacant = match self.by_pane.entry(want.id) {
            Entry::Occupied(follower) => return Some(follower.into_mut()),
            Entry::Vacant(vacant) => vacant,
        };
        let client = client_for(&want.key)?;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let all = self.events.clone();
        let id = want.id;
        tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                if all.send((id, event)).is_err() {
                    return;
                }
            }
        });
        let pods = kube::Api::namespaced(client, &want.key.namespace);
        Some(vacant.insert(LogFollower::new(pods, Duration::from_secs(want.backfill_s), want.cap, tx)))
    }
}
