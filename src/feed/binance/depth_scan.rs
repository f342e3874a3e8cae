//! A scanner written for Binance's `depthUpdate` frames exactly as the exchange sends them,
//! the measured alternative to simd-json's tape for the busiest message kind.
//!
//! It accepts one byte-exact shape, enveloped or raw, with no whitespace:
//!
//! ```text
//! [{"stream":"<name>","data":]{"e":"depthUpdate","E":<n>,"s":"<sym>","U":<n>,"u":<n>,
//!   "b":[["<price>","<qty>"],..],"a":[["<price>","<qty>"],..]}[}]
//! ```
//!
//! validating as it goes (JSON integer grammar, printable-ASCII names without escapes, the
//! decimals through [`parse_units`], nothing after the last brace). Anything else (other
//! key order, whitespace, escapes, a third element in a level, a number out of range, an
//! off-tick price, another message kind) makes it give up, and [`super::decode_frame`]
//! decodes the frame with simd-json instead. So the scanner only ever answers for frames
//! that simd-json's path decodes to the same [`super::DepthUpdate`], and every error comes
//! from the one path: never a different answer, and bad input is never its concern.
//!
//! It reads the frame without writing to it and allocates nothing: levels go to the
//! decoder's reusable buffers, names come back as byte ranges into the frame.

use crate::feed::fixed::{parse_units, Increment};

/// A `depthUpdate` the scanner accepted; the names are byte ranges of the frame (printable
/// ASCII, so valid UTF-8) and the levels are in the buffers it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scanned {
    /// The envelope's `stream` value, `None` for a raw frame.
    pub(crate) stream: Option<(usize, usize)>,
    /// `s`.
    pub(crate) symbol: (usize, usize),
    /// `E`.
    pub(crate) event_time_ms: u64,
    /// `U`.
    pub(crate) first_update_id: u64,
    /// `u`.
    pub(crate) final_update_id: u64,
}

/// The envelope's opening, up to the stream name's first byte.
const ENVELOPE: &[u8] = b"{\"stream\":\"";
/// The depth payload's opening, up to the event time's first digit.
const DEPTH_HEAD: &[u8] = b"{\"e\":\"depthUpdate\",\"E\":";

/// Scans `frame` as a `depthUpdate`, filling `bids` and `asks` (cleared first). `None`
/// means "not exactly the expected shape": the caller must decode the frame the general
/// way (the buffers may then hold partial levels; the general path clears them).
#[inline]
pub(crate) fn scan(
    frame: &[u8],
    tick: Increment,
    step: Increment,
    bids: &mut Vec<(i64, i64)>,
    asks: &mut Vec<(i64, i64)>,
) -> Option<Scanned> {
    let mut c = Cursor { buf: frame, pos: 0 };
    let stream = if c.lit(ENVELOPE) {
        let name = c.name()?;
        c.expect(b",\"data\":")?;
        Some(name)
    } else {
        None
    };
    c.expect(DEPTH_HEAD)?;
    let event_time_ms = c.uint()?;
    c.expect(b",\"s\":\"")?;
    let symbol = c.name()?;
    c.expect(b",\"U\":")?;
    let first_update_id = c.uint()?;
    c.expect(b",\"u\":")?;
    let final_update_id = c.uint()?;
    c.expect(b",\"b\":")?;
    c.levels(tick, step, bids)?;
    c.expect(b",\"a\":")?;
    c.levels(tick, step, asks)?;
    c.expect(b"}")?;
    if stream.is_some() {
        c.expect(b"}")?;
    }
    (c.pos == frame.len()).then_some(Scanned {
        stream,
        symbol,
        event_time_ms,
        first_update_id,
        final_update_id,
    })
}

/// A read position in the frame. Every method either consumes what it expects and
/// succeeds, or fails (`false` / `None`) so that the scan gives up.
struct Cursor<'f> {
    buf: &'f [u8],
    pos: usize,
}

