//! The simulator's admin endpoints under `/sim/`: no authentication, never faulted,
//! never counted.
//!
//! - `POST /sim/faults` — inject a fault (JSON shapes in [`crate::sim::faults`]);
//!   `GET /sim/faults` — what is armed.
//! - `GET /sim/metrics` — request accounting (shape in [`crate::sim::metrics`]);
//!   `POST /sim/metrics/reset` — zero it.
//! - `GET /sim/churn` — pod updates per second now; `POST /sim/churn {"rate": N}` — set it.

use http::{Method, Response};
use serde_json::json;

use super::{ApiRequest, ApiState, Body, error_response, json_response};
use crate::sim::error::ApiError;
use crate::sim::faults::fault_from_json;
use crate::sim::spec::FaultSink;

pub fn handle(state: &ApiState, req: &ApiRequest) -> Response<Body> {
    match (&req.method, req.path.trim_end_matches('/')) {
        (&Method::GET, "/sim/metrics") => json_response(200, &state.metrics.snapshot()),
        (&Method::POST, "/sim/metrics/reset") => {
            state.metrics.reset();
            json_response(200, &json!({"ok": true}))
        }
        (&Method::GET, "/sim/faults") => json_response(200, &state.faults.describe()),
        (&Method::POST, "/sim/faults") => inject(state, req),
        (&Method::GET, "/sim/churn") => json_response(200, &json!({"rate": state.churn.per_second()})),
        (&Method::POST, "/sim/churn") => set_churn(state, req),
        _ => error_response(&ApiError::path_not_found(&req.path)),
    }
}

fn inject(state: &ApiState, req: &ApiRequest) -> Response<Body> {
    let body: serde_json::Value = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        Err(e) => {
            return error_response(&ApiError::bad_request(format!("POST /sim/faults expects a JSON object: {e}")));
        }
    };
    match fault_from_json(&body) {
        Ok(fault) => {
            state.faults.inject(fault);
            json_response(200, &json!({"ok": true, "fault": body}))
        }
        Err(why) => error_response(&ApiError::bad_request(why)),
    }
}

fn set_churn(state: &ApiState, req: &ApiRequest) -> Response<Body> {
    let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
    match body.get("rate").and_then(serde_json::Value::as_f64).filter(|r| r.is_finite() && *r >= 0.0) {
        Some(rate) => {
            state.churn.set(rate);
            json_response(200, &json!({"ok": true, "rate": state.churn.per_second()}))
        }
        None => error_response(&ApiError::bad_request("POST /sim/churn expects {\"rate\": N} with N >= 0")),
    }
}
