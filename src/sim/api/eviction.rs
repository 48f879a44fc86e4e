//! `pods/{name}/eviction` (policy/v1 `Eviction`): a pod is deleted only when its disruption
//! budget allows it, as the API server's eviction handler decides
//! (`pkg/registry/core/pod/storage/eviction.go`): what `kubectl drain` and the cockpit's
//! guided drain send, and the answer (429 with the `DisruptionBudget` cause) they wait on.

use std::sync::Arc;

use http::Response;
use serde_json::{Value, json};

use super::route::Target;
use super::verbs::{DeleteOptions, current, delete_one, delete_options_in};
use super::{ApiRequest, ApiState, Body, json_response};
use crate::sim::error::ApiError;
use crate::sim::resources::resource;
use crate::sim::world::objects::{self, i64_at, is_deleting, pod_ready, str_at};

/// The status cause a refused eviction carries (`policyv1.DisruptionBudgetCause`).
pub const DISRUPTION_BUDGET_CAUSE: &str = "DisruptionBudget";

/// POST `.../pods/{name}/eviction`.
pub fn evict(state: &ApiState, req: &ApiRequest, target: &Target) -> Result<Response<Body>, ApiError> {
    let body = req.json_body()?;
    let name = target.name_or_empty();
    let named = body.pointer("/metadata/name").and_then(Value::as_str).unwrap_or(name);
    if named != name {
        return Err(ApiError::bad_request("name in URL does not match name in Eviction object"));
    }
    let opts = delete_options_in(body.get("deleteOptions").unwrap_or(&json!({})), req);
    let pod = current(state, target)?;
    if ignores_budget(&pod) {
        return delete_evicted(state, &pod, &opts);
    }
    let pdbs = budgets_of(state, &pod);
    let pdb = match pdbs.as_slice() {
        [] => return delete_evicted(state, &pod, &opts),
        [one] => one,
        _ => {
            return Err(ApiError::internal(
                "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
            ));
        }
    };
    // An unready pod does not count as healthy: evicting it costs the budget nothing when
    // the budget is met anyway (or its policy says AlwaysAllow).
    if !pod_ready(&pod) {
        let always = str_at(pdb, "/spec/unhealthyPodEvictionPolicy") == "AlwaysAllow";
        let healthy = i64_at(pdb, "/status/currentHealthy").unwrap_or(0);
        let desired = i64_at(pdb, "/status/desiredHealthy").unwrap_or(0);
        if always || (healthy >= desired && desired > 0) {
            return delete_evicted(state, &pod, &opts);
        }
    }
    let rt = resource("poddisruptionbudgets").expect("served");
    let pod_name = objects::name(&pod).to_string();
    if opts.dry_run {
        check_budget(pdb)?;
        return Ok(success());
    }
    state.store.modify(rt, objects::namespace(pdb), objects::name(pdb), |budget| {
        check_budget(budget)?;
        take_one_disruption(budget, &pod_name);
        Ok(())
    })?;
    delete_evicted(state, &pod, &opts)
}

/// Pods that are not running yet, already finished or already on their way out are
/// evicted without asking their budget.
fn ignores_budget(pod: &Value) -> bool {
    matches!(str_at(pod, "/status/phase"), "Pending" | "Succeeded" | "Failed") || is_deleting(pod)
}

/// The disruption budgets of the pod's namespace that select it. A PDB with an empty
/// selector selects nothing here (as upstream: it "should match nothing, not everything").
fn budgets_of(state: &ApiState, pod: &Value) -> Vec<Arc<Value>> {
    let rt = resource("poddisruptionbudgets").expect("served");
    let labels = objects::labels(pod);
    state
        .store
        .list(rt, Some(objects::namespace(pod)))
        .0
        .into_iter()
        .filter(|pdb| {
            let selector = pdb.pointer("/spec/selector").filter(|s| !empty_selector(s));
            objects::label_selector_matches(selector, &labels)
        })
        .collect()
}

fn empty_selector(selector: &Value) -> bool {
    let none = |field: &str| {
        selector.get(field).is_none_or(|v| {
            v.as_object().is_some_and(|m| m.is_empty()) || v.as_array().is_some_and(|a| a.is_empty()) || v.is_null()
        })
    };
    none("matchLabels") && none("matchExpressions")
}

/// Whether the budget allows one more disruption now (`checkAndDecrement`).
fn check_budget(pdb: &Value) -> Result<(), ApiError> {
    let name = objects::name(pdb);
    let observed = i64_at(pdb, "/status/observedGeneration").unwrap_or(0);
    if observed < i64_at(pdb, "/metadata/generation").unwrap_or(1) {
        return Err(refused(format!("The disruption budget {name} is still being processed by the server.")));
    }
    let allowed = i64_at(pdb, "/status/disruptionsAllowed").unwrap_or(0);
    if allowed < 0 {
        return Err(ApiError {
            code: 403,
            reason: "Forbidden",
            message: format!(
                "poddisruptionbudgets.policy \"{name}\" is forbidden: pdb disruptions allowed is negative"
            ),
            details: Some(json!({"name": name, "group": "policy", "kind": "poddisruptionbudgets"})),
            retry_after: None,
        });
    }
    if allowed == 0 {
        let desired = i64_at(pdb, "/status/desiredHealthy").unwrap_or(0);
        let healthy = i64_at(pdb, "/status/currentHealthy").unwrap_or(0);
        return Err(refused(format!(
            "The disruption budget {name} needs {desired} healthy pods and has {healthy} currently"
        )));
    }
    Ok(())
}

/// 429 "Cannot evict pod as it would violate the pod's disruption budget.", with why.
fn refused(cause: String) -> ApiError {
    ApiError {
        code: 429,
        reason: "TooManyRequests",
        message: "Cannot evict pod as it would violate the pod's disruption budget.".into(),
        details: Some(json!({"causes": [{"reason": DISRUPTION_BUDGET_CAUSE, "message": cause}]})),
        retry_after: Some(0),
    }
}

/// The budget pays for the eviction before the pod goes: one disruption fewer, and the
/// pod recorded as disrupted so the disruption controller no longer counts it healthy.
fn take_one_disruption(pdb: &mut Value, pod: &str) {
    let allowed = i64_at(pdb, "/status/disruptionsAllowed").unwrap_or(0) - 1;
    let status = crate::sim::store::ensure_object(pdb, "status");
    status.insert("disruptionsAllowed".into(), json!(allowed));
    let disrupted = status.entry("disruptedPods").or_insert_with(|| json!({}));
    if !disrupted.is_object() {
        *disrupted = json!({});
    }
    disrupted[pod] = json!(objects::now());
    if allowed == 0
        && let Some(conditions) = status.get_mut("conditions").and_then(Value::as_array_mut)
    {
        for c in conditions.iter_mut().filter(|c| c["type"] == "DisruptionAllowed") {
            c["status"] = json!("False");
            c["reason"] = json!("InsufficientPods");
        }
    }
}

fn delete_evicted(state: &ApiState, pod: &Value, opts: &DeleteOptions) -> Result<Response<Body>, ApiError> {
    let rt = resource("pods").expect("served");
    delete_one(state, rt, pod, opts)?;
    Ok(success())
}

/// What the API server answers to an eviction it carried out.
fn success() -> Response<Body> {
    json_response(201, &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}))
}
