//! The Deployment controller, following upstream `pkg/controller/deployment`: new and
//! old ReplicaSets by template, revisions (and `revision-history` on rollback), rolling
//! update within maxSurge / maxUnavailable, Recreate, pause, proportional scaling,
//! progress deadline, conditions and status, history pruning, `ScalingReplicaSet` events.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::{owned, rt};
use crate::sim::world::events;
use crate::sim::world::objects::{
    self, ObjRef, annotation, bool_at, i64_at, is_deleting, scaled_int_or_percent, str_at, template_hash,
    templates_equal,
};
use crate::sim::world::runtime::{Task, World};

pub const REVISION: &str = "deployment.kubernetes.io/revision";
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
const SKIPPED_ANNOTATIONS: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    REVISION_HISTORY,
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
];
/// Upstream keeps `revision-history` under this many characters.
const MAX_REVISION_HISTORY_CHARS: usize = 2000;

/// A ReplicaSet as the controller reads it.
#[derive(Clone, Debug)]
struct Rs {
    obj: Arc<Value>,
}

impl Rs {
    fn name(&self) -> &str {
        objects::name(&self.obj)
    }
    fn replicas(&self) -> i64 {
        i64_at(&self.obj, "/spec/replicas").unwrap_or(1)
    }
    fn status(&self, field: &str) -> i64 {
        i64_at(&self.obj, &format!("/status/{field}")).unwrap_or(0)
    }
    fn revision(&self) -> i64 {
        annotation(&self.obj, REVISION).and_then(|r| r.parse().ok()).unwrap_or(0)
    }
    fn created(&self) -> &str {
        str_at(&self.obj, "/metadata/creationTimestamp")
    }
    fn annotation(&self, key: &str) -> Option<i64> {
        annotation(&self.obj, key).and_then(|v| v.parse().ok())
    }
}

fn replicas(d: &Value) -> i64 {
    i64_at(d, "/spec/replicas").unwrap_or(1)
}

fn is_rolling(d: &Value) -> bool {
    str_at(d, "/spec/strategy/type") != "Recreate"
}

/// `ResolveFenceposts`: surge rounds up, unavailable rounds down, never both zero.
pub fn fenceposts(max_surge: Option<&Value>, max_unavailable: Option<&Value>, desired: i64) -> (i64, i64) {
    let surge = scaled_int_or_percent(max_surge.or(Some(&json!("25%"))), desired, true).unwrap_or(0).max(0);
    let unavailable =
        scaled_int_or_percent(max_unavailable.or(Some(&json!("25%"))), desired, false).unwrap_or(0).max(0);
    if surge == 0 && unavailable == 0 { (0, 1) } else { (surge, unavailable) }
}

fn rolling_params(d: &Value) -> (i64, i64) {
    fenceposts(
        d.pointer("/spec/strategy/rollingUpdate/maxSurge"),
        d.pointer("/spec/strategy/rollingUpdate/maxUnavailable"),
        replicas(d),
    )
}

pub fn max_surge(d: &Value) -> i64 {
    if !is_rolling(d) {
        return 0;
    }
    rolling_params(d).0
}

pub fn max_unavailable(d: &Value) -> i64 {
    if !is_rolling(d) || replicas(d) == 0 {
        return 0;
    }
    rolling_params(d).1.min(replicas(d))
}

fn progress_deadline(d: &Value) -> Option<i64> {
    i64_at(d, "/spec/progressDeadlineSeconds").filter(|s| *s != i64::from(i32::MAX))
}

pub fn sync(world: &mut World, key: &ObjRef) {
    let store = world.ctx.store.clone();
    let Some(d) = store.get(rt("deployments"), &key.namespace, &key.name) else { return };
    let rs_list = owned_rs(world, &d);
    if is_deleting(&d) {
        sync_status_only(world, &d, &rs_list);
        return;
    }
    if check_paused_conditions(world, &d) {
        return;
    }
    if bool_at(&d, "/spec/paused") {
        sync_scale(world, &d, &rs_list);
        return;
    }
    if is_scaling_event(world, &d, &rs_list) {
        let d = fresh(world, &d);
        let rs_list = owned_rs(world, &d);
        sync_scale(world, &d, &rs_list);
        return;
    }
    let d = fresh(world, &d);
    let rs_list = owned_rs(world, &d);
    if is_rolling(&d) { rollout_rolling(world, &d, &rs_list) } else { rollout_recreate(world, &d, &rs_list) }
}

fn fresh(world: &World, d: &Value) -> Arc<Value> {
    world
        .ctx
        .store
        .get(rt("deployments"), objects::namespace(d), objects::name(d))
        .unwrap_or_else(|| Arc::new(d.clone()))
}

fn owned_rs(world: &World, d: &Value) -> Vec<Rs> {
    owned(&world.ctx.store, "replicasets", objects::namespace(d), objects::uid(d))
        .into_iter()
        .map(|obj| Rs { obj })
        .collect()
}

