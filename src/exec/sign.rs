//! Request signing for Binance SIGNED endpoints: HMAC-SHA256 (hex signature) or Ed25519
//! (base64 signature, key from the PKCS#8 PEM that Binance's key generator writes).
//!
//! The rule since 2026-01-15 07:00 UTC (spot CHANGELOG of 2025-12-17, live on the spot
//! testnet that day): "When calling endpoints that require signatures, percent-encode payloads
//! before computing signatures. Requests that do not follow this order will be rejected with
//! -1022 INVALID_SIGNATURE." The request-security page spells it out: every parameter name
//! and value is percent-encoded as UTF-8 per RFC 3986, leaving only the unreserved
//! characters `A-Z a-z 0-9 - _ . ~` as they are (`symbol=这是测试币456` is sent and signed as
//! `symbol=%E8%BF%99%E6%98%AF%E6%B5%8B%E8%AF%95%E5%B8%81456`), and the very bytes that are
//! signed are the bytes sent. For the ASCII-only parameters of an ordinary order the encoded
//! payload equals the raw one, which is why the pre-2026 documented HMAC example still holds.
//!
//! So the order thread writes its query with [`push_param`] (which percent-encodes), signs
//! exactly that buffer with [`Signer::sign_query`] or [`Signer::sign_into`] (which refuse a
//! payload with any byte that percent-encoding would have changed), and sends the buffer.
//! The WebSocket API puts the signature in a JSON string instead: [`Signer::signature_into`]
//! writes it unescaped.
//!
//! Nothing here allocates once the caller's buffer has its working capacity: ring's HMAC
//! tag and Ed25519 signature live on the stack, and hex / base64 are written through a stack
//! array. Secrets never appear in `Debug` output or in errors.

use std::fmt;

use base64::Engine as _;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use ring::{hmac, signature::Ed25519KeyPair};
use thiserror::Error;

/// RFC 3986 reserved-or-other set: everything but `A-Z a-z 0-9 - _ . ~` is percent-encoded.
const QUERY_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Length of an Ed25519 signature in standard padded base64 (64 bytes → 88 characters).
const ED25519_B64_LEN: usize = 88;

/// Why a key could not be loaded or a payload could not be signed. The messages never
/// contain key material.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SignError {
    /// An HMAC secret of zero length was given (Binance secrets are 64 characters).
    #[error("the HMAC secret key is empty")]
    EmptySecret,
    /// The Ed25519 key file is not a PEM `PRIVATE KEY` block with valid base64 inside.
    #[error("Ed25519 key is not a PEM `-----BEGIN PRIVATE KEY-----` block: {0}")]
    Pem(&'static str),
    /// The PEM block decoded, but ring rejected the PKCS#8 document as an Ed25519 key.
    #[error("Ed25519 key rejected: not a PKCS#8 Ed25519 private key; give the private key file Binance's key generator wrote")]
    KeyRejected,
    /// The payload holds a byte that is not allowed in a percent-encoded query (a space,
    /// non-ASCII, `+`, `%` not followed by two hex digits, ...): since 2026-01-15 Binance
    /// rejects such a signature with -1022, so it is refused before it is sent.
    #[error("payload byte {offset} is not percent-encoded; build the query with push_param")]
    NotPercentEncoded {
        /// Offset of the first offending byte in the payload.
        offset: usize,
    },
}

/// The key a [`Signer`] holds.
enum Key {
    Hmac(hmac::Key),
    Ed25519(Ed25519KeyPair),
}

/// Signs Binance request payloads with one API key's secret. Built once at start from the
/// secret (kept only inside ring's key types, never printed) and used by the order thread.
pub struct Signer {
    key: Key,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("algorithm", &self.algorithm())
            .field("key", &"<redacted>")
            .finish()
    }
}

impl Signer {
    /// An HMAC-SHA256 signer for a Binance "system generated" API key: `secret` is the
    /// secret key exactly as Binance showed it (its ASCII bytes are the HMAC key).
    pub fn hmac_sha256(secret: &[u8]) -> Result<Signer, SignError> {
        if secret.is_empty() {
            return Err(SignError::EmptySecret);
        }
        Ok(Signer {
            key: Key::Hmac(hmac::Key::new(hmac::HMAC_SHA256, secret)),
        })
    }

