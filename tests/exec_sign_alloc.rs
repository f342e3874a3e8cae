//! Signing and decoding order replies allocate nothing after warm-up: a counting global
//! allocator watches 10,000 requests being built, percent-encoded and signed (HMAC-SHA256
//! and Ed25519) into reused buffers, and 10,000 order-side replies being decoded.

use pinewire::exec::binance::{decode, Message, OrderDecoder};
use pinewire::exec::sign::{push_param, Signer};
use pinewire::feed::fixed::Increment;

#[path = "support/alloc_counter.rs"]
mod alloc_counter;

const ROUNDS: usize = 10_000;

/// RFC 8032 test 1's secret as the PKCS#8 v1 PEM Binance's key generator writes.
const ED25519_PEM: &str = "-----BEGIN PRIVATE KEY-----\n\
    MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n\
    -----END PRIVATE KEY-----\n";

/// Builds one order query (a Unicode client id exercises the percent-encoder) and signs
/// it in place, then signs it again into a second buffer and as a bare signature.
fn build_and_sign(signer: &Signer, i: usize, query: &mut Vec<u8>, other: &mut Vec<u8>) -> usize {
    let mut digits = [0u8; 20];
    let ts = format_u64(1_499_827_319_559 + i as u64, &mut digits);
    query.clear();
    push_param(query, "symbol", "LTCBTC");
    push_param(query, "side", "BUY");
    push_param(query, "type", "LIMIT");
    push_param(query, "timeInForce", "GTC");
    push_param(query, "quantity", "1");
    push_param(query, "price", "0.1");
    push_param(query, "newClientOrderId", "pw-测试-7");
    push_param(query, "recvWindow", "5000");
    push_param(query, "timestamp", ts);
    other.clear();
    signer.sign_into(query, other).expect("encoded");
    signer.signature_into(query, other);
    signer.sign_query(query).expect("encoded");
    query.len() + other.len()
}

/// Writes `v` in decimal into `buf` without allocating.
fn format_u64(mut v: u64, buf: &mut [u8; 20]) -> &str {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[at..]).expect("digits")
}

#[test]
fn signing_allocates_nothing_after_warm_up() {
    let signers = [
        (
            "HMAC-SHA256",
            Signer::hmac_sha256(
                b"NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j",
            )
            .expect("secret"),
        ),
        (
            "Ed25519",
            Signer::ed25519_from_pem(ED25519_PEM).expect("pem"),
        ),
    ];
    for (name, signer) in &signers {
        let mut query = Vec::with_capacity(1024);
        let mut other = Vec::with_capacity(1024);
        for i in 0..10 {
            build_and_sign(signer, i, &mut query, &mut other);
        }
        let (bytes, allocs) = alloc_counter::count(|| {
            (0..ROUNDS)
                .map(|i| build_and_sign(signer, i, &mut query, &mut other))
                .sum::<usize>()
        });
        assert!(bytes > ROUNDS * 100, "{name}: signed {bytes} bytes");
        assert_eq!(
            allocs, 0,
            "{name}: {allocs} allocations in {ROUNDS} signings"
        );
    }
}

const REPLIES: [&str; 4] = [
    r#"{"symbol":"BTCUSDT","orderId":28,"orderListId":-1,"clientOrderId":"6gCrw2kRUAF9CvJDGP16IP","transactTime":1507725176595,"price":"0.00000000","origQty":"10.00000000","executedQty":"10.00000000","origQuoteOrderQty":"0.000000","cummulativeQuoteQty":"10.00000000","status":"FILLED","timeInForce":"GTC","type":"MARKET","side":"SELL","workingTime":1507725176595,"selfTradePreventionMode":"NONE","fills":[{"price":"4000.00000000","qty":"1.00000000","commission":"4.00000000","commissionAsset":"USDT","tradeId":56},{"price":"3999.00000000","qty":"5.00000000","commission":"19.99500000","commissionAsset":"USDT","tradeId":57}]}"#,
    r#"{"subscriptionId":0,"event":{"e":"executionReport","E":1499405658658,"s":"BTCUSDT","c":"mUvoqJxFIILMdfAW5iGSOW","S":"BUY","o":"LIMIT","f":"GTC","q":"1.00000000","p":"61837.63000000","P":"0.00000000","F":"0.00000000","g":-1,"C":"","x":"TRADE","X":"FILLED","r":"NONE","i":4293153,"l":"1.00000000","z":"1.00000000","L":"61837.63000000","n":"0.00100000","N":"BNB","T":1499405658657,"t":12,"I":8641984,"w":false,"m":false,"M":false,"O":1499405658657,"Z":"61837.63000000","Y":"61837.63000000","Q":"0.00000000","W":1499405658657,"V":"NONE"}}"#,
    r#"{"subscriptionId":0,"event":{"e":"outboundAccountPosition","E":1564034571105,"u":1564034571073,"B":[{"a":"BTC","f":"1.00000000","l":"0.00000000"},{"a":"USDT","f":"10000.000000","l":"0.000000"}]}}"#,
    r#"{"id":"e2a85d9f","status":400,"error":{"code":-2010,"msg":"Account has insufficient balance for requested action."},"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000,"count":1},{"rateLimitType":"ORDERS","interval":"SECOND","intervalNum":10,"limit":50,"count":1}]}"#,
];

fn decode_all(cx: &mut OrderDecoder, frame: &mut Vec<u8>) -> (usize, usize) {
    let (mut decoded, mut items) = (0, 0);
    for text in REPLIES {
        frame.clear();
        frame.extend_from_slice(text.as_bytes());
        let reply = decode(frame, cx).expect("decodes");
        items += reply.rate_limits.len();
        items += match reply.message {
            Message::Order(o) => o.fills.iter().map(|f| f.commission_asset.len()).sum(),
            Message::AccountPosition(p) => p.balances.iter().map(|b| b.asset.len()).sum(),
            Message::ExecutionReport(r) => r.commission_asset.map_or(0, str::len),
            Message::Error(e) => e.msg.len(),
            _ => 0,
        };
        decoded += 1;
    }
    (decoded, items)
}

#[test]
fn decoding_replies_allocates_nothing_after_warm_up() {
    let mut cx = OrderDecoder::new();
    let tick = Increment::parse("0.01").expect("tick");
    let step = Increment::parse("0.00001").expect("step");
    cx.add_symbol("BTCUSDT", tick, step);
    let mut frame = Vec::with_capacity(4096);
    for _ in 0..10 {
        decode_all(&mut cx, &mut frame);
    }
    let ((decoded, items), allocs) = alloc_counter::count(|| {
        let (mut d, mut n) = (0, 0);
        for _ in 0..ROUNDS / REPLIES.len() {
            let (a, b) = decode_all(&mut cx, &mut frame);
            d += a;
            n += b;
        }
        (d, n)
    });
    assert_eq!(decoded, ROUNDS);
    assert!(items > ROUNDS, "{items} list items seen");
    assert_eq!(allocs, 0, "{allocs} allocations in {decoded} replies");
}