fn reread(world: &World, rs: &[Rs]) -> Vec<Rs> {
    rs.iter()
        .filter_map(|r| world.ctx.store.get(rt("replicasets"), objects::namespace(&r.obj), r.name()))
        .map(|obj| Rs { obj })
        .collect()
}

fn active(rs: &[Rs]) -> Vec<Rs> {
    rs.iter().filter(|r| r.replicas() > 0).cloned().collect()
}

/// Splits into the new ReplicaSet (the oldest whose template equals the deployment's)
/// and the old ones.
fn find_new_and_old(d: &Value, rs_list: &[Rs]) -> (Option<Rs>, Vec<Rs>) {
    let template = d.pointer("/spec/template").cloned().unwrap_or(json!({}));
    let mut sorted: Vec<Rs> = rs_list.to_vec();
    sorted.sort_by(|a, b| a.created().cmp(b.created()).then_with(|| a.name().cmp(b.name())));
    let new = sorted
        .iter()
        .find(|r| templates_equal(r.obj.pointer("/spec/template").unwrap_or(&Value::Null), &template))
        .cloned();
    let old = sorted.into_iter().filter(|r| Some(r.name()) != new.as_ref().map(Rs::name)).collect();
    (new, old)
}

/// `getAllReplicaSetsAndSyncRevision`: the new RS (created if asked), with its revision
/// and annotations brought up to date, and the old ones.
fn get_all(world: &mut World, d: &Value, rs_list: &[Rs], create: bool) -> (Option<Rs>, Vec<Rs>) {
    let (new, old) = find_new_and_old(d, rs_list);
    let max_old_revision = old.iter().map(Rs::revision).max().unwrap_or(0);
    let new_revision = max_old_revision + 1;
    if let Some(new) = new {
        let new = sync_existing_new_rs(world, d, new, new_revision);
        return (Some(new), old);
    }
    if !create {
        return (None, old);
    }
    (create_new_rs(world, d, &old, new_revision), old)
}

/// Copies the deployment's annotations to a ReplicaSet and raises its revision;
/// returns whether anything changed.
fn set_new_rs_annotations(d: &Value, rs: &mut Value, new_revision: i64, exists: bool) -> bool {
    let mut changed = false;
    let d_annotations = d.pointer("/metadata/annotations").and_then(Value::as_object).cloned().unwrap_or_default();
    let meta = crate::sim::store::ensure_object(rs, "metadata");
    let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
    if !annotations.is_object() {
        *annotations = json!({});
    }
    let annotations = annotations.as_object_mut().expect("object");
    for (k, v) in &d_annotations {
        if SKIPPED_ANNOTATIONS.contains(&k.as_str()) {
            continue;
        }
        if annotations.get(k) != Some(v) {
            annotations.insert(k.clone(), v.clone());
            changed = true;
        }
    }
    let old_revision = annotations.get(REVISION).and_then(Value::as_str).map(str::to_string);
    let old_revision_int: i64 = match &old_revision {
        Some(r) => match r.parse() {
            Ok(n) => n,
            Err(_) => return changed,
        },
        None => 0,
    };
    if old_revision_int < new_revision {
        annotations.insert(REVISION.into(), json!(new_revision.to_string()));
        changed = true;
        if let Some(old) = old_revision.filter(|r| !r.is_empty()) {
            let history = annotations.get(REVISION_HISTORY).and_then(Value::as_str).unwrap_or("").to_string();
            let mut entries: Vec<String> = history.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect();
            entries.push(old);
            while entries.join(",").len() > MAX_REVISION_HISTORY_CHARS && entries.len() > 1 {
                entries.remove(0);
            }
            annotations.insert(REVISION_HISTORY.into(), json!(entries.join(",")));
        }
    }
    if !exists {
        changed |= set_replicas_annotations(annotations, replicas(d), replicas(d) + max_surge(d));
    }
    changed
}

fn set_replicas_annotations(annotations: &mut Map<String, Value>, desired: i64, max: i64) -> bool {
    let mut changed = false;
    for (key, value) in [(DESIRED_REPLICAS, desired), (MAX_REPLICAS, max)] {
        let v = json!(value.to_string());
        if annotations.get(key) != Some(&v) {
            annotations.insert(key.into(), v);
            changed = true;
        }
    }
    changed
}