    /// An Ed25519 signer from the private key PEM (`-----BEGIN PRIVATE KEY-----`, PKCS#8 v1
    /// as written by Binance's key generator and `openssl genpkey -algorithm ed25519`, or v2
    /// with the public key embedded). Text around the block is ignored.
    pub fn ed25519_from_pem(pem: &str) -> Result<Signer, SignError> {
        let der = pem_private_key(pem)?;
        Signer::ed25519_from_pkcs8(&der)
    }

    /// An Ed25519 signer from a DER-encoded PKCS#8 private key (v1 or v2).
    pub fn ed25519_from_pkcs8(der: &[u8]) -> Result<Signer, SignError> {
        let pair =
            Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(|_| SignError::KeyRejected)?;
        Ok(Signer {
            key: Key::Ed25519(pair),
        })
    }

    /// `"HMAC-SHA256"` or `"Ed25519"`, for logs and the dashboard.
    pub fn algorithm(&self) -> &'static str {
        match self.key {
            Key::Hmac(_) => "HMAC-SHA256",
            Key::Ed25519(_) => "Ed25519",
        }
    }

    /// The Ed25519 public key (32 bytes) that Binance must have registered for this
    /// signer; `None` for HMAC.
    pub fn ed25519_public_key(&self) -> Option<&[u8]> {
        use ring::signature::KeyPair as _;
        match &self.key {
            Key::Hmac(_) => None,
            Key::Ed25519(pair) => Some(pair.public_key().as_ref()),
        }
    }

    /// Signs `payload` (a query string or form body that is already percent-encoded, see the
    /// module docs) and appends `&signature=<sig>` to `out` (`signature=<sig>` if `out` is
    /// empty), the signature itself percent-encoded (base64's `+`, `/`, `=` become `%2B`,
    /// `%2F`, `%3D`). `payload` and `out` are separate so that the caller can keep the query
    /// in one buffer and the request line in another; to sign a buffer in place use
    /// [`Signer::sign_query`]. Allocates only if `out` must grow.
    #[inline]
    pub fn sign_into(&self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), SignError> {
        check_percent_encoded(payload)?;
        if !out.is_empty() {
            out.push(b'&');
        }
        out.extend_from_slice(b"signature=");
        self.write_signature(payload, out, true);
        Ok(())
    }

    /// Signs the whole of `query` (already percent-encoded) and appends
    /// `&signature=<sig>` to it: the buffer then holds exactly what is sent.
    #[inline]
    pub fn sign_query(&self, query: &mut Vec<u8>) -> Result<(), SignError> {
        check_percent_encoded(query)?;
        let signed_len = query.len();
        if signed_len != 0 {
            query.push(b'&');
        }
        query.extend_from_slice(b"signature=");
        match &self.key {
            Key::Hmac(key) => {
                let tag = hmac::sign(key, &query[..signed_len]);
                push_hex(tag.as_ref(), query);
            }
            Key::Ed25519(pair) => {
                let sig = pair.sign(&query[..signed_len]);
                push_base64(sig.as_ref(), query, true);
            }
        }
        Ok(())
    }

    /// Appends the bare signature of `payload` to `out` (lower-case hex for HMAC, padded
    /// standard base64 for Ed25519), not percent-encoded: the form the WebSocket API takes
    /// in its JSON `"signature"` string. `payload` is signed exactly as given (the
    /// WebSocket API's payload is the sorted `key=value&...` form of the params).
    #[inline]
    pub fn signature_into(&self, payload: &[u8], out: &mut Vec<u8>) {
        self.write_signature(payload, out, false);
    }

    #[inline]
    fn write_signature(&self, payload: &[u8], out: &mut Vec<u8>, url_encode: bool) {
        match &self.key {
            Key::Hmac(key) => push_hex(hmac::sign(key, payload).as_ref(), out),
            Key::Ed25519(pair) => push_base64(pair.sign(payload).as_ref(), out, url_encode),
        }
    }
}

