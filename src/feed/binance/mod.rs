//! Binance spot market-data messages, decoded in place into integer ticks and lots.
//!
//! The market-data thread hands every WebSocket text frame (and the REST depth snapshot
//! body) to [`decode`]. The frame is parsed in place by simd-json's tape parser with
//! buffers owned by the [`Decoder`], so after warm-up no message allocates: strings
//! (symbol, stream, interval) are `&str` borrowed from the frame, prices and quantities are
//! exact integer counts of the symbol's tick and lot ([`crate::feed::fixed`]), and depth
//! levels land in two reusable `Vec<(price_ticks, qty_lots)>` owned by the `Decoder` and
//! are lent out as slices. `depthUpdate` frames in the exchange's exact shape skip the tape:
//! a scanner written for them (`depth_scan.rs`) reads them without writing to the frame and
//! hands anything irregular back to simd-json. Both the combined-stream envelope
//! (`{"stream":..,"data":..}`, see [`envelope`]) and raw streams are accepted.
//!
//! One `Decoder` holds one symbol's increments. A connection carrying several symbols
//! will keep one `Decoder` per symbol and pick it from the stream name (the part before
//! `@`) or, for raw streams, from the `s` field; [`Decoder::set_increments`] lets a single
//! decoder be re-pointed instead when the caller prefers one parse buffer per connection
//! (a later change can move the increments into a symbol-indexed table looked up after
//! the `s` field is read).
//! Bad input of any kind returns a [`DecodeError`] that names the field; nothing panics.

pub mod agg_trade;
pub mod book_ticker;
pub mod control;
mod depth_scan;
pub mod depth_snapshot;
pub mod depth_update;
pub mod envelope;
pub mod kline;
pub mod trade;

use simd_json::{Buffers, Node, StaticNode, Tape};
use thiserror::Error;

use crate::feed::fixed::{parse_units, FixedError, Increment};

pub use agg_trade::AggTrade;
pub use book_ticker::BookTicker;
pub use control::{Control, RequestId, StreamNames};
pub use depth_snapshot::DepthSnapshot;
pub use depth_update::DepthUpdate;
pub use kline::Kline;
pub use trade::Trade;

