//! The accept loop, one task per connection, and the shutdown that drains
//! them for at most a second.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::{select, Either};
use hyper::server::conn::Http;
use hyper::service::service_fn;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsAcceptor;

use crate::service::handle;

/// How long open connections may finish their requests after SIGTERM; the
/// runner's own grace period is longer, so the server always exits first.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// The listen backlog. tokio's bind() asks for 1024; Go's net asks for
/// net.core.somaxconn (4096 on current kernels), which the kernel caps this
/// to as well, so connection-churn rows find the same queue as on the Go
/// columns.
const BACKLOG: u32 = 4096;

/// How long to pause accepting after an accept error such as EMFILE, so a
/// full descriptor table does not turn the loop into a busy spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// The connection builders: every setting is hyper 0.14's default (HTTP/2:
/// 1 MiB initial stream and connection windows, 16384-byte frames, no
/// SETTINGS_MAX_CONCURRENT_STREAMS limit; HTTP/1.1: keep-alive, no limit on
/// requests per connection).
struct Protocols {
    /// Cleartext: HTTP/1.1, or HTTP/2 when the connection opens with the
    /// client preface (RFC 9113 section 3.4).
    cleartext: Http,
    /// TLS with ALPN h2.
    h2: Http,
    /// TLS with ALPN http/1.1 or none: HTTP/2 over TLS needs ALPN h2 (RFC
    /// 9113 section 3.3).
    h1: Http,
}

impl Protocols {
    fn new() -> Protocols {
        let mut h2 = Http::new();
        h2.http2_only(true);
        let mut h1 = Http::new();
        h1.http1_only(true);
        Protocols { cleartext: Http::new(), h2, h1 }
    }
}

/// Serves on addr until SIGTERM or SIGINT, then drains. ready is called
/// with the bound address once the socket listens.
pub async fn run(addr: SocketAddr, tls: Option<TlsAcceptor>, ready: impl FnOnce(SocketAddr)) -> Result<(), String> {
    let listener = listen(addr).map_err(|e| format!("listen on {addr}: {e}"))?;
    ready(listener.local_addr().unwrap_or(addr));
    let mut term = signal(SignalKind::terminate()).map_err(|e| format!("SIGTERM handler: {e}"))?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| format!("SIGINT handler: {e}"))?;

    let (stop_tx, stop_rx) = watch::channel(false);
    // Every connection task holds a clone of live; once the last one is
    // dropped, recv returns None: every connection has ended.
    let (live, mut ended) = mpsc::channel::<()>(1);
    let protos = Arc::new(Protocols::new());
    {
        let signalled = select(Box::pin(term.recv()), Box::pin(int.recv()));
        let accepting = Box::pin(accept_loop(&listener, &protos, &tls, &stop_rx, &live));
        select(signalled, accepting).await;
    }
    drop(listener);
    drop(live);
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, ended.recv()).await;
    Ok(())
}

fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let sock = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    // As every server here: a restart finds the port free even with the
    // last run's connections in TIME_WAIT.
    sock.set_reuseaddr(true)?;
    sock.bind(addr)?;
    sock.listen(BACKLOG)
}

/// Accepts forever, one task per connection.
async fn accept_loop(
    listener: &TcpListener,
    protos: &Arc<Protocols>,
    tls: &Option<TlsAcceptor>,
    stop: &watch::Receiver<bool>,
    live: &mpsc::Sender<()>,
) {
    loop {
        let tcp = match listener.accept().await {
            Ok((tcp, _)) => tcp,
            Err(e) => {
                eprintln!("matrix-hyper: accept: {e}");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        tokio::spawn(connection(tcp, protos.clone(), tls.clone(), stop.clone(), live.clone()));
    }
}

/// Serves one connection, over TLS when an acceptor is given.
async fn connection(
    tcp: TcpStream,
    protos: Arc<Protocols>,
    tls: Option<TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
    _live: mpsc::Sender<()>,
) {
    // Responses are written whole; Nagle's algorithm would only hold the
    // last segment of one back waiting for an ACK. Go's net, nginx and
    // h2o set TCP_NODELAY too.
    let _ = tcp.set_nodelay(true);
    // (No let-else: Debian's rustc is 1.63.)
    let acceptor = match tls {
        Some(a) => a,
        None => return drive(&protos.cleartext, tcp, stop).await,
    };
    let stream = match select(acceptor.accept(tcp), Box::pin(stop.changed())).await {
        Either::Left((Ok(s), _)) => s,
        // A failed handshake (the client saw the alert), or shutdown.
        Either::Left((Err(_), _)) | Either::Right(_) => return,
    };
    let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
    drive(if h2 { &protos.h2 } else { &protos.h1 }, stream, stop).await
}

/// Runs hyper on io until the connection ends, or until stop: then hyper
/// finishes the requests in flight (on HTTP/2 after a GOAWAY, RFC 9113
/// section 6.8) and closes.
async fn drive<I>(http: &Http, io: I, mut stop: watch::Receiver<bool>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let conn = http.serve_connection(io, service_fn(handle));
    tokio::pin!(conn);
    // A connection's error (a peer that reset it, a malformed request hyper
    // already answered) ends that connection only; logging each under load
    // would measure the log.
    let stopped = matches!(select(conn.as_mut(), Box::pin(stop.changed())).await, Either::Right(_));
    if stopped {
        conn.as_mut().graceful_shutdown();
        let _ = conn.await;
    }
}