/// Appends `key=value` to a query being built, preceded by `&` unless `out` is empty, with
/// both parts percent-encoded as Binance signs them (RFC 3986: all but `A-Z a-z 0-9 - _ .
/// ~` become `%XX` of their UTF-8 bytes). Allocates only if `out` must grow.
#[inline]
pub fn push_param(out: &mut Vec<u8>, key: &str, value: &str) {
    if !out.is_empty() {
        out.push(b'&');
    }
    for part in utf8_percent_encode(key, QUERY_ENCODE) {
        out.extend_from_slice(part.as_bytes());
    }
    out.push(b'=');
    for part in utf8_percent_encode(value, QUERY_ENCODE) {
        out.extend_from_slice(part.as_bytes());
    }
}

/// Checks that `payload` could have come out of [`push_param`]: only unreserved
/// characters, `=` and `&` separators and `%XX` escapes with two hex digits.
#[inline]
pub fn check_percent_encoded(payload: &[u8]) -> Result<(), SignError> {
    let mut i = 0;
    while i < payload.len() {
        match payload[i] {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'=' | b'&' => {
                i += 1
            }
            b'%' if payload.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && payload.get(i + 2).is_some_and(u8::is_ascii_hexdigit) =>
            {
                i += 3
            }
            _ => return Err(not_encoded(i)),
        }
    }
    Ok(())
}

#[cold]
fn not_encoded(offset: usize) -> SignError {
    SignError::NotPercentEncoded { offset }
}

#[inline]
fn push_hex(bytes: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for &b in bytes {
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 0x0f)]);
    }
}

#[inline]
fn push_base64(bytes: &[u8], out: &mut Vec<u8>, url_encode: bool) {
    let mut buf = [0u8; ED25519_B64_LEN];
    // An Ed25519 signature (64 bytes) always fits the 88-byte array; were a longer input
    // ever passed, it takes the allocating path rather than being cut short.
    let written = match base64::engine::general_purpose::STANDARD.encode_slice(bytes, &mut buf) {
        Ok(n) => &buf[..n],
        Err(_) => {
            let text = base64::engine::general_purpose::STANDARD.encode(bytes);
            push_b64_text(text.as_bytes(), out, url_encode);
            return;
        }
    };
    push_b64_text(written, out, url_encode);
}

#[inline]
fn push_b64_text(text: &[u8], out: &mut Vec<u8>, url_encode: bool) {
    if !url_encode {
        out.extend_from_slice(text);
        return;
    }
    for &c in text {
        match c {
            b'+' => out.extend_from_slice(b"%2B"),
            b'/' => out.extend_from_slice(b"%2F"),
            b'=' => out.extend_from_slice(b"%3D"),
            _ => out.push(c),
        }
    }
}