fn sync_existing_new_rs(world: &mut World, d: &Value, new: Rs, new_revision: i64) -> Rs {
    let store = world.ctx.store.clone();
    let mut copy = (*new.obj).clone();
    let annotations_changed = set_new_rs_annotations(d, &mut copy, new_revision, true);
    let min_ready = d.pointer("/spec/minReadySeconds").cloned().unwrap_or(json!(0));
    let min_ready_changed = copy.pointer("/spec/minReadySeconds").cloned().unwrap_or(json!(0)) != min_ready;
    if annotations_changed || min_ready_changed {
        copy["spec"]["minReadySeconds"] = min_ready;
        let annotations = copy["metadata"]["annotations"].clone();
        let min_ready = copy["spec"]["minReadySeconds"].clone();
        if let Some(updated) = store.modify_with(rt("replicasets"), objects::namespace(d), new.name(), |r| {
            r["metadata"]["annotations"] = annotations.clone();
            r["spec"]["minReadySeconds"] = min_ready.clone();
        }) {
            return Rs { obj: updated };
        }
        return new;
    }
    let revision = annotation(&new.obj, REVISION).unwrap_or("").to_string();
    let needs_condition =
        progress_deadline(d).is_some() && objects::condition(d.pointer("/status/conditions"), "Progressing").is_none();
    let needs_revision = annotation(d, REVISION) != Some(revision.as_str());
    if needs_condition || needs_revision {
        let message = format!("Found new replica set \"{}\"", new.name());
        update_deployment(world, d, |obj| {
            if needs_revision {
                set_annotation(obj, REVISION, &revision);
            }
            if needs_condition {
                let mut conds = objects::conditions_of(obj);
                set_deployment_condition(&mut conds, "Progressing", "True", "FoundNewReplicaSet", &message);
                obj["status"]["conditions"] = json!(conds);
            }
        });
    }
    new
}

fn create_new_rs(world: &mut World, d: &Value, old: &[Rs], new_revision: i64) -> Option<Rs> {
    let store = world.ctx.store.clone();
    let collision_count = i64_at(d, "/status/collisionCount").unwrap_or(0);
    let template = d.pointer("/spec/template").cloned().unwrap_or(json!({}));
    let hash = template_hash(&template, collision_count);
    let rs = build_rs(d, &hash, 0, new_revision);
    let mut rs = rs;
    let new_replicas = new_rs_new_replicas(d, old, None);
    rs["spec"]["replicas"] = json!(new_replicas);
    let name = objects::name(&rs).to_string();
    let created = match store.create(rt("replicasets"), rs) {
        Ok(created) => created,
        Err(e) if e.code == 409 => {
            let existing = store.get(rt("replicasets"), objects::namespace(d), &name)?;
            if objects::owned_by(&existing, objects::uid(d))
                && templates_equal(existing.pointer("/spec/template").unwrap_or(&Value::Null), &template)
            {
                return Some(Rs { obj: existing });
            }
            // A hash collision: count it and retry with a different name.
            update_deployment(world, d, |obj| obj["status"]["collisionCount"] = json!(collision_count + 1));
            return None;
        }
        Err(_) => return None,
    };
    if new_replicas > 0 {
        let message = format!("Scaled up replica set {name} from 0 to {new_replicas}");
        world.event(d, None, false, "ScalingReplicaSet", &message, events::DEPLOYMENTS);
    }
    let message = format!("Created new replica set \"{name}\"");
    let has_deadline = progress_deadline(d).is_some();
    update_deployment(world, d, |obj| {
        set_annotation(obj, REVISION, &new_revision.to_string());
        if has_deadline {
            let mut conds = objects::conditions_of(obj);
            set_deployment_condition(&mut conds, "Progressing", "True", "NewReplicaSetCreated", &message);
            obj["status"]["conditions"] = json!(conds);
        }
    });
    Some(Rs { obj: created })
}

/// The ReplicaSet a deployment makes for its current template (also used to seed large
/// clusters in a state the controller agrees with).
pub fn build_rs(d: &Value, hash: &str, replicas: i64, revision: i64) -> Value {
    let mut template = d.pointer("/spec/template").cloned().unwrap_or(json!({}));
    crate::sim::store::ensure_object(&mut template, "metadata");
    let labels = template["metadata"].as_object_mut().expect("object").entry("labels").or_insert_with(|| json!({}));
    labels["pod-template-hash"] = json!(hash);
    let labels = labels.clone();
    let mut selector = d.pointer("/spec/selector").cloned().unwrap_or(json!({}));
    crate::sim::store::ensure_object(&mut selector, "matchLabels");
    selector["matchLabels"]["pod-template-hash"] = json!(hash);
    let mut rs = json!({
        "metadata": {
            "name": format!("{}-{hash}", objects::name(d)),
            "namespace": objects::namespace(d),
            "labels": labels,
            "ownerReferences": [objects::owner_reference(d, rt("deployments"))],
        },
        "spec": {
            "replicas": replicas,
            "minReadySeconds": d.pointer("/spec/minReadySeconds").cloned().unwrap_or(json!(0)),
            "selector": selector,
            "template": template,
        },
    });
    set_new_rs_annotations(d, &mut rs, revision, false);
    rs
}

/// `NewRSNewReplicas`: how big the new ReplicaSet may be now.
fn new_rs_new_replicas(d: &Value, all: &[Rs], new: Option<&Rs>) -> i64 {
    if !is_rolling(d) {
        return replicas(d);
    }
    let current_new = new.map(Rs::replicas).unwrap_or(0);
    let current_total: i64 = all.iter().map(Rs::replicas).sum::<i64>() + if new.is_some() { 0 } else { current_new };
    let max_total = replicas(d) + max_surge(d);
    if current_total >= max_total {
        return current_new;
    }
    let scale_up = (max_total - current_total).min(replicas(d) - current_new);
    current_new + scale_up.max(0)
}