impl Cursor<'_> {
    /// Consumes `s` if the frame continues with it.
    #[inline(always)]
    fn lit(&mut self, s: &[u8]) -> bool {
        let end = self.pos + s.len();
        if self.buf.get(self.pos..end) == Some(s) {
            self.pos = end;
            true
        } else {
            false
        }
    }

    /// [`Cursor::lit`] for use with `?`.
    #[inline(always)]
    fn expect(&mut self, s: &[u8]) -> Option<()> {
        self.lit(s).then_some(())
    }

    /// The next byte, consumed.
    #[inline(always)]
    fn byte(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    /// A JSON integer (`0` or a non-zero digit then digits), at most 19 digits so that it
    /// always fits a `u64`, which simd-json's path also accepts as a non-negative id.
    #[inline(always)]
    fn uint(&mut self) -> Option<u64> {
        let start = self.pos;
        let mut value: u64 = 0;
        while let Some(&b) = self.buf.get(self.pos) {
            if !b.is_ascii_digit() {
                break;
            }
            value = value.wrapping_mul(10).wrapping_add(u64::from(b - b'0'));
            self.pos += 1;
        }
        let digits = self.pos - start;
        let leading_zero = digits > 1 && self.buf[start] == b'0';
        (digits != 0 && digits <= 19 && !leading_zero).then_some(value)
    }

    /// The rest of a string whose opening quote is consumed, when it is printable ASCII
    /// without escapes (so its bytes are its value); consumes the closing quote.
    #[inline(always)]
    fn name(&mut self) -> Option<(usize, usize)> {
        let start = self.pos;
        loop {
            match self.byte()? {
                b'"' => return Some((start, self.pos - 1)),
                b'\\' => return None,
                0x20..=0x7E => {}
                _ => return None,
            }
        }
    }

    /// The rest of a decimal string whose opening quote is consumed, as a count of `inc`;
    /// consumes the closing quote. [`parse_units`] accepts digits and one point only, so a
    /// quote, an escape or any other byte inside makes it fail.
    #[inline(always)]
    fn decimal(&mut self, inc: Increment) -> Option<i64> {
        let start = self.pos;
        let end = find_quote(self.buf, start)?;
        let units = parse_units(&self.buf[start..end], inc).ok()?;
        self.pos = end + 1;
        Some(units)
    }

    /// A `[["price","qty"],..]` array into `out` (cleared first).
    #[inline(always)]
    fn levels(
        &mut self,
        tick: Increment,
        step: Increment,
        out: &mut Vec<(i64, i64)>,
    ) -> Option<()> {
        out.clear();
        self.expect(b"[")?;
        if self.lit(b"]") {
            return Some(());
        }
        loop {
            self.expect(b"[\"")?;
            let price = self.decimal(tick)?;
            self.expect(b",\"")?;
            let qty = self.decimal(step)?;
            self.expect(b"]")?;
            out.push((price, qty));
            match self.byte()? {
                b',' => {}
                b']' => return Some(()),
                _ => return None,
            }
        }
    }
}