/// Why a frame could not be decoded. Small and `Copy`: the hot path returns it by value;
/// `Display` says what was wrong and in which field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The frame is not valid JSON (or not valid UTF-8).
    #[error("malformed JSON")]
    Json,
    /// A required field is absent.
    #[error("missing field `{0}`")]
    Missing(&'static str),
    /// A field has the wrong JSON type (or a number out of range for its meaning).
    #[error("field `{0}` has the wrong type")]
    WrongType(&'static str),
    /// A price or quantity string is not an exact count of the symbol's increment.
    #[error("field `{field}`: {error}")]
    Number {
        /// The field that held the decimal.
        field: &'static str,
        /// What was wrong with it.
        error: FixedError,
    },
    /// An `e` event type this decoder does not know.
    #[error("unknown event type in field `e`")]
    UnknownEvent,
    /// A JSON value that matches none of the known message shapes.
    #[error("unrecognised message shape")]
    UnknownMessage,
}

/// One decoded message, borrowing its strings from the frame and its depth levels from
/// the [`Decoder`]: it must be consumed before the next call to [`decode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// A `depthUpdate` diff (`<symbol>@depth` / `@depth@100ms`).
    DepthUpdate(DepthUpdate<'a>),
    /// A REST `GET /api/v3/depth` snapshot or a partial book depth stream message.
    DepthSnapshot(DepthSnapshot<'a>),
    /// A `<symbol>@bookTicker` update.
    BookTicker(BookTicker<'a>),
    /// A `trade` event.
    Trade(Trade<'a>),
    /// An `aggTrade` event.
    AggTrade(AggTrade<'a>),
    /// A `kline` event.
    Kline(Kline<'a>),
    /// A reply to a SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS / property request, or
    /// an error reply.
    Control(Control<'a>),
}

/// A decoded message together with the combined-stream name it came under (`None` for a
/// raw stream, a REST body or a control reply).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The `stream` of the combined-stream envelope, e.g. `btcusdt@depth@100ms`.
    pub stream: Option<&'a str>,
    /// The message itself.
    pub event: Event<'a>,
}

/// Frame size the default [`Decoder::new`] pre-sizes its buffers for: larger than every
/// frame of the bundled capture (the 1000-level REST snapshot is 64 KB).
pub const DEFAULT_MAX_FRAME_BYTES: usize = 96 * 1024;

/// Depth levels per side the default [`Decoder::new`] pre-sizes for (Binance's largest
/// REST snapshot has 5000).
pub const DEFAULT_MAX_LEVELS: usize = 5000;

/// Per-symbol decoding state: the symbol's tick and lot increments, simd-json's parse
/// buffers and tape, and the reusable depth-level buffers. Everything is allocated in
/// [`Decoder::new`] / [`Decoder::with_capacity`]; a frame larger than the pre-sized
/// capacity grows the buffers once and they keep that capacity.
pub struct Decoder {
    tick: Increment,
    step: Increment,
    buffers: Buffers,
    /// Empty between calls; it only holds nodes while [`decode_frame`] runs.
    tape: Tape<'static>,
    bids: Vec<(i64, i64)>,
    asks: Vec<(i64, i64)>,
    names: String,
    name_ends: Vec<usize>,
}

impl Decoder {
    /// A decoder for one symbol whose prices are counted in `tick` (`PRICE_FILTER.tickSize`)
    /// and quantities in `step` (`LOT_SIZE.stepSize`), pre-sized for frames up to
    /// [`DEFAULT_MAX_FRAME_BYTES`] and [`DEFAULT_MAX_LEVELS`] levels a side.
    pub fn new(tick: Increment, step: Increment) -> Decoder {
        Decoder::with_capacity(tick, step, DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_LEVELS)
    }

    /// Like [`Decoder::new`] with explicit capacities: after this, frames up to
    /// `max_frame_bytes` and depth messages up to `max_levels` a side decode without
    /// allocating.
    pub fn with_capacity(
        tick: Increment,
        step: Increment,
        max_frame_bytes: usize,
        max_levels: usize,
    ) -> Decoder {
        let mut decoder = Decoder {
            tick,
            step,
            buffers: Buffers::new(max_frame_bytes),
            tape: Tape(Vec::with_capacity(max_frame_bytes / 2 + 16)),
            bids: Vec::with_capacity(max_levels),
            asks: Vec::with_capacity(max_levels),
            names: String::with_capacity(1024),
            name_ends: Vec::with_capacity(64),
        };
        decoder.warm_up(max_frame_bytes);
        decoder
    }

    /// Parses a synthetic frame as dense in JSON structure as any real one (`[[[[0,0,..]]]]`,
    /// one tape node per two bytes) so that simd-json's internal index, stack and string
    /// buffers reach their working size now rather than on the first big frame.
    fn warm_up(&mut self, max_frame_bytes: usize) {
        let zeros = max_frame_bytes.saturating_sub(8) / 2;
        let mut synthetic = Vec::with_capacity(zeros * 2 + 8);
        synthetic.extend_from_slice(b"[[[[0");
        for _ in 1..zeros {
            synthetic.extend_from_slice(b",0");
        }
        synthetic.extend_from_slice(b"]]]]");
        let mut tape = std::mem::replace(&mut self.tape, Tape(Vec::new())).reset();
        // The synthetic frame is valid JSON; a failure would only leave the buffers smaller,
        // which costs an allocation later, never correctness.
        let _ = simd_json::fill_tape(&mut synthetic, &mut self.buffers, &mut tape);
        self.tape = tape.reset();
    }

    /// Re-points this decoder at another symbol's increments (see the module docs on
    /// multi-symbol connections).
    pub fn set_increments(&mut self, tick: Increment, step: Increment) {
        self.tick = tick;
        self.step = step;
    }

    /// The price increment prices are counted in.
    pub fn tick(&self) -> Increment {
        self.tick
    }

    /// The quantity increment quantities are counted in.
    pub fn step(&self) -> Increment {
        self.step
    }
}

/// The parts of a [`Decoder`] that a message decoder fills, split off so that the result
/// can borrow the level buffers for as long as the frame.
pub(crate) struct Sink<'a> {
    pub(crate) tick: Increment,
    pub(crate) step: Increment,
    pub(crate) bids: &'a mut Vec<(i64, i64)>,
    pub(crate) asks: &'a mut Vec<(i64, i64)>,
    pub(crate) names: &'a mut String,
    pub(crate) name_ends: &'a mut Vec<usize>,
}

/// Decodes one frame (enveloped or raw stream message, REST depth snapshot or control
/// reply). The parser rewrites the frame in place. [`decode_frame`] also returns the
/// combined-stream name.
#[inline]
pub fn decode<'a>(frame: &'a mut [u8], cx: &'a mut Decoder) -> Result<Event<'a>, DecodeError> {
    decode_frame(frame, cx).map(|f| f.event)
}

/// Decodes one frame and also returns the combined-stream name it came under.
///
/// A `depthUpdate` in Binance's exact wire shape is read by a scanner written for it
/// (decode + book apply of the bundled capture about 1.7 times as fast as through the tape,
/// see `benches/feed.rs`; it does not write to the frame);
/// every other frame, and any depth frame that strays from that shape in any way, goes
/// through simd-json as in [`decode_frame_tape`], with the same result either way.
#[inline]
pub fn decode_frame<'a>(
    frame: &'a mut [u8],
    cx: &'a mut Decoder,
) -> Result<Frame<'a>, DecodeError> {
    if let Some(s) = depth_scan::scan(frame, cx.tick, cx.step, &mut cx.bids, &mut cx.asks) {
        let frame: &'a [u8] = frame;
        // The scanner only accepts printable ASCII names, so these conversions cannot
        // fail; if one ever did, the frame is reported malformed rather than panicking.
        let name = |(start, end): (usize, usize)| {
            std::str::from_utf8(&frame[start..end]).map_err(|_| DecodeError::Json)
        };
        let stream = s.stream.map(name).transpose()?;
        let symbol = name(s.symbol)?;
        return Ok(Frame {
            stream,
            event: Event::DepthUpdate(DepthUpdate {
                event_time_ms: s.event_time_ms,
                symbol,
                first_update_id: s.first_update_id,
                final_update_id: s.final_update_id,
                bids: &cx.bids,
                asks: &cx.asks,
            }),
        });
    }
    decode_frame_tape(frame, cx)
}

/// Decodes one frame with simd-json's tape only, never the depth scanner: the general path
/// that [`decode_frame`] falls back to, kept public as the reference the scanner is tested
/// and benchmarked against. Same contract and results as [`decode_frame`].
pub fn decode_frame_tape<'a>(
    frame: &'a mut [u8],
    cx: &'a mut Decoder,
) -> Result<Frame<'a>, DecodeError> {
    let Decoder {
        tick,
        step,
        buffers,
        tape: tape_slot,
        bids,
        asks,
        names,
        name_ends,
    } = cx;
    let mut tape: Tape<'a> = std::mem::replace(tape_slot, Tape(Vec::new())).reset();
    let result = match simd_json::fill_tape(frame, buffers, &mut tape) {
        Ok(()) => classify(
            &tape.0,
            Sink {
                tick: *tick,
                step: *step,
                bids,
                asks,
                names,
                name_ends,
            },
        ),
        Err(_) => Err(DecodeError::Json),
    };
    *tape_slot = tape.reset();
    result
}

/// Recognises the message shape and hands it to the decoder for that kind.
fn classify<'a>(root: &[Node<'a>], sink: Sink<'a>) -> Result<Frame<'a>, DecodeError> {
    let (stream, data) = envelope::split(root)?;
    let fields = object(data, "(message)").map_err(|_| DecodeError::UnknownMessage)?;
    let event = if let Some(e) = fields.get("e") {
        match string(e, "e")? {
            "depthUpdate" => Event::DepthUpdate(depth_update::decode(fields, sink)?),
            "trade" => Event::Trade(trade::decode(fields, &sink)?),
            "aggTrade" => Event::AggTrade(agg_trade::decode(fields, &sink)?),
            "kline" => Event::Kline(kline::decode(fields, &sink)?),
            _ => return Err(DecodeError::UnknownEvent),
        }
    } else if fields.get("lastUpdateId").is_some() {
        Event::DepthSnapshot(depth_snapshot::decode(fields, sink)?)
    } else if fields.get("u").is_some() {
        Event::BookTicker(book_ticker::decode(fields, &sink)?)
    } else if fields.get("id").is_some()
        || fields.get("error").is_some()
        || fields.get("code").is_some()
    {
        Event::Control(control::decode(fields, sink)?)
    } else {
        return Err(DecodeError::UnknownMessage);
    };
    Ok(Frame { stream, event })
}