fn rollout_rolling(world: &mut World, d: &Value, rs_list: &[Rs]) {
    let (new, old) = get_all(world, d, rs_list, true);
    let d = fresh(world, d);
    let Some(new) = new else {
        sync_rollout_status(world, &d, &old, None);
        return;
    };
    let mut all = old.clone();
    all.push(new.clone());
    if reconcile_new_rs(world, &d, &all, &new) {
        let (all, new) = refreshed(world, &old, &new);
        sync_rollout_status(world, &d, &all, Some(&new));
        return;
    }
    if reconcile_old_rss(world, &d, &all, &active(&old), &new) {
        let (all, new) = refreshed(world, &old, &new);
        sync_rollout_status(world, &d, &all, Some(&new));
        return;
    }
    let status = calculate_status(world, &d, &all, Some(&new));
    if deployment_complete(&d, &status) {
        cleanup(world, &d, &old);
    }
    sync_rollout_status(world, &d, &all, Some(&new));
}

fn refreshed(world: &World, old: &[Rs], new: &Rs) -> (Vec<Rs>, Rs) {
    let new = reread(world, std::slice::from_ref(new)).pop().unwrap_or_else(|| new.clone());
    let mut all = reread(world, old);
    all.push(new.clone());
    (all, new)
}

fn reconcile_new_rs(world: &mut World, d: &Value, all: &[Rs], new: &Rs) -> bool {
    let want = replicas(d);
    if new.replicas() == want {
        return false;
    }
    if new.replicas() > want {
        return scale_rs(world, d, new, want);
    }
    let others: Vec<Rs> = all.iter().filter(|r| r.name() != new.name()).cloned().collect();
    let mut with_new = others;
    with_new.push(new.clone());
    let count = new_rs_new_replicas(d, &with_new, Some(new));
    scale_rs(world, d, new, count)
}

fn reconcile_old_rss(world: &mut World, d: &Value, all: &[Rs], old: &[Rs], new: &Rs) -> bool {
    let old_pods: i64 = old.iter().map(Rs::replicas).sum();
    if old_pods == 0 {
        return false;
    }
    let all_pods: i64 = all.iter().map(Rs::replicas).sum();
    let min_available = replicas(d) - max_unavailable(d);
    let new_unavailable = new.replicas() - new.status("availableReplicas");
    let max_scaled_down = all_pods - min_available - new_unavailable;
    if max_scaled_down <= 0 {
        return false;
    }
    // Unhealthy old replicas go first: they do not count toward availability anyway.
    let mut old_sorted = old.to_vec();
    old_sorted.sort_by(|a, b| a.created().cmp(b.created()));
    let mut cleaned = 0;
    let mut after_cleanup = Vec::new();
    for rs in old_sorted {
        if cleaned >= max_scaled_down || rs.replicas() == 0 {
            after_cleanup.push(rs);
            continue;
        }
        let unhealthy = rs.replicas() - rs.status("availableReplicas");
        if unhealthy <= 0 {
            after_cleanup.push(rs);
            continue;
        }
        let down = (max_scaled_down - cleaned).min(unhealthy);
        let target = rs.replicas() - down;
        scale_rs(world, d, &rs, target);
        cleaned += down;
        after_cleanup.extend(reread(world, std::slice::from_ref(&rs)));
    }
    let mut all_after = after_cleanup.clone();
    all_after.push(new.clone());
    let scaled = scale_down_old_for_rolling_update(world, d, &all_after, &after_cleanup);
    cleaned + scaled > 0
}

fn scale_down_old_for_rolling_update(world: &mut World, d: &Value, all: &[Rs], old: &[Rs]) -> i64 {
    let min_available = replicas(d) - max_unavailable(d);
    let available: i64 = all.iter().map(|r| r.status("availableReplicas")).sum();
    if available <= min_available {
        return 0;
    }
    let mut old_sorted = old.to_vec();
    old_sorted.sort_by(|a, b| a.created().cmp(b.created()));
    let total = available - min_available;
    let mut scaled = 0;
    for rs in old_sorted {
        if scaled >= total {
            break;
        }
        if rs.replicas() == 0 {
            continue;
        }
        let down = rs.replicas().min(total - scaled);
        scale_rs(world, d, &rs, rs.replicas() - down);
        scaled += down;
    }
    scaled
}

