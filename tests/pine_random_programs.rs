//! Property test: random valid programs (built from a grammar of the Pine subset) always
//! compile, and running them through the whole backtester never panics.

use std::path::Path;

use pinewire::backtest::runner::{self, RunOptions};
use pinewire::history::{self, KlineSeries};
use pinewire::pine::{compile, SourceFile};
use proptest::prelude::*;

fn series() -> KlineSeries {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/binance/BTC_USDT-1h.json.gz"
    );
    let mut s = history::load(Path::new(path), None, None).expect("bundled data");
    s.bars.truncate(300);
    s
}

fn num_expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("close".to_string()),
        Just("open".to_string()),
        Just("high".to_string()),
        Just("low".to_string()),
        Just("volume".to_string()),
        Just("hl2".to_string()),
        Just("bar_index".to_string()),
        Just("strategy.position_size".to_string()),
        Just("na".to_string()),
        (-1000i32..1000).prop_map(|n| n.to_string()),
        (-100.0f64..100.0).prop_map(|f| format!("{f:.3}")),
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        let len = 1u32..30;
        prop_oneof![
            (
                inner.clone(),
                prop_oneof![Just("+"), Just("-"), Just("*"), Just("/"), Just("%")],
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("({a} {op} {b})")),
            (inner.clone(), 0u32..5).prop_map(|(a, n)| format!("({a})[{n}]")),
            (inner.clone(), len.clone()).prop_map(|(a, n)| format!("ta.sma({a}, {n})")),
            (inner.clone(), len.clone()).prop_map(|(a, n)| format!("ta.ema({a}, {n})")),
            (inner.clone(), len.clone()).prop_map(|(a, n)| format!("ta.rsi({a}, {n})")),
            (inner.clone(), len.clone()).prop_map(|(a, n)| format!("ta.stdev({a}, {n})")),
            (inner.clone(), len.clone()).prop_map(|(a, n)| format!("ta.highest({a}, {n})")),
            (inner.clone(), len.clone()).prop_map(|(a, n)| format!("ta.cci({a}, {n})")),
            (inner.clone(), len.clone()).prop_map(|(a, n)| format!("ta.wma({a}, {n})")),
            inner.clone().prop_map(|a| format!("ta.change({a})")),
            inner.clone().prop_map(|a| format!("nz({a})")),
            inner.clone().prop_map(|a| format!("math.abs({a})")),
            inner.clone().prop_map(|a| format!("-{a}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("math.max({a}, {b})")),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(c, a, b)| format!("({c} > 0 ? {a} : {b})")),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| format!("close[bar_index % 7] + {a} * 0 + {b} * 0")),
        ]
    })
}

fn bool_expr() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            num_expr(),
            prop_oneof![
                Just(">"),
                Just("<"),
                Just(">="),
                Just("<="),
                Just("=="),
                Just("!=")
            ],
            num_expr()
        )
            .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
        (num_expr(), num_expr()).prop_map(|(a, b)| format!("ta.crossover({a}, {b})")),
        (num_expr(), num_expr())
            .prop_map(|(a, b)| format!("ta.crossunder({a}, {b}) or not ({a} > {b})")),
    ]
}

fn statement() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            bool_expr(),
            prop_oneof![Just("strategy.long"), Just("strategy.short")]
        )
            .prop_map(|(c, d)| format!("if {c}\n    strategy.entry(\"E\", {d})")),
        bool_expr().prop_map(|c| format!("if {c}\n    strategy.close(\"E\")")),
        (1u32..500, 1u32..500)
            .prop_map(|(p, l)| format!("strategy.exit(\"X\", \"E\", profit={p}, loss={l})")),
        (num_expr(), 1u32..20).prop_map(|(a, n)| format!(
            "s = 0.0\nfor i = 0 to {n}\n    s += nz({a})\n    if s > 1e9\n        break\nplot(s)"
        )),
        num_expr().prop_map(|a| format!(
            "var float acc = 0\nacc := nz(acc[1]) * 0.5 + nz({a})\nplot(acc)"
        )),
        bool_expr().prop_map(|c| format!("n = ta.barssince({c})\nplot(n)")),
        num_expr().prop_map(|a| format!("plot({a})")),
        (num_expr(), 1u32..6).prop_map(|(a, k)| format!(
            "x = switch\n    bar_index % {k} == 0 => {a}\n    => close\nplot(x)"
        )),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_valid_programs_compile_and_never_panic(stmts in prop::collection::vec(statement(), 1..6)) {
        // Each statement declares its own names in its own copy of the script body, so
        // that names never clash: wrap each in a function-free block by numbering.
        let mut body = String::new();
        for (i, s) in stmts.iter().enumerate() {
            let s = s
                .replace("s = 0.0", &format!("s{i} = 0.0"))
                .replace("s += ", &format!("s{i} += "))
                .replace("if s > ", &format!("if s{i} > "))
                .replace("plot(s)", &format!("plot(s{i})"))
                .replace("acc", &format!("acc{i}"))
                .replace("n = ta", &format!("n{i} = ta"))
                .replace("plot(n)", &format!("plot(n{i})"))
                .replace("x = switch", &format!("x{i} = switch"))
                .replace("plot(x)", &format!("plot(x{i})"));
            body.push_str(&s);
            body.push('\n');
        }
        let src = format!(
            "//@version=5\nstrategy(\"random\", initial_capital=10000, default_qty_type=strategy.percent_of_equity, default_qty_value=50, commission_value=0.1)\n{body}"
        );
        let file = SourceFile::new("random.pine", src.clone());
        let program = match compile(&file) {
            Ok(p) => p,
            Err(e) => panic!("a valid program did not compile:\n{}\n{src}", e.render(&file)),
        };
        // Run-time errors are allowed (they are reported, not panics); panics are not.
        let _ = runner::run(&program, &[series()], &RunOptions::default());
    }
}