/// Number of tape nodes a value occupies, itself included.
#[inline(always)]
fn span(node: &Node<'_>) -> usize {
    match node {
        Node::Object { count, .. } | Node::Array { count, .. } => count + 1,
        Node::String(_) | Node::Static(_) => 1,
    }
}

/// Splits the first value off `nodes`: (value, rest). `None` on an empty or truncated
/// tape, which simd-json never produces but which is not worth a panic.
#[inline(always)]
fn split_value<'t, 'a>(nodes: &'t [Node<'a>]) -> Option<(&'t [Node<'a>], &'t [Node<'a>])> {
    let n = span(nodes.first()?);
    if n > nodes.len() {
        return None;
    }
    Some(nodes.split_at(n))
}

/// The key/value pairs of a JSON object on the tape, in frame order.
#[derive(Clone, Copy)]
pub(crate) struct Fields<'t, 'a> {
    rest: &'t [Node<'a>],
    left: usize,
}

impl<'t, 'a> Fields<'t, 'a> {
    /// The value of the first field named `key`.
    pub(crate) fn get(self, key: &str) -> Option<&'t [Node<'a>]> {
        let mut it = self;
        it.find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

impl<'t, 'a> Iterator for Fields<'t, 'a> {
    type Item = (&'a str, &'t [Node<'a>]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let (key, after_key) = self.rest.split_first()?;
        let Node::String(key) = key else {
            return None;
        };
        let (value, rest) = split_value(after_key)?;
        self.rest = rest;
        self.left -= 1;
        Some((key, value))
    }
}

/// The elements of a JSON array on the tape.
#[derive(Clone, Copy)]
pub(crate) struct Items<'t, 'a> {
    rest: &'t [Node<'a>],
    left: usize,
}

impl<'t, 'a> Iterator for Items<'t, 'a> {
    type Item = &'t [Node<'a>];

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let (value, rest) = split_value(self.rest)?;
        self.rest = rest;
        self.left -= 1;
        Some(value)
    }
}