/// The DER bytes of the first `PRIVATE KEY` PEM block in `pem`.
fn pem_private_key(pem: &str) -> Result<Vec<u8>, SignError> {
    const BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
    const END: &str = "-----END PRIVATE KEY-----";
    let start = pem
        .find(BEGIN)
        .ok_or(SignError::Pem("no BEGIN PRIVATE KEY line"))?
        + BEGIN.len();
    let len = pem[start..]
        .find(END)
        .ok_or(SignError::Pem("no END PRIVATE KEY line"))?;
    let body: String = pem[start..start + len]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|_| SignError::Pem("invalid base64 inside the block"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::signature::{UnparsedPublicKey, ED25519};

    const DOC_SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
    const DOC_PAYLOAD: &str = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559";
    const DOC_SIGNATURE: &str = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71";

    /// An Ed25519 PKCS#8 v1 key (`openssl genpkey -algorithm ed25519` format, as Binance's
    /// key generator writes) whose seed is RFC 8032's test 1 secret key.
    const RFC8032_PEM: &str = "-----BEGIN PRIVATE KEY-----\n\
        MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n\
        -----END PRIVATE KEY-----\n";

    fn doc_hmac() -> Signer {
        Signer::hmac_sha256(DOC_SECRET.as_bytes()).expect("doc secret")
    }

    #[test]
    fn binance_documented_hmac_example() {
        // TC0: sign_into onto an empty buffer.
        let mut out = Vec::new();
        doc_hmac()
            .sign_into(DOC_PAYLOAD.as_bytes(), &mut out)
            .expect("sign");
        assert_eq!(out, format!("signature={DOC_SIGNATURE}").as_bytes(), "TC0");
        // TC1: sign_query in place gives the full documented request body.
        let mut query = DOC_PAYLOAD.as_bytes().to_vec();
        doc_hmac().sign_query(&mut query).expect("sign");
        assert_eq!(
            query,
            format!("{DOC_PAYLOAD}&signature={DOC_SIGNATURE}").as_bytes(),
            "TC1"
        );
        // TC2: the bare form for the WebSocket API.
        let mut bare = Vec::new();
        doc_hmac().signature_into(DOC_PAYLOAD.as_bytes(), &mut bare);
        assert_eq!(bare, DOC_SIGNATURE.as_bytes(), "TC2");
        // TC3: the same query built with push_param is byte-identical (ASCII needs no escape).
        let mut built = Vec::new();
        for (k, v) in [
            ("symbol", "LTCBTC"),
            ("side", "BUY"),
            ("type", "LIMIT"),
            ("timeInForce", "GTC"),
            ("quantity", "1"),
            ("price", "0.1"),
            ("recvWindow", "5000"),
            ("timestamp", "1499827319559"),
        ] {
            push_param(&mut built, k, v);
        }
        assert_eq!(built, DOC_PAYLOAD.as_bytes(), "TC3");
    }

    #[test]
    fn push_param_percent_encodes_like_binance() {
        let cases: &[(&str, &str, &str)] = &[
            // TC0: Binance's documented Unicode example
            (
                "symbol",
                "这是测试币456",
                "symbol=%E8%BF%99%E6%98%AF%E6%B5%8B%E8%AF%95%E5%B8%81456",
            ),
            // TC1: unreserved characters pass through
            (
                "newClientOrderId",
                "a-b_c.d~E9",
                "newClientOrderId=a-b_c.d~E9",
            ),
            // TC2: reserved characters and space are escaped (space is %20, never +)
            ("k", "a b+c&d=e/f", "k=a%20b%2Bc%26d%3De%2Ff"),
            // TC3: a JSON array parameter
            ("symbols", "[\"BTCUSDT\"]", "symbols=%5B%22BTCUSDT%22%5D"),
        ];
        for (i, (k, v, want)) in cases.iter().enumerate() {
            let mut out = Vec::new();
            push_param(&mut out, k, v);
            assert_eq!(std::str::from_utf8(&out), Ok(*want), "TC{i}");
            assert_eq!(check_percent_encoded(&out), Ok(()), "TC{i} check");
        }
    }

    #[test]
    fn unencoded_payloads_are_refused() {
        let cases: &[(&[u8], usize)] = &[
            // TC0: a space
            (b"a=b c", 3),
            // TC1: raw UTF-8
            ("symbol=这".as_bytes(), 7),
            // TC2: `%` without two hex digits
            (b"a=%2", 2),
            // TC3: `+` (form-encoding's space, which Binance does not sign as such)
            (b"a=1+2", 3),
            // TC4: `%` followed by non-hex
            (b"a=%zz", 2),
        ];
        for (i, (payload, offset)) in cases.iter().enumerate() {
            let want = Err(SignError::NotPercentEncoded { offset: *offset });
            let mut out = Vec::new();
            assert_eq!(doc_hmac().sign_into(payload, &mut out), want, "TC{i}");
            let mut q = payload.to_vec();
            assert_eq!(doc_hmac().sign_query(&mut q), want, "TC{i} query");
            assert_eq!(q, *payload, "TC{i} left untouched");
        }
    }

    #[test]
    fn ed25519_signs_what_ring_verifies() {
        let signer = Signer::ed25519_from_pem(RFC8032_PEM).expect("pem");
        assert_eq!(signer.algorithm(), "Ed25519");
        let public = signer.ed25519_public_key().expect("public key").to_vec();
        // TC0: RFC 8032 test 1's public key follows from its secret.
        assert_eq!(
            public,
            [
                0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64,
                0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68,
                0xf7, 0x07, 0x51, 0x1a
            ],
            "TC0"
        );
        // TC1: RFC 8032 test 1's signature of the empty message (Ed25519 is deterministic).
        let mut bare = Vec::new();
        signer.signature_into(b"", &mut bare);
        let sig = base64::engine::general_purpose::STANDARD
            .decode(&bare)
            .expect("base64");
        assert_eq!(
            hex(&sig),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
             5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
            "TC1"
        );
        // TC2: a signed order query verifies with ring, and the URL form decodes to it.
        let mut query = DOC_PAYLOAD.as_bytes().to_vec();
        signer.sign_query(&mut query).expect("sign");
        let text = std::str::from_utf8(&query).expect("ascii");
        let (signed, sig) = text.split_once("&signature=").expect("appended");
        assert_eq!(signed, DOC_PAYLOAD, "TC2 payload untouched");
        assert!(!sig.contains(['+', '/', '=']), "TC2 url-encoded: {sig}");
        let sig = percent_encoding::percent_decode_str(sig).collect::<Vec<u8>>();
        let sig = base64::engine::general_purpose::STANDARD
            .decode(sig)
            .expect("base64");
        let verifier = UnparsedPublicKey::new(&ED25519, &public);
        assert!(verifier.verify(DOC_PAYLOAD.as_bytes(), &sig).is_ok(), "TC2");
        // TC3: a different payload does not verify with that signature.
        assert!(verifier.verify(b"symbol=LTCBTC", &sig).is_err(), "TC3");
    }

    #[test]
    fn bad_keys_are_clear_errors() {
        let cases: &[(&str, SignError)] = &[
            // TC0: not PEM at all
            ("hello", SignError::Pem("no BEGIN PRIVATE KEY line")),
            // TC1: no END line
            (
                "-----BEGIN PRIVATE KEY-----\nMC4CAQAw\n",
                SignError::Pem("no END PRIVATE KEY line"),
            ),
            // TC2: bad base64
            (
                "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----",
                SignError::Pem("invalid base64 inside the block"),
            ),
        ];
        for (i, (pem, want)) in cases.iter().enumerate() {
            assert_eq!(Signer::ed25519_from_pem(pem).err(), Some(*want), "TC{i}");
        }
        // TC3: valid base64 that is not a PKCS#8 Ed25519 key
        let pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----";
        assert!(matches!(
            Signer::ed25519_from_pem(pem),
            Err(SignError::KeyRejected)
        ));
        // TC4: empty HMAC secret
        assert_eq!(
            Signer::hmac_sha256(b"").err(),
            Some(SignError::EmptySecret),
            "TC4"
        );
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let hmac = format!("{:?}", doc_hmac());
        let ed = format!("{:?}", Signer::ed25519_from_pem(RFC8032_PEM).expect("pem"));
        // TC0 / TC1: neither the secret nor any part of the key file shows.
        for (i, text) in [hmac, ed].iter().enumerate() {
            assert!(text.contains("<redacted>"), "TC{i}: {text}");
            assert!(!text.contains(&DOC_SECRET[..8]), "TC{i}: {text}");
            assert!(!text.contains("MC4CAQAw"), "TC{i}: {text}");
            assert!(!text.contains("9d61b19d"), "TC{i}: {text}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Whatever the key and value, push_param's output is accepted by the signer's
        /// check and percent-decodes back to `key=value`.
        #[test]
        fn push_param_output_is_always_signable(key in "\\PC{0,12}", value in "\\PC{0,24}") {
            let mut out = Vec::new();
            push_param(&mut out, &key, &value);
            proptest::prop_assert_eq!(check_percent_encoded(&out), Ok(()));
            let text = std::str::from_utf8(&out).expect("ascii");
            let (k, v) = text.split_once('=').expect("one `=` separator");
            let k = percent_encoding::percent_decode_str(k).decode_utf8().expect("utf8");
            let v = percent_encoding::percent_decode_str(v).decode_utf8().expect("utf8");
            proptest::prop_assert_eq!((k.as_ref(), v.as_ref()), (key.as_str(), value.as_str()));
        }

        /// Random bytes never panic the check or the signer; the signer appends only after
        /// the check passed.
        #[test]
        fn random_payloads_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            let mut q = bytes.clone();
            match doc_hmac().sign_query(&mut q) {
                Ok(()) => proptest::prop_assert_eq!(q.len(), bytes.len() + usize::from(!bytes.is_empty()) + 10 + 64),
                Err(_) => proptest::prop_assert_eq!(q, bytes),
            }
        }
    }

    fn hex(bytes: &[u8]) -> String {
        let mut out = Vec::new();
        push_hex(bytes, &mut out);
        String::from_utf8(out).expect("hex")
    }
}
