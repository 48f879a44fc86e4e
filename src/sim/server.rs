//! The HTTP/1.1 listener: hyper on loopback, one task per connection, every connection
//! tracked so that the `restart_listener` fault can close the listener and all open
//! connections (watches and log follows included) and listen again on the same port.
//!
//! One port speaks both https and plain HTTP: a connection that opens with a TLS
//! handshake gets TLS (kubectl sends credentials only there), any other is served as
//! plain HTTP (hand-written kubeconfigs and probes keep working).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use super::api::{self, ApiState};

/// How long the port stays closed during a listener restart, so clients really see
/// their connections refused before it comes back.
const RESTART_PAUSE: Duration = Duration::from_millis(100);

/// The first byte of every TLS connection: the record type of the ClientHello. No HTTP
/// request starts with it (methods are letters).
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Serves `listener` until the returned task is aborted.
pub fn spawn(listener: TcpListener, state: Arc<ApiState>, tls: TlsAcceptor) -> JoinHandle<()> {
    tokio::spawn(serve(listener, state, tls))
}

async fn serve(mut listener: TcpListener, state: Arc<ApiState>, tls: TlsAcceptor) {
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
                        connections.spawn(connection(stream, state.clone(), tls.clone()));
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

async fn connection(stream: TcpStream, state: Arc<ApiState>, tls: TlsAcceptor) {
    let _ = stream.set_nodelay(true);
    if !opens_with_tls(&stream).await {
        return serve_http(stream, state).await;
    }
    // A failed handshake is a client that does not trust our CA, or went away: the
    // client reports it, the server has nothing to add.
    if let Ok(stream) = tls.accept(stream).await {
        serve_http(stream, state).await;
    }
}

/// Whether the client's first byte starts a TLS handshake. Peeking leaves the byte in the
/// socket for whichever protocol reads next; a client that closes without a byte is
/// handed to the plain HTTP server, which sees the end of the stream.
async fn opens_with_tls(stream: &TcpStream) -> bool {
    let mut first = [0u8; 1];
    matches!(stream.peek(&mut first).await, Ok(1) if first[0] == TLS_HANDSHAKE_RECORD)
}

async fn serve_http<S>(stream: S, state: Arc<ApiState>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| {
        let state = state.clone();
        async move { Ok::<_, Infallible>(api::handle(state, req).await) }
    });
    // Errors here are clients going away mid-request; nothing to report.
    let _ = http1::Builder::new().timer(TokioTimer::new()).serve_connection(TokioIo::new(stream), service).await;
}