/// `value` as an object, or `WrongType(field)`.
#[inline]
pub(crate) fn object<'t, 'a>(
    value: &'t [Node<'a>],
    field: &'static str,
) -> Result<Fields<'t, 'a>, DecodeError> {
    match value.first() {
        Some(Node::Object { len, count }) if *count < value.len() => Ok(Fields {
            rest: &value[1..=*count],
            left: *len,
        }),
        _ => Err(DecodeError::WrongType(field)),
    }
}

/// `value` as an array, or `WrongType(field)`.
#[inline]
pub(crate) fn array<'t, 'a>(
    value: &'t [Node<'a>],
    field: &'static str,
) -> Result<Items<'t, 'a>, DecodeError> {
    match value.first() {
        Some(Node::Array { len, count }) if *count < value.len() => Ok(Items {
            rest: &value[1..=*count],
            left: *len,
        }),
        _ => Err(DecodeError::WrongType(field)),
    }
}

/// `value` as a string borrowed from the frame, or `WrongType(field)`.
#[inline]
pub(crate) fn string<'a>(value: &[Node<'a>], field: &'static str) -> Result<&'a str, DecodeError> {
    match value.first() {
        Some(Node::String(s)) => Ok(s),
        _ => Err(DecodeError::WrongType(field)),
    }
}

