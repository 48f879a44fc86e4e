//! Live measurement of a database's connections, for the budget: reads the connection
//! string from the environment variable the profile names (never from a file) and asks
//! the server. Attribution to services is the model's ([`ServerReading::measured`]).

use std::time::Duration;

use super::postgres;
use crate::model::budget::{ClientConnections, DatabaseBudget, Measured, ServerReading};
use crate::model::service::Service;

/// Long enough for a server across a VPN, short enough never to hold up the cockpit.
pub const MEASURE_TIMEOUT: Duration = Duration::from_secs(3);

/// The environment variable that holds `budget`'s connection string: its own `url_env`,
/// else `fallback` (`--pg-url-env`).
pub fn url_env<'a>(budget: &'a DatabaseBudget, fallback: Option<&'a str>) -> Option<&'a str> {
    budget.url_env.as_deref().or(fallback)
}

/// Reads the server whose URL is in the environment variable `env_name`.
pub async fn read_server(env_name: &str) -> Result<ServerReading, String> {
    let url = std::env::var(env_name).map_err(|_| format!("environment variable {env_name} is not set"))?;
    let m = postgres::measure(&url, MEASURE_TIMEOUT).await.map_err(|e| e.to_string())?;
    Ok(ServerReading {
        max_connections: m.max_connections,
        reserved: m.superuser_reserved + m.reserved_connections,
        connections: m.total + m.hidden,
        clients: m
            .clients
            .iter()
            .map(|c| ClientConnections {
                application_name: c.application_name.clone(),
                user: c.user.clone(),
                client_addr: c.client_addr.clone(),
                count: c.count,
            })
            .collect(),
    })
}

/// Measures every database that has a connection string, concurrently.
pub async fn measure_all(budgets: &mut [DatabaseBudget], services: &[Service], fallback: Option<&str>) {
    let readings = futures::future::join_all(budgets.iter().map(|b| async move {
        match url_env(b, fallback) {
            Some(name) => Some(read_server(name).await),
            None => None,
        }
    }))
    .await;
    for (budget, reading) in budgets.iter_mut().zip(readings) {
        let measured = match reading {
            None => Measured::NotConfigured,
            Some(Ok(reading)) => reading.measured(budget, services),
            Some(Err(cause)) => Measured::Unavailable(cause),
        };
        *budget = budget.clone().with_measured(measured);
    }
}
