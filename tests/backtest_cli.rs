//! The real `pinewire` binary, run as a user would: hand-checked trade lists for Pine
//! scripts on small Binance-format CSV files, machine output, and errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_pinewire");
const HOUR: i64 = 3_600_000;
const T0: i64 = 1_680_307_200_000; // 2023-04-01T00:00:00Z

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pinewire-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

/// A Binance kline CSV (12 columns, no header) from (open, high, low, close) rows, hourly.
fn csv(name: &str, rows: &[(f64, f64, f64, f64)]) -> PathBuf {
    let mut text = String::new();
    for (i, (o, h, l, c)) in rows.iter().enumerate() {
        let t = T0 + i as i64 * HOUR;
        text.push_str(&format!(
            "{t},{o:.2},{h:.2},{l:.2},{c:.2},10.0,{},100.0,5,5.0,50.0,0\n",
            t + HOUR - 1
        ));
    }
    let path = tmp(name);
    std::fs::write(&path, text).expect("write csv");
    path
}

fn script(name: &str, body: &str) -> PathBuf {
    let path = tmp(name);
    std::fs::write(&path, body).expect("write script");
    path
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run pinewire")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// One trades CSV row: side, entry_time, entry_price, exit_time, exit_price, qty, profit,
/// commission.
type Row = (String, String, f64, String, f64, f64, f64, f64);

fn trades(path: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(path).expect("trades csv");
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("trade,side,entry_time,entry_price,exit_time,exit_price,qty,profit,commission")
    );
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let n = |i: usize| f[i].parse::<f64>().expect("number");
            (
                f[1].to_string(),
                f[2].to_string(),
                n(3),
                f[4].to_string(),
                n(5),
                n(6),
                n(7),
                n(8),
            )
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

const BARS: &[(f64, f64, f64, f64)] = &[
    (100.0, 101.0, 99.0, 100.0),  // 0
    (100.0, 106.0, 99.0, 105.0),  // 1 up: entry signal
    (105.0, 110.0, 104.0, 108.0), // 2 up again: pyramiding 1 ignores it
    (108.0, 109.0, 95.0, 96.0),   // 3 down: close signal
    (96.0, 97.0, 90.0, 91.0),     // 4
    (91.0, 93.0, 90.0, 92.0),     // 5
];

#[test]
fn market_entry_and_close_fill_at_the_next_open() {
    let data = csv("BTCUSDT-1h-a.csv", BARS);
    let pine = script(
        "a.pine",
        "//@version=5\nstrategy(\"a\", commission_type=strategy.commission.percent, commission_value=0.1)\nif close > open\n    strategy.entry(\"L\", strategy.long)\nif close < open\n    strategy.close(\"L\")\n",
    );
    let out = tmp("a.csv");
    let o = run(&[
        "backtest",
        pine.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--trades",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("Total closed trades"), "{}", stdout(&o));
    let t = trades(&out);
    // Signal on bar 1's close -> buy at bar 2's open 105; signal on bar 3 -> sell at bar 4's
    // open 96. Commission 0.1% of 105 + 0.1% of 96 = 0.201; profit -9 - 0.201.
    assert_eq!(t.len(), 1, "{t:?}");
    let (side, et, ep, xt, xp, qty, profit, comm) = &t[0];
    assert_eq!(side, "long");
    assert_eq!(et, "2023-04-01T02:00:00Z");
    assert_eq!(xt, "2023-04-01T04:00:00Z");
    assert!(close(*ep, 105.0) && close(*xp, 96.0) && close(*qty, 1.0));
    assert!(close(*comm, 0.201), "{comm}");
    assert!(close(*profit, -9.201), "{profit}");
}

#[test]
fn process_orders_on_close_and_bracket_exit() {
    let data = csv("BTCUSDT-1h-b.csv", BARS);
    // All prices are whole numbers, so the inferred mintick is 1. Entry fills at bar 1's
    // close (105). The exit, placed on the same bar, arms a stop 8 ticks below the entry
    // = 97 and a target 4 ticks above = 109. Bar 2's path is open 105 -> high 110 (nearer
    // than the low) -> ...: the target fills at 109.
    let pine = script(
        "b.pine",
        "//@version=5\nstrategy(\"b\", process_orders_on_close=true, default_qty_value=2)\nif bar_index == 1\n    strategy.entry(\"L\", strategy.long)\nstrategy.exit(\"X\", \"L\", profit=4, loss=8)\n",
    );
    let out = tmp("b.csv");
    let o = run(&[
        "backtest",
        pine.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--trades",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let t = trades(&out);
    assert_eq!(t.len(), 1, "{t:?}");
    let (side, et, ep, xt, xp, qty, profit, comm) = &t[0];
    assert_eq!(
        (side.as_str(), et.as_str(), xt.as_str()),
        ("long", "2023-04-01T01:00:00Z", "2023-04-01T02:00:00Z")
    );
    assert!(
        close(*ep, 105.0) && close(*xp, 109.0) && close(*qty, 2.0),
        "{ep} {xp} {qty}"
    );
    assert!(close(*profit, 8.0) && close(*comm, 0.0));
}

#[test]
fn json_output_and_input_override() {
    let data = csv("BTCUSDT-1h-c.csv", BARS);
    let pine = script(
        "c.pine",
        "//@version=5\nstrategy(\"c\")\nlevel = input.float(200.0, \"Level\")\nif close < level\n    strategy.entry(\"L\", strategy.long)\n",
    );
    let json = |extra: &[&str]| {
        let mut args = vec![
            "backtest",
            pine.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--json",
        ];
        args.extend_from_slice(extra);
        let o = run(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        serde_json::from_str::<serde_json::Value>(&stdout(&o)).expect("valid JSON")
    };
    // TC0: every close is below 200: one entry at bar 1's open, open at the end.
    let v = json(&[]);
    let s = v.to_string();
    assert!(s.contains("\"open_trades\""), "{s}");
    // TC1: with the level at 50 nothing trades.
    let v50 = json(&["--set", "level=50"]);
    assert_ne!(v.to_string(), v50.to_string());
}

#[test]
fn errors_are_clear_and_exit_non_zero() {
    // TC0: a compile error: file:line:col, the line, a caret
    let bad = script(
        "bad.pine",
        "//@version=5\nstrategy(\"x\")\nx = ta.sma(close)\n",
    );
    let o = run(&["check", bad.to_str().unwrap()]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("bad.pine:3:5: error: ta.sma needs the argument 'length'"),
        "{e}"
    );
    assert!(
        e.contains("3 | x = ta.sma(close)") && e.contains("^^^^^^"),
        "{e}"
    );
    // TC1: a bad data file names the file and line
    let data = tmp("BTCUSDT-1h-bad.csv");
    std::fs::write(&data, "1680307200000,1,2,0.5,1.5,10\n").expect("write");
    let good = script("good.pine", "//@version=5\nstrategy(\"g\")\n");
    let o = run(&[
        "backtest",
        good.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("BTCUSDT-1h-bad.csv:1: expected 12 columns, found 6"),
        "{}",
        stderr(&o)
    );
    // TC2: an unknown input
    let data = csv("BTCUSDT-1h-d.csv", BARS);
    let o = run(&[
        "backtest",
        good.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--set",
        "nope=1",
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("the script has no input named 'nope'"),
        "{}",
        stderr(&o)
    );
    // TC3: check --dump prints the bytecode
    let ok = run(&[
        "check",
        "--dump",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/pine/examples/mean_reversion.pine"
        ),
    ]);
    assert!(ok.status.success());
    assert!(stdout(&ok).contains("JumpIfNotCmp"), "{}", stdout(&ok));
}

#[test]
fn bundled_example_runs_on_bundled_data_with_every_output() {
    let root = env!("CARGO_MANIFEST_DIR");
    let (trades_csv, plots_csv, html) = (tmp("m.csv"), tmp("m_plots.csv"), tmp("m.html"));
    let o = run(&[
        "backtest",
        &format!("{root}/pine/examples/crypto_mean_reversion.pine"),
        "--data",
        &format!("{root}/tests/data/binance/BTC_USDT-1h.json.gz"),
        &format!("{root}/tests/data/binance/ETH_USDT-1h.json.gz"),
        "--trades",
        trades_csv.to_str().unwrap(),
        "--plots",
        plots_csv.to_str().unwrap(),
        "--report",
        html.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("BTCUSDT 1h") && out.contains("ETHUSDT 1h") && out.contains("Total"),
        "{out}"
    );
    let t = std::fs::read_to_string(&trades_csv).expect("trades");
    assert!(t.starts_with("symbol,trade,side,"), "{t}");
    for sym in ["BTCUSDT", "ETHUSDT"] {
        let p = std::fs::read_to_string(tmp(&format!("m_plots_{sym}.csv"))).expect("plots");
        assert!(p.starts_with("time,plot,plot_1,plot_2\n"), "{p}");
        assert_eq!(p.lines().count(), 720);
    }
    let h = std::fs::read_to_string(&html).expect("html");
    assert!(h.contains("<canvas") || h.contains("<svg"));
    assert!(!h.contains("https://") && !h.contains("http://"));
}

#[test]
fn book_check_replays_the_bundled_capture() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/binance/ws_capture");
    let o = run(&[
        "book-check",
        &format!("{dir}/btcusdt_20240808.gz"),
        &format!("{dir}/btcusdt_20240809.gz"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o).trim(),
        "checked=1072 mismatched=0 gaps=0 resyncs=0 undecodable=0 messages=99574"
    );
}