/// `value` as a non-negative integer (ids and millisecond times), or `WrongType(field)`.
#[inline]
pub(crate) fn uint(value: &[Node<'_>], field: &'static str) -> Result<u64, DecodeError> {
    match value.first() {
        Some(Node::Static(StaticNode::U64(v))) => Ok(*v),
        Some(Node::Static(StaticNode::I64(v))) => {
            u64::try_from(*v).map_err(|_| DecodeError::WrongType(field))
        }
        _ => Err(DecodeError::WrongType(field)),
    }
}

/// `value` as a signed integer (kline trade ids are -1 when the kline has no trade), or
/// `WrongType(field)`.
#[inline]
pub(crate) fn int(value: &[Node<'_>], field: &'static str) -> Result<i64, DecodeError> {
    match value.first() {
        Some(Node::Static(StaticNode::I64(v))) => Ok(*v),
        Some(Node::Static(StaticNode::U64(v))) => {
            i64::try_from(*v).map_err(|_| DecodeError::WrongType(field))
        }
        _ => Err(DecodeError::WrongType(field)),
    }
}

/// `value` as a boolean, or `WrongType(field)`.
#[inline]
pub(crate) fn boolean(value: &[Node<'_>], field: &'static str) -> Result<bool, DecodeError> {
    match value.first() {
        Some(Node::Static(StaticNode::Bool(b))) => Ok(*b),
        _ => Err(DecodeError::WrongType(field)),
    }
}

/// A decimal string counted in `inc` (ticks or lots).
#[inline]
pub(crate) fn units(
    value: &[Node<'_>],
    inc: Increment,
    field: &'static str,
) -> Result<i64, DecodeError> {
    let text = string(value, field)?;
    parse_units(text.as_bytes(), inc).map_err(|error| DecodeError::Number { field, error })
}

/// Fills `out` (cleared first, capacity kept) with the `[[price, qty], ..]` levels of
/// `value`. A level may carry extra trailing elements (the legacy `[p, q, []]` form).
#[inline]
pub(crate) fn levels(
    value: &[Node<'_>],
    tick: Increment,
    step: Increment,
    out: &mut Vec<(i64, i64)>,
    field: &'static str,
) -> Result<(), DecodeError> {
    out.clear();
    for level in array(value, field)? {
        let mut parts = array(level, field)?;
        let price = parts.next().ok_or(DecodeError::WrongType(field))?;
        let qty = parts.next().ok_or(DecodeError::WrongType(field))?;
        out.push((units(price, tick, field)?, units(qty, step, field)?));
    }
    Ok(())
}

/// Unwraps a required field collected while walking an object.
#[inline]
pub(crate) fn required<T>(value: Option<T>, field: &'static str) -> Result<T, DecodeError> {
    value.ok_or(DecodeError::Missing(field))
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::{BufRead, BufReader};

    use proptest::prelude::*;

    use super::{decode, DecodeError, Decoder, Event};
    use crate::feed::fixed::Increment;

    /// A decoder for the given tick and step strings.
    pub(crate) fn decoder(tick: &str, step: &str) -> Decoder {
        let tick = Increment::parse(tick).expect("test tick");
        let step = Increment::parse(step).expect("test step");
        Decoder::new(tick, step)
    }

    /// BTCUSDT's filters when the capture was taken: tick 0.01, step 0.00001.
    pub(crate) fn btcusdt() -> Decoder {
        decoder("0.01000000", "0.00001000")
    }

    /// The JSON part of every line of a bundled capture file (`<ns> <json>`).
    pub(crate) fn capture(name: &str) -> Vec<Vec<u8>> {
        let path = format!(
            "{}/tests/data/binance/ws_capture/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let file = std::fs::File::open(&path).expect("bundled capture");
        BufReader::new(flate2::read::GzDecoder::new(file))
            .lines()
            .map(|line| {
                let line = line.expect("capture line");
                let (_, json) = line.split_once(' ').expect("`<ns> <json>`");
                json.as_bytes().to_vec()
            })
            .collect()
    }

    #[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
    struct Counts {
        depth: usize,
        book_ticker: usize,
        trade: usize,
        snapshot: usize,
        other: usize,
    }

    /// Decodes every line of a capture; returns the kinds seen and the 1-based line numbers
    /// that failed, with their errors.
    fn count(name: &str, cx: &mut Decoder) -> (Counts, Vec<(usize, DecodeError)>) {
        let mut counts = Counts::default();
        let mut failed = Vec::new();
        for (n, mut frame) in capture(name).into_iter().enumerate() {
            match decode(&mut frame, cx) {
                Ok(Event::DepthUpdate(d)) => {
                    assert_eq!(d.symbol, "BTCUSDT");
                    assert!(d.first_update_id <= d.final_update_id, "{name}:{n}");
                    counts.depth += 1;
                }
                Ok(Event::BookTicker(b)) => {
                    assert!(b.bid_price_ticks < b.ask_price_ticks, "{name}:{n}");
                    counts.book_ticker += 1;
                }
                Ok(Event::Trade(t)) => {
                    assert!(t.price_ticks > 0 && t.qty_lots > 0, "{name}:{n}");
                    counts.trade += 1;
                }
                Ok(Event::DepthSnapshot(s)) => {
                    assert_eq!((s.bids.len(), s.asks.len()), (1000, 1000));
                    counts.snapshot += 1;
                }
                Ok(_) => counts.other += 1,
                Err(e) => failed.push((n + 1, e)),
            }
        }
        (counts, failed)
    }

    #[test]
    fn decodes_every_line_of_both_captures() {
        let off_step = DecodeError::Number {
            field: "a",
            error: crate::feed::fixed::FixedError::NotAMultiple,
        };
        let day1 = Counts {
            depth: 3_451,
            book_ticker: 28_040,
            trade: 9_757,
            snapshot: 1,
            other: 0,
        };
        let day2 = Counts {
            depth: 3_044,
            book_ticker: 45_134,
            trade: 10_147,
            snapshot: 0,
            other: 0,
        };
        let less_depth = |c: &Counts, n: usize| Counts {
            depth: c.depth - n,
            ..*c
        };
        let cases = [
            // TC0: with BTCUSDT's stepSize 0.00001 every line decodes except three diffs whose
            // far-away ask levels (200000, 80000, 74000) rest a quantity with 6-8 decimals,
            // left by orders placed when the step was finer; those are rejected exactly.
            (
                "btcusdt_20240808.gz",
                "0.00001000",
                less_depth(&day1, 3),
                vec![(1886, off_step), (34306, off_step), (38887, off_step)],
            ),
            // TC1: same for the second day (four such diffs).
            (
                "btcusdt_20240809.gz",
                "0.00001000",
                less_depth(&day2, 4),
                vec![
                    (5580, off_step),
                    (9958, off_step),
                    (31792, off_step),
                    (56654, off_step),
                ],
            ),
            // TC2: counting quantities in the wire's own resolution (1e-8) decodes every line.
            ("btcusdt_20240808.gz", "0.00000001", day1, vec![]),
            // TC3: the same for the second day.
            ("btcusdt_20240809.gz", "0.00000001", day2, vec![]),
        ];
        for (i, (name, step, want_counts, want_failed)) in cases.into_iter().enumerate() {
            let mut cx = decoder("0.01000000", step);
            let (counts, failed) = count(name, &mut cx);
            assert_eq!(failed, want_failed, "TC{i}");
            assert_eq!(counts, want_counts, "TC{i}");
        }
    }

    #[test]
    fn shapes_that_are_not_messages() {
        let cases: &[(&str, DecodeError)] = &[
            // TC0: malformed JSON
            (r#"{"e":"trade","#, DecodeError::Json),
            // TC1: empty frame
            ("", DecodeError::Json),
            // TC2: a JSON array
            ("[]", DecodeError::UnknownMessage),
            // TC3: a scalar
            ("42", DecodeError::UnknownMessage),
            // TC4: an unknown event type
            (r#"{"e":"24hrTicker","E":1}"#, DecodeError::UnknownEvent),
            // TC5: an event type that is not a string
            (r#"{"e":1}"#, DecodeError::WrongType("e")),
            // TC6: an object of no known shape
            (r#"{"x":1}"#, DecodeError::UnknownMessage),
            // TC7: an envelope around a scalar
            (r#"{"stream":"a@b","data":3}"#, DecodeError::UnknownMessage),
            // TC8: invalid UTF-8 inside a string
            ("{\"s\":\"\u{fffd}\"}", DecodeError::UnknownMessage),
        ];
        let mut cx = btcusdt();
        for (i, (text, want)) in cases.iter().enumerate() {
            let mut frame = text.as_bytes().to_vec();
            assert_eq!(decode(&mut frame, &mut cx), Err(*want), "TC{i}");
        }
        // TC9: raw invalid UTF-8 bytes
        let mut frame = b"{\"s\":\"\xff\"}".to_vec();
        assert_eq!(decode(&mut frame, &mut cx), Err(DecodeError::Json), "TC9");
    }

    #[test]
    fn errors_name_the_field() {
        let cases: &[(DecodeError, &str)] = &[
            // TC0
            (DecodeError::Missing("k.c"), "missing field `k.c`"),
            // TC1
            (
                DecodeError::Number {
                    field: "b",
                    error: crate::feed::fixed::FixedError::NotAMultiple,
                },
                "field `b`: decimal is not a whole multiple of the increment",
            ),
            // TC2
            (DecodeError::WrongType("E"), "field `E` has the wrong type"),
        ];
        for (i, (error, want)) in cases.iter().enumerate() {
            assert_eq!(error.to_string(), *want, "TC{i}");
        }
    }

    #[test]
    fn a_decoder_moves_to_the_market_data_thread() {
        fn assert_send<T: Send>() {}
        assert_send::<Decoder>();
    }

    #[test]
    fn frames_beyond_the_presized_capacity_still_decode() {
        // TC0: a 1 KiB decoder given the 64 KB REST snapshot grows its buffers and decodes it.
        let tick = Increment::parse("0.01").expect("tick");
        let step = Increment::parse("0.00001").expect("step");
        let mut cx = Decoder::with_capacity(tick, step, 1024, 4);
        let mut snapshot = capture("btcusdt_20240808.gz")
            .into_iter()
            .find(|l| l.starts_with(b"{\"lastUpdateId\""))
            .expect("snapshot line");
        let Ok(Event::DepthSnapshot(s)) = decode(&mut snapshot, &mut cx) else {
            panic!("not a snapshot");
        };
        assert_eq!((s.last_update_id, s.bids.len()), (50_093_239_218, 1000));
        assert_eq!(s.bids[0], (6_183_763, 378_826));
        // TC1: re-pointed at another symbol's increments, the same decoder counts in them.
        cx.set_increments(Increment::parse("0.1").expect("tick"), step);
        let mut frame = br#"{"u":1,"s":"X","b":"1.20","B":"1","a":"1.30","A":"1"}"#.to_vec();
        let Ok(Event::BookTicker(b)) = decode(&mut frame, &mut cx) else {
            panic!("not a book ticker");
        };
        assert_eq!((b.bid_price_ticks, b.ask_price_ticks), (12, 13));
        assert_eq!(cx.tick().decimals(), 1);
    }

    #[test]
    fn a_decoder_is_reusable_after_errors() {
        let mut cx = btcusdt();
        let line = br#"{"u":1,"s":"BTCUSDT","b":"1.00","B":"1","a":"1.01","A":"1"}"#;
        for _ in 0..3 {
            let mut bad = br#"{"u":1,"#.to_vec();
            assert_eq!(decode(&mut bad, &mut cx), Err(DecodeError::Json));
            let mut good = line.to_vec();
            assert!(matches!(
                decode(&mut good, &mut cx),
                Ok(Event::BookTicker(_))
            ));
        }
    }

    /// The lines among the first 40 of the capture that are under 4 KiB (depth diffs,
    /// tickers and trades; the 64 KB REST snapshot is left out so that proptest stays
    /// quick), read once.
    fn real_lines() -> &'static [Vec<u8>] {
        static LINES: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
        LINES.get_or_init(|| {
            let path = format!(
                "{}/tests/data/binance/ws_capture/btcusdt_20240808.gz",
                env!("CARGO_MANIFEST_DIR")
            );
            let file = std::fs::File::open(&path).expect("bundled capture");
            BufReader::new(flate2::read::GzDecoder::new(file))
                .lines()
                .take(40)
                .filter_map(|line| {
                    let line = line.expect("capture line");
                    let (_, json) = line.split_once(' ')?;
                    (json.len() < 4096).then(|| json.as_bytes().to_vec())
                })
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let mut cx = btcusdt();
            let mut frame = bytes;
            let _ = decode(&mut frame, &mut cx);
        }

        #[test]
        fn mutated_real_lines_never_panic(
            pick in any::<prop::sample::Index>(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            cut in any::<prop::sample::Index>(),
        ) {
            let lines = real_lines();
            let mut frame = lines[pick.index(lines.len())].clone();
            for (at, byte) in edits {
                let i = at.index(frame.len());
                frame[i] = byte;
            }
            let keep = cut.index(frame.len() + 1);
            if keep % 3 == 0 {
                frame.truncate(keep);
            }
            let mut cx = btcusdt();
            let _ = decode(&mut frame, &mut cx);
        }

        #[test]
        fn structure_preserving_mutations_never_panic(
            pick in any::<prop::sample::Index>(),
            at in any::<prop::sample::Index>(),
            with in prop::sample::select(vec![
                &b"-"[..], b"1e5", b"null", b"[]", b"{}", b"\"\"", b"99999999999999999999", b"0.001", b"true",
            ]),
        ) {
            let lines = real_lines();
            let line = &lines[pick.index(lines.len())];
            // Replace one byte inside the line with a JSON fragment.
            let i = at.index(line.len());
            let mut frame = line[..i].to_vec();
            frame.extend_from_slice(with);
            frame.extend_from_slice(&line[i + 1..]);
            let mut cx = btcusdt();
            let _ = decode(&mut frame, &mut cx);
        }
    }
}
