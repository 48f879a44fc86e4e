//! Live measurement of a database's connections, for the budget: reads the connection
//! string from the environment variable the profile names (never from a file), asks the
//! server, and attributes its clients to the services in the budget.

use std::time::Duration;

use super::postgres;
use crate::model::budget::{ClientConnections, DatabaseBudget, Measured, attribute};
use crate::model::service::Service;

/// Long enough for a server across a VPN, short enough never to hold up the cockpit.
pub const MEASURE_TIMEOUT: Duration = Duration::from_secs(3);

/// The environment variable that holds `budget`'s connection string: its own `url_env`,
/// else `fallback` (`--pg-url-env`).
pub fn url_env<'a>(budget: &'a DatabaseBudget, fallback: Option<&'a str>) -> Option<&'a str> {
    budget.url_env.as_deref().or(fallback)
}

/// Measures one database; a failure is a [`Measured::Unavailable`] with its cause.
pub async fn measure_database(budget: &DatabaseBudget, services: &[Service], env_name: Option<&str>) -> Measured {
    let Some(name) = env_name else { return Measured::NotConfigured };
    let Ok(url) = std::env::var(name) else {
        return Measured::Unavailable(format!("environment variable {name} is not set"));
    };
    match postgres::measure(&url, MEASURE_TIMEOUT).await {
        Ok(m) => {
            let clients: Vec<ClientConnections> = m
                .clients
                .iter()
                .map(|c| ClientConnections {
                    application_name: c.application_name.clone(),
                    client_addr: c.client_addr.clone(),
                    count: c.count,
                })
                .collect();
            Measured::Connections {
                max_connections: m.max_connections,
                reserved: m.superuser_reserved + m.reserved_connections,
                connections: m.total,
                by_service: attribute(&clients, budget, services),
            }
        }
        Err(e) => Measured::Unavailable(e.to_string()),
    }
}

/// Measures every database that has a connection string, concurrently.
pub async fn measure_all(budgets: &mut [DatabaseBudget], services: &[Service], fallback: Option<&str>) {
    let results =
        futures::future::join_all(budgets.iter().map(|b| measure_database(b, services, url_env(b, fallback)))).await;
    for (budget, measured) in budgets.iter_mut().zip(results) {
        budget.measured = measured;
    }
}
