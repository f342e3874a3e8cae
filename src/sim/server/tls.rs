//! TLS for the simulator: a self-signed certificate made at start (rcgen) for `localhost`
//! and `127.0.0.1`, a rustls server config with the ring provider, and [`Conn`], the one
//! stream type the HTTP and WebSocket code reads and writes, plain or TLS.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use anyhow::{Context, Result};
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// The simulator's certificate: the client trusts it as its own root (DER or PEM).
#[derive(Debug, Clone)]
pub struct SimCert {
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// The certificate, PEM (`-----BEGIN CERTIFICATE-----`).
    pub pem: String,
}

/// Makes the certificate and the rustls server config (ring provider, TLS 1.2 and 1.3).
pub(crate) fn server_config() -> Result<(SimCert, Arc<ServerConfig>)> {
    let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    let certified =
        rcgen::generate_simple_self_signed(names).context("cannot make the TLS certificate")?;
    let der = certified.cert.der().to_vec();
    let pem = certified.cert.pem();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(vec![CertificateDer::from(der.clone())], key)
        .context("TLS certificate")?;
    Ok((SimCert { der, pem }, Arc::new(config)))
}

/// One accepted connection, plain or TLS; the TLS handshake happens on first read.
pub(crate) enum Conn {
    /// `ws://`, `http://`
    Plain(TcpStream),
    /// `wss://`, `https://`
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
}

impl Conn {
    /// Wraps an accepted socket, in TLS when `tls` is given.
    pub(crate) fn new(tcp: TcpStream, tls: Option<&Arc<ServerConfig>>) -> io::Result<Conn> {
        Ok(match tls {
            None => Conn::Plain(tcp),
            Some(config) => {
                let mut conn =
                    ServerConnection::new(Arc::clone(config)).map_err(io::Error::other)?;
                // Backpressure comes from the socket (WouldBlock), not from rustls's
                // plaintext limit, whose `Ok(0)` tungstenite would read as a reset.
                conn.set_buffer_limit(None);
                Conn::Tls(Box::new(StreamOwned::new(conn, tcp)))
            }
        })
    }

    /// The TCP socket underneath.
    pub(crate) fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(tcp) => tcp,
            Conn::Tls(stream) => &stream.sock,
        }
    }

    /// Sends TLS close_notify (best effort); nothing for plain TCP.
    pub(crate) fn close_notify(&mut self) {
        if let Conn::Tls(stream) = self {
            stream.conn.send_close_notify();
            // Best effort: the peer may be gone already.
            let _ = stream.conn.write_tls(&mut stream.sock);
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(tcp) => tcp.read(buf),
            Conn::Tls(stream) => stream.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(tcp) => tcp.write(buf),
            Conn::Tls(stream) => stream.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(tcp) => tcp.flush(),
            Conn::Tls(stream) => stream.flush(),
        }
    }
}