fn rollout_recreate(world: &mut World, d: &Value, rs_list: &[Rs]) {
    let (new, old) = get_all(world, d, rs_list, false);
    let mut scaled = false;
    for rs in active(&old) {
        scaled |= scale_rs(world, d, &rs, 0);
    }
    let mut all = old.clone();
    all.extend(new.clone());
    if scaled {
        let all = reread(world, &all);
        let new = new.and_then(|n| reread(world, &[n]).pop());
        sync_rollout_status(world, d, &all, new.as_ref());
        return;
    }
    let old_pods_remain = old
        .iter()
        .any(|rs| !super::owned_pods(&world.ctx.store, objects::namespace(d), objects::uid(&rs.obj)).is_empty());
    if old_pods_remain {
        sync_rollout_status(world, d, &all, new.as_ref());
        return;
    }
    let (new, old) = match new {
        Some(n) => (Some(n), old),
        None => get_all(world, d, rs_list, true),
    };
    let d = fresh(world, d);
    let mut all = old.clone();
    all.extend(new.clone());
    if let Some(new) = &new
        && new.replicas() != replicas(&d)
        && scale_rs(world, &d, new, replicas(&d))
    {
        let all = reread(world, &all);
        let new = reread(world, std::slice::from_ref(new)).pop();
        sync_rollout_status(world, &d, &all, new.as_ref());
        return;
    }
    let status = calculate_status(world, &d, &all, new.as_ref());
    if deployment_complete(&d, &status) {
        cleanup(world, &d, &old);
    }
    sync_rollout_status(world, &d, &all, new.as_ref());
}

/// `isScalingEvent`: an active ReplicaSet was sized for a different replica count.
fn is_scaling_event(world: &mut World, d: &Value, rs_list: &[Rs]) -> bool {
    let (new, old) = get_all(world, d, rs_list, false);
    let mut all = old;
    all.extend(new);
    active(&all).iter().any(|rs| rs.annotation(DESIRED_REPLICAS).is_some_and(|desired| desired != replicas(d)))
}

/// `sync`: scaling (and history cleanup while paused) without a rollout.
fn sync_scale(world: &mut World, d: &Value, rs_list: &[Rs]) {
    let (new, old) = get_all(world, d, rs_list, false);
    scale(world, d, new.as_ref(), &old);
    let new = new.and_then(|n| reread(world, &[n]).pop());
    let old = reread(world, &old);
    if bool_at(d, "/spec/paused") {
        cleanup(world, d, &old);
    }
    let mut all = old;
    all.extend(new.clone());
    sync_status_only(world, &fresh(world, d), &all);
}

fn scale(world: &mut World, d: &Value, new: Option<&Rs>, old: &[Rs]) {
    let want = replicas(d);
    if let Some(target) = find_active_or_latest(new, old) {
        if target.replicas() != want {
            scale_rs(world, d, &target, want);
        }
        return;
    }
    if let Some(new) = new
        && is_saturated(d, new)
    {
        for rs in active(old) {
            scale_rs(world, d, &rs, 0);
        }
        return;
    }
    if !is_rolling(d) {
        return;
    }
    let mut all = old.to_vec();
    all.extend(new.cloned());
    let mut all = active(&all);
    if all.is_empty() {
        return;
    }
    let current: i64 = all.iter().map(Rs::replicas).sum();
    let allowed = if want > 0 { want + max_surge(d) } else { 0 };
    let to_add = allowed - current;
    if to_add > 0 {
        // Larger first, newer first on ties.
        all.sort_by(|a, b| b.replicas().cmp(&a.replicas()).then_with(|| b.created().cmp(a.created())));
    } else {
        all.sort_by(|a, b| b.replicas().cmp(&a.replicas()).then_with(|| a.created().cmp(b.created())));
    }
    let mut added = 0;
    let mut sizes: Vec<i64> = Vec::new();
    for rs in &all {
        if to_add != 0 {
            let proportion = proportion(d, rs, to_add, added);
            sizes.push(rs.replicas() + proportion);
            added += proportion;
        } else {
            sizes.push(rs.replicas());
        }
    }
    if to_add != 0 {
        sizes[0] = (sizes[0] + to_add - added).max(0);
    }
    for (rs, size) in all.iter().zip(sizes) {
        scale_rs(world, d, rs, size);
    }
}

fn proportion(d: &Value, rs: &Rs, to_add: i64, added: i64) -> i64 {
    if rs.replicas() == 0 || to_add == 0 || to_add == added {
        return 0;
    }
    let fraction = if replicas(d) == 0 {
        -rs.replicas()
    } else {
        let deployment_replicas = replicas(d) + max_surge(d);
        let annotated =
            rs.annotation(MAX_REPLICAS).unwrap_or_else(|| i64_at(d, "/status/replicas").unwrap_or(0)).max(1);
        ((rs.replicas() * deployment_replicas) as f64 / annotated as f64).round() as i64 - rs.replicas()
    };
    let allowed = to_add - added;
    if to_add > 0 { fraction.min(allowed) } else { fraction.max(allowed) }
}

fn find_active_or_latest(new: Option<&Rs>, old: &[Rs]) -> Option<Rs> {
    if new.is_none() && old.is_empty() {
        return None;
    }
    let mut old_sorted = old.to_vec();
    old_sorted.sort_by(|a, b| b.created().cmp(a.created()));
    let mut all = old_sorted.clone();
    all.extend(new.cloned());
    let active = active(&all);
    match active.len() {
        0 => new.cloned().or_else(|| old_sorted.first().cloned()),
        1 => Some(active[0].clone()),
        _ => None,
    }
}

