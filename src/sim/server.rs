//! The HTTP/1.1 listener: hyper on loopback, one task per connection, every connection
//! tracked so that the `restart_listener` fault can close the listener and all open
//! connections (watches and log follows included) and listen again on the same port.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use super::api::{self, ApiState};

/// How long the port stays closed during a listener restart, so clients really see
/// their connections refused before it comes back.
const RESTART_PAUSE: Duration = Duration::from_millis(100);

/// Serves `listener` until the returned task is aborted.
pub fn spawn(listener: TcpListener, state: Arc<ApiState>) -> JoinHandle<()> {
    tokio::spawn(serve(listener, state))
}

async fn serve(mut listener: TcpListener, state: Arc<ApiState>) {
    let mut restarts = state.faults.listener_restarts();
    restarts.mark_unchanged();
    loop {
        let addr = listener.local_addr().unwrap_or(state.addr);
        // Dropping the set (or shutting it down) closes every connection.
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        connections.spawn(connection(stream, state.clone()));
                    }
                    // Out of file descriptors or similar: back off instead of spinning.
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                },
                _ = restarts.changed() => break,
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
        drop(listener);
        connections.shutdown().await;
        tokio::time::sleep(RESTART_PAUSE).await;
        listener = rebind(addr).await;
    }
}

async fn rebind(addr: SocketAddr) -> TcpListener {
    loop {
        match TcpListener::bind(addr).await {
            Ok(listener) => return listener,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

async fn connection(stream: TcpStream, state: Arc<ApiState>) {
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |req| {
        let state = state.clone();
        async move { Ok::<_, Infallible>(api::handle(state, req).await) }
    });
    // Errors here are clients going away mid-request; nothing to report.
    let _ = http1::Builder::new().timer(TokioTimer::new()).serve_connection(TokioIo::new(stream), service).await;
}
