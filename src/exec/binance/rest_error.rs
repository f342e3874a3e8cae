//! Error body of the REST API (and the `error` object of a WebSocket API reply). Binance's
//! documented payload:
//!
//! ```text
//! {
//!   "code": -1121,
//!   "msg": "Invalid symbol."
//! }
//! ```

use super::{feed, field, DecodeError};
use crate::feed::binance::Fields;

/// A decoded Binance error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiError<'a> {
    /// `code`: Binance's error code (negative for API errors, e.g. -1121 invalid symbol).
    pub code: i64,
    /// `msg`: Binance's explanation.
    pub msg: &'a str,
}

impl ApiError<'_> {
    /// Whether the request's outcome is unknown (-1006 unexpected response, -1007 timeout
    /// waiting for the matching engine): the order may or may not exist, so it must be
    /// resolved by querying its client order id, never by resending (DESIGN.md section 5).
    pub fn is_execution_unknown(&self) -> bool {
        matches!(self.code, -1006 | -1007)
    }

    /// Whether a rate limit was hit (-1003 too many requests, -1015 too many orders): back
    /// off, honour `Retry-After`.
    pub fn is_rate_limit(&self) -> bool {
        matches!(self.code, -1003 | -1015)
    }
}

/// Decodes an error object (`code` and `msg`).
pub(crate) fn decode<'a>(fields: Fields<'_, 'a>) -> Result<ApiError<'a>, DecodeError> {
    Ok(ApiError {
        code: feed::int(field(fields, "code")?, "code")?,
        msg: feed::string(field(fields, "msg")?, "msg")?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::with_message;
    use super::super::{DecodeError, Message};
    use super::ApiError;

    const DOC_SAMPLE: &str = r#"{
      "code": -1121,
      "msg": "Invalid symbol."
    }"#;

    #[test]
    fn decodes_the_documented_sample() {
        let want = ApiError {
            code: -1121,
            msg: "Invalid symbol.",
        };
        with_message(DOC_SAMPLE, |got| assert_eq!(got, Ok(Message::Error(want))));
        assert!(!want.is_execution_unknown() && !want.is_rate_limit());
    }

    #[test]
    fn classifies_codes() {
        let cases: &[(i64, bool, bool)] = &[
            // TC0: timeout: unknown outcome
            (-1007, true, false),
            // TC1: unexpected response: unknown outcome
            (-1006, true, false),
            // TC2: too many requests
            (-1003, false, true),
            // TC3: too many orders
            (-1015, false, true),
            // TC4: insufficient balance: a plain rejection
            (-2010, false, false),
        ];
        for (i, (code, unknown, limit)) in cases.iter().enumerate() {
            let e = ApiError {
                code: *code,
                msg: "",
            };
            assert_eq!(
                (e.is_execution_unknown(), e.is_rate_limit()),
                (*unknown, *limit),
                "TC{i}"
            );
        }
    }

    #[test]
    fn bad_errors_are_errors() {
        let cases: &[(&str, DecodeError)] = &[
            // TC0: code as a string
            (
                r#"{"code":"-1121","msg":"x"}"#,
                DecodeError::WrongType("code"),
            ),
            // TC1: msg as a number
            (r#"{"code":-1121,"msg":1}"#, DecodeError::WrongType("msg")),
            // TC2: only a code is no known shape
            (r#"{"code":-1121}"#, DecodeError::UnknownMessage),
        ];
        for (i, (text, want)) in cases.iter().enumerate() {
            with_message(text, |got| assert_eq!(got, Err(*want), "TC{i}"));
        }
    }
}