fn is_saturated(d: &Value, rs: &Rs) -> bool {
    rs.replicas() == replicas(d)
        && rs.annotation(DESIRED_REPLICAS) == Some(replicas(d))
        && rs.status("availableReplicas") == replicas(d)
}

/// Sets a ReplicaSet's size (and its desired/max annotations); records the event.
fn scale_rs(world: &mut World, d: &Value, rs: &Rs, size: i64) -> bool {
    let size = size.max(0);
    let desired = replicas(d);
    let max = desired + max_surge(d);
    let size_changed = rs.replicas() != size;
    let annotations_stale =
        rs.annotation(DESIRED_REPLICAS) != Some(desired) || rs.annotation(MAX_REPLICAS) != Some(max);
    if !size_changed && !annotations_stale {
        return false;
    }
    let updated = world.ctx.store.modify_with(rt("replicasets"), objects::namespace(d), rs.name(), |r| {
        r["spec"]["replicas"] = json!(size);
        let meta = crate::sim::store::ensure_object(r, "metadata");
        let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
        if let Some(a) = annotations.as_object_mut() {
            set_replicas_annotations(a, desired, max);
        }
    });
    if size_changed && updated.is_some() {
        let direction = if size > rs.replicas() { "up" } else { "down" };
        let message = format!("Scaled {direction} replica set {} from {} to {size}", rs.name(), rs.replicas());
        world.event(d, None, false, "ScalingReplicaSet", &message, events::DEPLOYMENTS);
    }
    size_changed
}

/// Prunes old ReplicaSets beyond `revisionHistoryLimit`, oldest revision first.
fn cleanup(world: &mut World, d: &Value, old: &[Rs]) {
    let Some(limit) = i64_at(d, "/spec/revisionHistoryLimit") else { return };
    let mut cleanable: Vec<Rs> = old.iter().filter(|r| !is_deleting(&r.obj)).cloned().collect();
    let diff = cleanable.len() as i64 - limit;
    if diff <= 0 {
        return;
    }
    cleanable.sort_by(|a, b| a.revision().cmp(&b.revision()).then_with(|| a.created().cmp(b.created())));
    for rs in cleanable.into_iter().take(diff as usize) {
        let observed = i64_at(&rs.obj, "/status/observedGeneration").unwrap_or(0);
        let generation = i64_at(&rs.obj, "/metadata/generation").unwrap_or(0);
        if rs.status("replicas") != 0 || rs.replicas() != 0 || generation > observed {
            continue;
        }
        let _ = world.ctx.store.delete(rt("replicasets"), objects::namespace(d), rs.name(), None);
    }
}

/// Deployment status, computed from its ReplicaSets (`calculateStatus`).
fn calculate_status(world: &World, d: &Value, all: &[Rs], new: Option<&Rs>) -> Value {
    let _ = world;
    let available: i64 = all.iter().map(|r| r.status("availableReplicas")).sum();
    let total_spec: i64 = all.iter().map(Rs::replicas).sum();
    let unavailable = (total_spec - available).max(0);
    let mut status = Map::new();
    status.insert("observedGeneration".into(), json!(i64_at(d, "/metadata/generation").unwrap_or(1)));
    let fields = [
        ("replicas", all.iter().map(|r| r.status("replicas")).sum::<i64>()),
        ("updatedReplicas", new.map(|n| n.status("replicas")).unwrap_or(0)),
        ("readyReplicas", all.iter().map(|r| r.status("readyReplicas")).sum()),
        ("availableReplicas", available),
        ("unavailableReplicas", unavailable),
    ];
    for (field, value) in fields {
        if value != 0 {
            status.insert(field.into(), json!(value));
        }
    }
    if let Some(c) = d.pointer("/status/collisionCount") {
        status.insert("collisionCount".into(), c.clone());
    }
    let mut conds = objects::conditions_of(d);
    if available >= replicas(d) - max_unavailable(d) {
        set_deployment_condition(
            &mut conds,
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
        );
    } else {
        set_deployment_condition(
            &mut conds,
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
        );
    }
    status.insert("conditions".into(), json!(conds));
    Value::Object(status)
}

fn status_i(status: &Value, field: &str) -> i64 {
    i64_at(status, &format!("/{field}")).unwrap_or(0)
}

fn deployment_complete(d: &Value, status: &Value) -> bool {
    let want = replicas(d);
    status_i(status, "updatedReplicas") == want
        && status_i(status, "replicas") == want
        && status_i(status, "availableReplicas") == want
        && status_i(status, "observedGeneration") >= i64_at(d, "/metadata/generation").unwrap_or(1)
}

fn deployment_progressing(d: &Value, status: &Value) -> bool {
    let old = d.get("status").cloned().unwrap_or(json!({}));
    let old_old = status_i(&old, "replicas") - status_i(&old, "updatedReplicas");
    let new_old = status_i(status, "replicas") - status_i(status, "updatedReplicas");
    status_i(status, "updatedReplicas") > status_i(&old, "updatedReplicas")
        || new_old < old_old
        || status_i(status, "readyReplicas") > status_i(&old, "readyReplicas")
        || status_i(status, "availableReplicas") > status_i(&old, "availableReplicas")
}

