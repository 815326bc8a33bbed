//! matrix-hyper serves the matrix contract with hyper 0.14 on tokio:
//! HTTP/1.1 and, on the same port, HTTP/2 over cleartext TCP with prior
//! knowledge (RFC 9113 section 3.3); with TLS_CERT and TLS_KEY set, TLS
//! instead, offering h2 and http/1.1 by ALPN (RFC 7301).
//!
//! The contract (servers/README.md): GET / answers "Hello, World!" as
//! text/plain, GET /json answers {"message":"Hello, World!"} as
//! application/json, and POST /upload reads the whole request body and
//! answers its length in bytes as decimal text. The server listens on
//! $HOST:$PORT (HOST empty means every IPv4 interface) and exits within a
//! second of SIGTERM or SIGINT. `-version` prints "hyper <version>".

mod serve;
mod service;
mod tls;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::{env, thread};

/// The hyper crate cargo resolved, as build.rs read it from Cargo.lock.
const HYPER_VERSION: &str = env!("MATRIX_HYPER_VERSION");

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => {}
        ["-version" | "--version"] => {
            println!("hyper {HYPER_VERSION}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("usage: matrix-hyper [-version]   (PORT, HOST, TLS_CERT, TLS_KEY, HYPER_WORKERS from the environment)");
            return ExitCode::from(2);
        }
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("matrix-hyper: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let addr = listen_addr()?;
    let workers = workers()?;
    let tls = tls::from_env()?;
    // One worker thread per CPU this process may run on (its affinity mask,
    // which a container's cpuset sets): tokio's own default, and what a
    // production deployment on a 2-core box runs. The work-stealing
    // scheduler keeps every worker busy; more threads than cores would only
    // add context switches beside the load generator sharing the box.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    let what = if tls.is_some() { "TLS: h2, http/1.1 by ALPN" } else { "h1, h2c" };
    let result = rt.block_on(serve::run(addr, tls, |bound| {
        eprintln!("matrix-hyper: hyper {HYPER_VERSION} on {bound} ({what}), {workers} worker threads");
    }));
    // Connections still open after the grace period are dropped with the
    // runtime, without waiting for their tasks.
    rt.shutdown_background();
    result
}

/// Builds the listen address from $HOST (an IP address; empty means every
/// IPv4 interface, as the other columns listen) and $PORT.
fn listen_addr() -> Result<SocketAddr, String> {
    let port = env::var("PORT").map_err(|_| "PORT is not set".to_string())?;
    let port: u16 = port.parse().map_err(|_| format!("PORT {port:?}: not a port number"))?;
    let host = env::var("HOST").unwrap_or_default();
    let ip = match host.trim_start_matches('[').trim_end_matches(']') {
        "" => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        h => h.parse().map_err(|_| format!("HOST {host:?}: not an IP address"))?,
    };
    Ok(SocketAddr::new(ip, port))
}

/// Returns $HYPER_WORKERS, else the number of CPUs this process may run on.
fn workers() -> Result<usize, String> {
    match env::var("HYPER_WORKERS") {
        Ok(v) if !v.is_empty() => match v.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("HYPER_WORKERS {v:?}: not a positive number")),
        },
        _ => Ok(thread::available_parallelism().map_or(1, |n| n.get())),
    }
}
