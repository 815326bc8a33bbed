//! TLS from the matrix's contract: TLS_CERT names the server's certificate
//! chain (PEM), TLS_KEY its private key (PEM: PKCS#8, SEC1 or PKCS#1). Both
//! are read once at start; nothing is copied or written.

use std::env;
use std::fs::File;
use std::io::BufReader;
use std::sync::Arc;

use rustls_pemfile::Item;
use tokio_rustls::rustls::{Certificate, PrivateKey, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// The ALPN protocol IDs offered, in the server's order of preference
/// (RFC 7301 section 3.2: the server picks).
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// Returns the acceptor TLS_CERT and TLS_KEY describe, or None when neither
/// is set (cleartext). One without the other is an error.
pub fn from_env() -> Result<Option<TlsAcceptor>, String> {
    let cert = env::var("TLS_CERT").unwrap_or_default();
    let key = env::var("TLS_KEY").unwrap_or_default();
    match (cert.is_empty(), key.is_empty()) {
        (true, true) => return Ok(None),
        (false, true) => return Err("TLS_CERT is set but TLS_KEY is not".to_string()),
        (true, false) => return Err("TLS_KEY is set but TLS_CERT is not".to_string()),
        (false, false) => {}
    }
    let chain = read_chain(&cert)?;
    let key = read_key(&key)?;
    // rustls's safe defaults: TLS 1.3 and 1.2 with AEAD suites only.
    let mut cfg = ServerConfig::builder()
        .with_safe_defaults()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("TLS_CERT {cert}, TLS_KEY: {e}"))?;
    cfg.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(Some(TlsAcceptor::from(Arc::new(cfg))))
}

fn read_items(path: &str, var: &str) -> Result<Vec<Item>, String> {
    let f = File::open(path).map_err(|e| format!("{var} {path}: {e}"))?;
    rustls_pemfile::read_all(&mut BufReader::new(f)).map_err(|e| format!("{var} {path}: {e}"))
}

fn read_chain(path: &str) -> Result<Vec<Certificate>, String> {
    let chain: Vec<Certificate> = read_items(path, "TLS_CERT")?
        .into_iter()
        .filter_map(|it| match it {
            Item::X509Certificate(der) => Some(Certificate(der)),
            _ => None,
        })
        .collect();
    if chain.is_empty() {
        return Err(format!("TLS_CERT {path}: no CERTIFICATE block"));
    }
    Ok(chain)
}

fn read_key(path: &str) -> Result<PrivateKey, String> {
    read_items(path, "TLS_KEY")?
        .into_iter()
        .find_map(|it| match it {
            Item::PKCS8Key(der) | Item::ECKey(der) | Item::RSAKey(der) => Some(PrivateKey(der)),
            _ => None,
        })
        .ok_or_else(|| format!("TLS_KEY {path}: no PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY block"))
}