/// When the Progressing condition last moved, in the world's clock.
fn progress_mark(world: &World, d: &Value, cond: &Value) -> Instant {
    let last_update = str_at(cond, "/lastUpdateTime");
    if let Some((ts, at)) = world.progress_marks.get(objects::uid(d))
        && ts == last_update
    {
        return *at;
    }
    let ago = last_update
        .parse::<jiff::Timestamp>()
        .ok()
        .and_then(|t| jiff::Timestamp::now().duration_since(t).try_into().ok())
        .unwrap_or_default();
    Instant::now().checked_sub(ago).unwrap_or_else(Instant::now)
}

fn timed_out(world: &World, d: &Value, status: &Value) -> bool {
    let Some(deadline) = progress_deadline(d) else { return false };
    let Some(cond) = objects::condition(status.get("conditions"), "Progressing") else { return false };
    match str_at(cond, "/reason") {
        "NewReplicaSetAvailable" => false,
        "ProgressDeadlineExceeded" => true,
        _ => progress_mark(world, d, cond) + world.real_secs(deadline as f64) <= Instant::now(),
    }
}

/// `syncRolloutStatus`: status plus the Progressing condition (progress, completion,
/// deadline), and a wake-up at the deadline when nothing else will come.
fn sync_rollout_status(world: &mut World, d: &Value, all: &[Rs], new: Option<&Rs>) {
    let mut status = calculate_status(world, d, all, new);
    let mut conds: Vec<Value> = status["conditions"].as_array().cloned().unwrap_or_default();
    let deadline = progress_deadline(d);
    if deadline.is_none() {
        conds.retain(|c| str_at(c, "/type") != "Progressing");
    }
    let current = objects::condition(d.pointer("/status/conditions"), "Progressing").cloned();
    let complete_already = status_i(&status, "replicas") == status_i(&status, "updatedReplicas")
        && current.as_ref().is_some_and(|c| str_at(c, "/reason") == "NewReplicaSetAvailable");
    if deadline.is_some() && !complete_already {
        let subject = match new {
            Some(rs) => format!("ReplicaSet \"{}\"", rs.name()),
            None => format!("Deployment \"{}\"", objects::name(d)),
        };
        status["conditions"] = json!(conds);
        if deployment_complete(d, &status) {
            let message = format!("{subject} has successfully progressed.");
            set_deployment_condition(&mut conds, "Progressing", "True", "NewReplicaSetAvailable", &message);
        } else if deployment_progressing(d, &status) {
            let message = format!("{subject} is progressing.");
            let mut cond = new_condition("Progressing", "True", "ReplicaSetUpdated", &message);
            if let Some(cur) = &current
                && str_at(cur, "/status") == "True"
            {
                cond["lastTransitionTime"] = cur["lastTransitionTime"].clone();
            }
            conds.retain(|c| str_at(c, "/type") != "Progressing");
            conds.push(cond);
        } else if timed_out(world, d, &status) {
            let message = format!("{subject} has timed out progressing.");
            set_deployment_condition(&mut conds, "Progressing", "False", "ProgressDeadlineExceeded", &message);
        }
    }
    status["conditions"] = json!(conds);
    if d.get("status") == Some(&status) {
        requeue_stuck(world, d, &status);
        return;
    }
    if let Some(cond) = objects::condition(status.get("conditions"), "Progressing") {
        let last_update = str_at(cond, "/lastUpdateTime").to_string();
        let changed = current.as_ref().is_none_or(|c| str_at(c, "/lastUpdateTime") != last_update);
        if changed {
            world.progress_marks.insert(objects::uid(d).to_string(), (last_update, Instant::now()));
        }
    }
    let status_for_write = status.clone();
    if let Some(updated) = update_deployment(world, d, |obj| obj["status"] = status_for_write.clone()) {
        requeue_stuck(world, &updated, &status);
    }
}

fn requeue_stuck(world: &mut World, d: &Value, status: &Value) {
    let Some(deadline) = progress_deadline(d) else { return };
    let Some(cond) = objects::condition(d.pointer("/status/conditions"), "Progressing") else { return };
    if deployment_complete(d, status) || str_at(cond, "/reason") == "ProgressDeadlineExceeded" {
        return;
    }
    if str_at(cond, "/status") != "True" && str_at(cond, "/reason") != "DeploymentResumed" {
        return;
    }
    let at = progress_mark(world, d, cond) + world.real_secs(deadline as f64) + std::time::Duration::from_millis(20);
    let now = Instant::now();
    let uid = objects::uid(d).to_string();
    if at > now {
        world.stuck_requeues.remove(&uid);
        world.enqueue_at(at, Task::Deployment(ObjRef::of(d)));
        return;
    }
    // The deadline is past and the sync did not time it out (a rollout that completed once
    // and lost replicas since never times out): upstream requeues such a deployment
    // rate-limited, 5 ms doubling up to 1000 s, not at once, or it would spin.
    let tries = world.stuck_requeues.entry(uid).or_insert(0);
    let backoff = std::time::Duration::from_millis(5).saturating_mul(1u32 << (*tries).min(18));
    *tries = tries.saturating_add(1);
    world.enqueue_at(now + backoff.min(std::time::Duration::from_secs(1000)), Task::Deployment(ObjRef::of(d)));
}