/// `0x01` in every byte.
const LOW_BITS: u64 = 0x0101_0101_0101_0101;
/// `0x80` in every byte.
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// Position of the first `"` at or after `from`, eight bytes at a time.
#[inline(always)]
fn find_quote(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(chunk) = buf.get(i..i + 8) {
        let word = u64::from_le_bytes(chunk.try_into().ok()?) ^ (u64::from(b'"') * LOW_BITS);
        // A zero byte of `word` is a quote. The lowest flagged byte is always a true zero
        // (a borrow only flags bytes above a zero one), so it is the first quote.
        let zeros = word.wrapping_sub(LOW_BITS) & !word & HIGH_BITS;
        if zeros != 0 {
            return Some(i + (zeros.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    buf.get(i..)?.iter().position(|&b| b == b'"').map(|p| i + p)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{btcusdt, capture};
    use super::super::{decode_frame, decode_frame_tape, Decoder};
    use super::*;
    use proptest::prelude::*;

    /// A BTCUSDT decoder sized for small frames: the default one warms up on a 96 KB
    /// frame, which dominates a debug-build proptest case.
    fn small() -> Decoder {
        let tick = Increment::parse("0.01").expect("tick");
        let step = Increment::parse("0.00001").expect("step");
        Decoder::with_capacity(tick, step, 4096, 64)
    }

    /// Decodes `frame` both ways (scanner first, and simd-json only) and checks the
    /// answers are equal; returns whether the scanner itself answered.
    fn same_answer(frame: &[u8], fast: &mut Decoder, slow: &mut Decoder) -> bool {
        let (tick, step) = (fast.tick(), fast.step());
        let (mut b, mut a) = (Vec::new(), Vec::new());
        let scanned = scan(frame, tick, step, &mut b, &mut a).is_some();
        let mut f1 = frame.to_vec();
        let mut f2 = frame.to_vec();
        let got = decode_frame(&mut f1, fast);
        let want = decode_frame_tape(&mut f2, slow);
        assert_eq!(got, want, "{}", String::from_utf8_lossy(frame));
        if scanned {
            assert!(want.is_ok(), "scanner accepted what simd-json rejects");
        }
        scanned
    }

    #[test]
    fn every_capture_line_decodes_the_same_and_every_depth_line_is_scanned() {
        let (mut fast, mut slow) = (btcusdt(), btcusdt());
        for name in ["btcusdt_20240808.gz", "btcusdt_20240809.gz"] {
            let (mut depth, mut scanned) = (0, 0);
            for line in capture(name) {
                let is_depth = line.windows(13).any(|w| w == b"\"depthUpdate\"");
                let hit = same_answer(&line, &mut fast, &mut slow);
                assert!(!hit || is_depth, "scanned a non-depth line");
                depth += usize::from(is_depth);
                scanned += usize::from(hit);
            }
            // Every depth line but the few with an off-tick price (those go to the general
            // path, which reports them; see `decodes_every_line_of_both_captures`).
            assert!(
                depth > 3000 && scanned + 10 > depth,
                "{name}: {scanned} of {depth}"
            );
        }
    }

    #[test]
    fn scan_table() {
        const RAW: &str = r#"{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":2,"u":3,"b":[["1.00000000","0.00100000"]],"a":[]}"#;
        /// Stream, symbol, `[E, U, u]`, bid and ask counts; `None` when the scan gives up.
        type Want<'s> = Option<(Option<&'s str>, &'s str, [u64; 3], usize, usize)>;
        let cases: &[(&str, Want<'_>)] = &[
            // TC0: raw frame
            (RAW, Some((None, "BTCUSDT", [1, 2, 3], 1, 0))),
            // TC1: enveloped frame
            (
                r#"{"stream":"btcusdt@depth","data":{"e":"depthUpdate","E":10,"s":"X","U":0,"u":9999999999999999999,"b":[],"a":[["2.5","1"],["3","0"]]}}"#,
                Some((Some("btcusdt@depth"), "X", [10, 0, 9_999_999_999_999_999_999], 0, 2)),
            ),
            // TC2: whitespace anywhere gives up
            (
                r#"{"e": "depthUpdate","E":1,"s":"X","U":2,"u":3,"b":[],"a":[]}"#,
                None,
            ),
            // TC3: other key order gives up
            (
                r#"{"e":"depthUpdate","s":"X","E":1,"U":2,"u":3,"b":[],"a":[]}"#,
                None,
            ),
            // TC4: an escape in the symbol gives up
            (
                r#"{"e":"depthUpdate","E":1,"s":"B\u0054C","U":2,"u":3,"b":[],"a":[]}"#,
                None,
            ),
            // TC5: a leading zero is not JSON
            (
                r#"{"e":"depthUpdate","E":01,"s":"X","U":2,"u":3,"b":[],"a":[]}"#,
                None,
            ),
            // TC6: 20 digits may not fit a u64
            (
                r#"{"e":"depthUpdate","E":1,"s":"X","U":10000000000000000000,"u":3,"b":[],"a":[]}"#,
                None,
            ),
            // TC7: a legacy third element in a level
            (
                r#"{"e":"depthUpdate","E":1,"s":"X","U":2,"u":3,"b":[["1","1",[]]],"a":[]}"#,
                None,
            ),
            // TC8: an off-tick price goes to the general path for its error
            (
                r#"{"e":"depthUpdate","E":1,"s":"X","U":2,"u":3,"b":[["1.001","1"]],"a":[]}"#,
                None,
            ),
            // TC9: trailing bytes
            (&format!("{RAW} "), None),
            // TC10: truncated
            (&RAW[..RAW.len() - 1], None),
            // TC11: an envelope closed once only
            (
                r#"{"stream":"x","data":{"e":"depthUpdate","E":1,"s":"X","U":2,"u":3,"b":[],"a":[]}"#,
                None,
            ),
            // TC12: another event kind
            (r#"{"e":"trade","E":1}"#, None),
            // TC13: a trailing comma in levels
            (
                r#"{"e":"depthUpdate","E":1,"s":"X","U":2,"u":3,"b":[["1","1"],],"a":[]}"#,
                None,
            ),
            // TC14: a control byte in the stream name
            (
                "{\"stream\":\"a\tb\",\"data\":{\"e\":\"depthUpdate\",\"E\":1,\"s\":\"X\",\"U\":2,\"u\":3,\"b\":[],\"a\":[]}}",
                None,
            ),
            // TC15: a fractional id
            (
                r#"{"e":"depthUpdate","E":1.5,"s":"X","U":2,"u":3,"b":[],"a":[]}"#,
                None,
            ),
        ];
        let (mut fast, mut slow) = (btcusdt(), btcusdt());
        for (i, (text, want)) in cases.iter().enumerate() {
            let frame = text.as_bytes();
            let (mut b, mut a) = (Vec::new(), Vec::new());
            let got = scan(frame, fast.tick(), fast.step(), &mut b, &mut a).map(|s| {
                let name =
                    |(x, y): (usize, usize)| std::str::from_utf8(&frame[x..y]).expect("ascii");
                (
                    s.stream.map(name),
                    name(s.symbol),
                    [s.event_time_ms, s.first_update_id, s.final_update_id],
                    b.len(),
                    a.len(),
                )
            });
            assert_eq!(&got, want, "TC{i}");
            assert_eq!(
                same_answer(frame, &mut fast, &mut slow),
                want.is_some(),
                "TC{i}"
            );
        }
    }

    #[test]
    fn find_quote_table() {
        let cases: &[(&[u8], usize, Option<usize>)] = &[
            // TC0: in the first word
            (b"12.5\"xxxxxxxxxxxx", 0, Some(4)),
            // TC1: in the second word
            (b"0123456789\"xxxxxxxx", 0, Some(10)),
            // TC2: in the tail shorter than a word
            (b"0123456789\"", 0, Some(10)),
            // TC3: none
            (b"0123456789", 0, None),
            // TC4: starting past the end
            (b"01", 5, None),
            // TC5: the first of two
            (b"\"\"", 0, Some(0)),
            // TC6: a byte 0x23 right after a quote (borrow false positive above it)
            (b"ab\"#\"cdefgh", 0, Some(2)),
        ];
        for (i, (buf, from, want)) in cases.iter().enumerate() {
            assert_eq!(find_quote(buf, *from), *want, "TC{i}");
        }
    }

    /// A decimal the way Binance writes it with `decimals` significant decimals (on
    /// BTCUSDT's tick for 2, on its step for 5), or now and then one off the increment or
    /// in a shape the fast paths do not take.
    fn decimal(decimals: usize) -> impl Strategy<Value = String> {
        let on = (0u32..200_000, 0u32..100_000).prop_map(move |(i, f)| {
            let f = f.to_string();
            let f = format!("{f:0>5}");
            format!("{i}.{:0<8}", &f[..decimals.min(5)])
        });
        prop_oneof![
            200 => on,
            1 => (0u32..100, 0u32..100_000_000).prop_map(|(i, f)| format!("{i}.{f:08}")),
            1 => "[0-9]{1,10}(\\.[0-9]{0,10})?",
            2 => Just("0.00000000".to_string()),
        ]
    }

    /// An update id or time: mostly as Binance sends them, sometimes at the edges.
    fn id() -> impl Strategy<Value = u64> {
        prop_oneof![
            20 => 0u64..100_000_000_000_000,
            1 => Just(9_999_999_999_999_999_999u64),
            1 => any::<u64>(),
        ]
    }

    /// A depth frame in Binance's exact shape, with a tail of irregular edits applied at
    /// random (whitespace, reordered keys, escapes, extra elements, junk bytes).
    fn depth_frame() -> impl Strategy<Value = Vec<u8>> {
        (
            any::<bool>(),
            "[a-z@0-9]{1,20}",
            "[A-Z]{1,10}",
            (id(), id(), id()),
            prop::collection::vec((decimal(2), decimal(5)), 0..12),
            prop::collection::vec((decimal(2), decimal(5)), 0..12),
            0u8..16,
            any::<prop::sample::Index>(),
            any::<u8>(),
        )
            .prop_map(|(env, stream, sym, (e, u1, u2), b, a, edit, at, byte)| {
                let side = |v: &Vec<(String, String)>| {
                    let items: Vec<String> = v
                        .iter()
                        .map(|(p, q)| format!("[\"{p}\",\"{q}\"]"))
                        .collect();
                    format!("[{}]", items.join(","))
                };
                let mut body = format!(
                    r#"{{"e":"depthUpdate","E":{e},"s":"{sym}","U":{u1},"u":{u2},"b":{},"a":{}}}"#,
                    side(&b),
                    side(&a)
                );
                if edit == 1 {
                    body = body.replacen(",\"s\":", ", \"s\":", 1);
                } else if edit == 2 {
                    body = body.replacen("\"b\":", "\"x\":0,\"b\":", 1);
                } else if edit == 3 {
                    body = body.replacen(&format!("\"s\":\"{sym}\""), "\"s\":\"\\u0042\"", 1);
                } else if edit == 4 {
                    body = body.replacen("\"]", "\",[]]", 1);
                } else if edit == 7 {
                    // Ten times the id: a leading zero when it was 0, past u64 when large.
                    body = body.replacen(&format!("\"U\":{u1}"), &format!("\"U\":{u1}0"), 1);
                }
                let mut frame = if env {
                    format!(r#"{{"stream":"{stream}","data":{body}}}"#).into_bytes()
                } else {
                    body.into_bytes()
                };
                if edit == 5 {
                    let i = at.index(frame.len());
                    frame[i] = byte;
                } else if edit == 6 {
                    let i = at.index(frame.len());
                    frame.truncate(i);
                } else if edit == 8 {
                    frame.push(byte);
                }
                frame
            })
    }

    /// The depth lines among the first 60 of the capture, read once.
    fn depth_lines() -> &'static [Vec<u8>] {
        static LINES: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
        LINES.get_or_init(|| {
            capture("btcusdt_20240808.gz")
                .into_iter()
                .take(60)
                .filter(|l| l.windows(13).any(|w| w == b"\"depthUpdate\""))
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn generated_frames_decode_the_same(frame in depth_frame()) {
            let (mut fast, mut slow) = (small(), small());
            same_answer(&frame, &mut fast, &mut slow);
            // Some other increments: a coarse tick, and a whole-number step.
            let tick = Increment::parse("0.5").expect("tick");
            let step = Increment::parse("1").expect("step");
            let small = || Decoder::with_capacity(tick, step, 4096, 64);
            let (mut fast, mut slow) = (small(), small());
            same_answer(&frame, &mut fast, &mut slow);
        }

        #[test]
        fn mutated_real_depth_lines_decode_the_same(
            pick in any::<prop::sample::Index>(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
            cut in any::<prop::sample::Index>(),
        ) {
            let lines = depth_lines();
            let mut frame = lines[pick.index(lines.len())].clone();
            for (at, byte) in edits {
                let i = at.index(frame.len());
                frame[i] = byte;
            }
            let keep = cut.index(frame.len() + 1);
            if keep % 4 == 0 {
                frame.truncate(keep);
            }
            let (mut fast, mut slow) = (small(), small());
            same_answer(&frame, &mut fast, &mut slow);
        }

        #[test]
        fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let mut cx = small();
            let (mut b, mut a) = (Vec::new(), Vec::new());
            let _ = scan(&bytes, cx.tick(), cx.step(), &mut b, &mut a);
            let mut prefixed = DEPTH_HEAD.to_vec();
            prefixed.extend_from_slice(&bytes);
            let _ = scan(&prefixed, cx.tick(), cx.step(), &mut b, &mut a);
            let _ = decode_frame(&mut prefixed, &mut cx);
        }
    }
}
