//! The rustls client configuration shared by the WebSocket connections and the REST
//! snapshot fetcher: the ring crypto provider (the crate builds rustls without aws-lc),
//! Mozilla's roots from `webpki-roots`, and optional extra trusted certificates (DER or
//! PEM) so that the simulator's self-signed certificate can be trusted without turning
//! verification off.
//!
//! Built once at start, never on the hot path.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use thiserror::Error;

/// A certificate to trust in addition to the public roots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustedCert {
    /// One DER-encoded X.509 certificate.
    Der(Vec<u8>),
    /// PEM text holding one or more `CERTIFICATE` blocks (other blocks are ignored).
    Pem(Vec<u8>),
}

impl TrustedCert {
    /// Reads a certificate file; PEM when it contains `-----BEGIN`, DER otherwise.
    pub fn load(path: &Path) -> Result<TrustedCert, TlsError> {
        let bytes = std::fs::read(path).map_err(|e| TlsError::Read {
            path: path.display().to_string(),
            error: e.to_string(),
        })?;
        Ok(TrustedCert::from_bytes(bytes))
    }

    /// Classifies raw bytes as PEM (they contain `-----BEGIN`) or DER.
    pub fn from_bytes(bytes: Vec<u8>) -> TrustedCert {
        if bytes.windows(10).any(|w| w == b"-----BEGIN") {
            TrustedCert::Pem(bytes)
        } else {
            TrustedCert::Der(bytes)
        }
    }
}

/// Why the TLS configuration could not be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TlsError {
    /// A certificate file could not be read.
    #[error("cannot read certificate file {path}: {error}")]
    Read {
        /// The file.
        path: String,
        /// The OS error.
        error: String,
    },
    /// PEM text held no readable `CERTIFICATE` block.
    #[error("extra trusted certificate #{index}: no PEM CERTIFICATE block could be read")]
    NoPemCertificate {
        /// Position in the list of extra certificates.
        index: usize,
    },
    /// rustls refused a certificate as a trust anchor.
    #[error("extra trusted certificate #{index} is not a usable X.509 certificate: {error}")]
    BadCertificate {
        /// Position in the list of extra certificates.
        index: usize,
        /// rustls' reason.
        error: String,
    },
    /// The ring provider refused the default protocol versions (never expected).
    #[error("TLS setup failed: {0}")]
    Setup(String),
    /// The host is neither a DNS name nor an IP address.
    #[error("`{0}` is not a valid TLS server name")]
    ServerName(String),
}

/// The client configuration: webpki roots plus `extra` certificates, ring provider, TLS
/// 1.2 and 1.3, no client authentication.
pub fn client_config(extra: &[TrustedCert]) -> Result<Arc<ClientConfig>, TlsError> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for (index, cert) in extra.iter().enumerate() {
        let ders: Vec<CertificateDer<'static>> = match cert {
            TrustedCert::Der(der) => vec![CertificateDer::from(der.clone())],
            TrustedCert::Pem(pem) => {
                let certs: Vec<_> = CertificateDer::pem_slice_iter(pem)
                    .filter_map(Result::ok)
                    .collect();
                if certs.is_empty() {
                    return Err(TlsError::NoPemCertificate { index });
                }
                certs
            }
        };
        for der in ders {
            roots.add(der).map_err(|e| TlsError::BadCertificate {
                index,
                error: e.to_string(),
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Setup(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The name the server's certificate must match: a DNS name or an IP address.
pub fn server_name(host: &str) -> Result<ServerName<'static>, TlsError> {
    ServerName::try_from(host.to_string()).map_err(|_| TlsError::ServerName(host.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn self_signed() -> rcgen::CertifiedKey<rcgen::KeyPair> {
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).expect("rcgen")
    }

    #[test]
    fn extra_roots_table() {
        let ck = self_signed();
        let der = ck.cert.der().to_vec();
        let pem = ck.cert.pem().into_bytes();
        let cases: Vec<(Vec<TrustedCert>, Result<(), TlsError>)> = vec![
            // TC0: no extra roots: the public roots alone
            (vec![], Ok(())),
            // TC1: a DER certificate
            (vec![TrustedCert::Der(der.clone())], Ok(())),
            // TC2: a PEM certificate, classified by from_bytes
            (vec![TrustedCert::from_bytes(pem.clone())], Ok(())),
            // TC3: PEM text with no certificate block
            (
                vec![TrustedCert::Pem(b"-----BEGIN NOTHING-----\n".to_vec())],
                Err(TlsError::NoPemCertificate { index: 0 }),
            ),
        ];
        for (i, (extra, want)) in cases.into_iter().enumerate() {
            assert_eq!(client_config(&extra).map(|_| ()), want, "TC{i}");
        }
        // TC4: garbage DER is refused with its position
        let got = client_config(&[TrustedCert::Der(der), TrustedCert::Der(vec![1, 2, 3])]);
        assert!(
            matches!(got, Err(TlsError::BadCertificate { index: 1, .. })),
            "TC4: {got:?}"
        );
        // TC5: from_bytes on DER stays DER
        assert!(matches!(
            TrustedCert::from_bytes(vec![0x30, 0x82]),
            TrustedCert::Der(_)
        ));
    }

    #[test]
    fn server_names() {
        // TC0: DNS name, TC1: IPv4, TC2: IPv6, TC3: invalid
        assert!(server_name("stream.binance.com").is_ok(), "TC0");
        assert!(
            matches!(server_name("127.0.0.1"), Ok(ServerName::IpAddress(_))),
            "TC1"
        );
        assert!(
            matches!(server_name("::1"), Ok(ServerName::IpAddress(_))),
            "TC2"
        );
        assert!(server_name("bad host!").is_err(), "TC3");
    }

    #[test]
    fn a_missing_file_names_the_path() {
        let err = TrustedCert::load(Path::new("/nonexistent/cert.pem")).expect_err("missing");
        assert!(
            err.to_string().contains("/nonexistent/cert.pem"),
            "TC0: {err}"
        );
    }
}