fn sync_status_only(world: &mut World, d: &Value, all: &[Rs]) {
    let (new, _) = find_new_and_old(d, all);
    let status = calculate_status(world, d, all, new.as_ref());
    if d.get("status") != Some(&status) {
        update_deployment(world, d, |obj| obj["status"] = status.clone());
    }
}

/// Records the paused / resumed state in the Progressing condition; true when written.
fn check_paused_conditions(world: &mut World, d: &Value) -> bool {
    if progress_deadline(d).is_none() {
        return false;
    }
    let cond = objects::condition(d.pointer("/status/conditions"), "Progressing");
    if cond.is_some_and(|c| str_at(c, "/reason") == "ProgressDeadlineExceeded") {
        return false;
    }
    let paused_recorded = cond.is_some_and(|c| str_at(c, "/reason") == "DeploymentPaused");
    let paused = bool_at(d, "/spec/paused");
    let (reason, message) = match (paused, paused_recorded) {
        (true, false) => ("DeploymentPaused", "Deployment is paused"),
        (false, true) => ("DeploymentResumed", "Deployment is resumed"),
        _ => return false,
    };
    let updated = update_deployment(world, d, |obj| {
        let mut conds = objects::conditions_of(obj);
        set_deployment_condition(&mut conds, "Progressing", "Unknown", reason, message);
        obj["status"]["conditions"] = json!(conds);
    });
    if let Some(updated) = updated
        && let Some(c) = objects::condition(updated.pointer("/status/conditions"), "Progressing")
    {
        world
            .progress_marks
            .insert(objects::uid(d).to_string(), (str_at(c, "/lastUpdateTime").to_string(), Instant::now()));
    }
    true
}

fn new_condition(kind: &str, status: &str, reason: &str, message: &str) -> Value {
    let now = objects::now();
    json!({"type": kind, "status": status, "lastUpdateTime": now, "lastTransitionTime": now, "reason": reason, "message": message})
}

/// `SetDeploymentCondition`: no change when status and reason are the same; keeps the
/// transition time when only the reason changes; the condition moves to the end.
fn set_deployment_condition(conds: &mut Vec<Value>, kind: &str, status: &str, reason: &str, message: &str) {
    let current = conds.iter().find(|c| str_at(c, "/type") == kind).cloned();
    if let Some(cur) = &current
        && str_at(cur, "/status") == status
        && str_at(cur, "/reason") == reason
    {
        return;
    }
    let mut cond = new_condition(kind, status, reason, message);
    if let Some(cur) = &current
        && str_at(cur, "/status") == status
    {
        cond["lastTransitionTime"] = cur["lastTransitionTime"].clone();
    }
    conds.retain(|c| str_at(c, "/type") != kind);
    conds.push(cond);
}

fn set_annotation(obj: &mut Value, key: &str, value: &str) {
    let meta = crate::sim::store::ensure_object(obj, "metadata");
    let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
    if !annotations.is_object() {
        *annotations = json!({});
    }
    annotations[key] = json!(value);
}

fn update_deployment(world: &World, d: &Value, change: impl FnMut(&mut Value)) -> Option<Arc<Value>> {
    world.ctx.store.modify_with(rt("deployments"), objects::namespace(d), objects::name(d), change)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fenceposts_round_surge_up_and_unavailable_down() {
        assert_eq!(fenceposts(Some(&json!("25%")), Some(&json!("25%")), 3), (1, 0));
        assert_eq!(fenceposts(Some(&json!(0)), Some(&json!(0)), 3), (0, 1));
        assert_eq!(fenceposts(Some(&json!(1)), Some(&json!(0)), 3), (1, 0));
        assert_eq!(fenceposts(Some(&json!("50%")), Some(&json!("50%")), 5), (3, 2));
        assert_eq!(fenceposts(None, None, 10), (3, 2));
    }

    #[test]
    fn rollback_moves_revision_into_history() {
        let d = json!({"metadata": {"name": "api", "annotations": {"kubernetes.io/change-cause": "undo"}}, "spec": {"replicas": 2}});
        let mut rs = json!({"metadata": {"annotations": {REVISION: "1"}}});
        assert!(set_new_rs_annotations(&d, &mut rs, 3, true));
        assert_eq!(rs["metadata"]["annotations"][REVISION], "3");
        assert_eq!(rs["metadata"]["annotations"][REVISION_HISTORY], "1");
        assert_eq!(rs["metadata"]["annotations"]["kubernetes.io/change-cause"], "undo");
        assert!(!set_new_rs_annotations(&d, &mut rs, 3, true));
    }
}
