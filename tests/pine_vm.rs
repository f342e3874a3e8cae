//! Pine semantics end to end: scripts compiled and run on small bar series, checked
//! through what they plot. Each case states the expected values worked out by hand.

use pinewire::pine::{compile, Bar, SourceFile, StrategyView, Vm};

/// Bars whose close is `closes[i]`, open the previous close, high/low 1 around.
fn bars(closes: &[f64]) -> Vec<Bar> {
    closes
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let o = if i == 0 { c } else { closes[i - 1] };
            Bar {
                time_ms: 1_700_000_000_000 + i as i64 * 60_000,
                open: o,
                high: c.max(o) + 1.0,
                low: c.min(o) - 1.0,
                close: c,
                volume: 10.0 + i as f64,
            }
        })
        .collect()
}

/// Runs `body` (after an indicator header) and returns each plot's values per bar.
fn run(body: &str, closes: &[f64]) -> Vec<Vec<f64>> {
    run_with(body, closes, &[])
}

fn run_with(body: &str, closes: &[f64], inputs: &[(&str, &str)]) -> Vec<Vec<f64>> {
    let src = format!("//@version=5\nindicator(\"t\")\n{body}\n");
    let file = SourceFile::new("t.pine", src);
    let program = match compile(&file) {
        Ok(p) => p,
        Err(e) => panic!("{}", e.render(&file)),
    };
    let inputs: Vec<(String, String)> = inputs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut vm = Vm::new(&program, &inputs).expect("inputs");
    vm.set_timeframe_ms(60_000);
    let mut out = vec![Vec::new(); program.plots.len()];
    for b in bars(closes) {
        vm.run_bar(&b, &StrategyView::default()).expect("runs");
        for (col, v) in out.iter_mut().zip(vm.plot_values()) {
            col.push(*v);
        }
    }
    out
}

const NA: f64 = f64::NAN;

fn same(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x.is_nan() && y.is_nan()) || (x - y).abs() <= 1e-9 * x.abs().max(1.0))
}

#[test]
fn semantics_table() {
    let closes = [10.0, 12.0, 11.0, 15.0, 14.0];
    let cases: &[(&str, &[f64])] = &[
        // TC0: plain arithmetic on the close
        ("plot(close * 2 - 1)", &[19.0, 23.0, 21.0, 29.0, 27.0]),
        // TC1: history of a built-in: na before the first bar
        ("plot(close[1])", &[NA, 10.0, 12.0, 11.0, 15.0]),
        // TC2: history of an expression
        ("plot((close - open)[1])", &[NA, 0.0, 2.0, -1.0, 4.0]),
        // TC3: var keeps its value across bars; a plain variable does not
        ("var c = 0\nc := c + 1\nd = 0\nd := d + 1\nplot(c + d * 100)", &[101.0, 102.0, 103.0, 104.0, 105.0]),
        // TC4: if as an expression, na without else
        ("x = if close > open\n    1\nplot(x)", &[NA, 1.0, NA, 1.0, NA]),
        // TC5: else-if chain
        ("x = if close > 13\n    3\nelse if close > 11\n    2\nelse\n    1\nplot(x)", &[1.0, 2.0, 1.0, 3.0, 3.0]),
        // TC6: switch with a scrutinee and a default arm
        ("x = switch bar_index\n    0 => 10\n    2 => 30\n    => -1\nplot(x)", &[10.0, -1.0, 30.0, -1.0, -1.0]),
        // TC7: switch without a scrutinee
        ("x = switch\n    close > 13 => 2\n    close > 10 => 1\n    => 0\nplot(x)", &[0.0, 1.0, 1.0, 2.0, 2.0]),
        // TC8: for loop sums 1..bar_index (on bar 0, `1 to 0` counts down: 1 + 0)
        ("s = 0\nfor i = 1 to bar_index\n    s += i\nplot(s)", &[1.0, 1.0, 3.0, 6.0, 10.0]),
        // TC9: for counting down with break and continue
        ("s = 0\nfor i = 10 to 0\n    if i == 8\n        continue\n    if i < 6\n        break\n    s += i\nplot(s)", &[32.0, 32.0, 32.0, 32.0, 32.0]),
        // TC10: while loop
        ("n = bar_index\nk = 0\nwhile n > 0\n    n := n - 2\n    k += 1\nplot(k)", &[0.0, 1.0, 1.0, 2.0, 2.0]),
        // TC11: a user function: each call owns its own series state
        ("f(src) => ta.sma(src, 2)\nplot(f(close))\nplot(f(open))", &[NA, 11.0, 11.5, 13.0, 14.5]),
        // TC12: multi-line function returning a tuple
        ("f(a, b) =>\n    s = a + b\n    [s, s * 2]\n[p, q] = f(close, 1)\nplot(q)", &[22.0, 26.0, 24.0, 32.0, 30.0]),
        // TC13: default parameter values
        ("f(a, k = 3) => a * k\nplot(f(close))", &[30.0, 36.0, 33.0, 45.0, 42.0]),
        // TC14: na, nz and fixnan
        ("x = close > 11 ? close : na\nplot(nz(x))\nplot(fixnan(x))\nplot(na(x) ? 1 : 0)", &[0.0, 12.0, 0.0, 15.0, 14.0]),
        // TC15: division by zero is na
        ("plot(close / (bar_index - 2))", &[-5.0, -12.0, NA, 15.0, 7.0]),
        // TC16: int division of constants truncates, series int division does not
        ("plot(7 / 2 + bar_index / 2)", &[3.0, 3.5, 4.0, 4.5, 5.0]),
        // TC17: dynamic history offset
        ("plot(close[bar_index])", &[10.0, 10.0, 10.0, 10.0, 10.0]),
        // TC18: ta.crossover on series
        ("plot(ta.crossover(close, 11.5) ? 1 : 0)", &[0.0, 1.0, 0.0, 1.0, 0.0]),
        // TC19: math functions and variadic max
        ("plot(math.max(close, 12, open) + math.abs(-1) + math.round(2.5))", &[16.0, 16.0, 16.0, 19.0, 19.0]),
        // TC20: compound assignment operators
        ("var x = 100.0\nx -= close\nx *= 1\nplot(x)", &[90.0, 78.0, 67.0, 52.0, 38.0]),
        // TC21: bool logic with na
        ("b = close > 11 and not (close > 14)\nplot(b ? 1 : 0)", &[0.0, 1.0, 0.0, 0.0, 1.0]),
        // TC22: ternary chain
        ("plot(close > 14 ? 2 : close > 11 ? 1 : 0)", &[0.0, 1.0, 0.0, 2.0, 1.0]),
        // TC23: var initialised once, inside an if
        ("var float first = na\nif bar_index == 2\n    var seen = close\n    first := seen\nplot(first)", &[NA, NA, 11.0, 11.0, 11.0]),
        // TC24: ta.bb tuple
        ("[m, u, l] = ta.bb(close, 2, 1)\nplot(u - l)", &[NA, 2.0, 1.0, 4.0, 1.0]),
        // TC26: an input variable reassigned is re-read from the input on every bar
        ("len = input.int(5)\nlen := len + bar_index\nplot(len)", &[5.0, 6.0, 7.0, 8.0, 9.0]),
        // TC27: a fused comparison jump treats na as false
        ("x = bar_index > 1 ? close : na\ny = 0\nif x > 11\n    y := 1\nplot(y)", &[0.0, 0.0, 0.0, 1.0, 1.0]),
        // TC28: != with na is false as well
        ("x = bar_index > 1 ? close : na\ny = 0\nif x != 11\n    y := 1\nplot(y)", &[0.0, 0.0, 0.0, 1.0, 1.0]),
        // TC29: two identical top-level ta calls share one result
        ("a = ta.sma(close, 2)\nb = ta.sma(close, 2)\nplot(b)", &[NA, 11.0, 11.5, 13.0, 14.5]),
        // TC30: a call in a ternary branch runs only on its bars and is not shared
        ("x = bar_index > 2 ? ta.sma(close, 2) : na\ny = ta.sma(close, 2)\nplot(x)", &[NA, NA, NA, NA, 14.5]),
        // TC31: ... and the unconditional call beside it is complete
        ("x = bar_index > 2 ? ta.sma(close, 2) : na\ny = ta.sma(close, 2)\nplot(y)", &[NA, 11.0, 11.5, 13.0, 14.5]),
        // TC32: a reassignment between two identical calls does not leak into the second
        ("a = ta.sma(close, 2)\na := 0\nb = ta.sma(close, 2)\nplot(b)", &[NA, 11.0, 11.5, 13.0, 14.5]),
        // TC33: a sum of a product (fused into one instruction) keeps its arithmetic
        ("plot(close + 2 * open)", &[30.0, 32.0, 35.0, 37.0, 44.0]),
        // TC34: a difference of a product, and a product assigned to a name first
        ("p = open * 2\nplot(close - open * 2 + p)", &[10.0, 12.0, 11.0, 15.0, 14.0]),
        // TC35: a ta call in a later switch pattern runs only when reached and is not shared
        ("x = switch\n    bar_index < 3 => 0.0\n    ta.sma(close, 2) > 0 => ta.sma(close, 2)\n    => 1.0\ny = ta.sma(close, 2)\nplot(y)", &[NA, 11.0, 11.5, 13.0, 14.5]),
        // TC36: tuple elements keep their bool and int types
        ("f() => [close > open, bar_index]\n[up, n] = f()\nplot(up ? n : -1)", &[-1.0, 1.0, -1.0, 3.0, -1.0]),
        // TC25: built-in series
        ("plot(hl2 + hlc3 * 0 + bar_index * 0)", &[10.0, 11.0, 11.5, 13.0, 14.5]),
    ];
    for (i, (body, want)) in cases.iter().enumerate() {
        let got = run(body, &closes);
        assert!(
            same(&got[0], want),
            "TC{i}: {body}\n got {:?}\nwant {:?}",
            got[0],
            want
        );
    }
    // TC11 second plot: sma of open
    let got = run(
        "f(src) => ta.sma(src, 2)\nplot(f(close))\nplot(f(open))",
        &closes,
    );
    assert!(same(&got[1], &[NA, 10.0, 11.0, 11.5, 13.0]), "{:?}", got[1]);
}

#[test]
fn inputs_can_be_overridden() {
    let body = "len = input.int(2, \"Length\", minval=1)\nplot(ta.sma(close, len))";
    let closes = [1.0, 2.0, 3.0, 4.0];
    // TC0: the default
    assert!(same(&run(body, &closes)[0], &[NA, 1.5, 2.5, 3.5]));
    // TC1: by variable name
    assert!(same(
        &run_with(body, &closes, &[("len", "3")])[0],
        &[NA, NA, 2.0, 3.0]
    ));
    // TC2: by title
    assert!(same(
        &run_with(body, &closes, &[("Length", "1")])[0],
        &[1.0, 2.0, 3.0, 4.0]
    ));
}

#[test]
fn bad_input_overrides_are_errors() {
    let src =
        "//@version=5\nindicator(\"t\")\nlen = input.int(2, \"Length\", minval=1)\nplot(len)\n";
    let program = compile(&SourceFile::new("t.pine", src)).expect("compiles");
    let set = |k: &str, v: &str| {
        Vm::new(&program, &[(k.to_string(), v.to_string())])
            .err()
            .map(|e| e.to_string())
    };
    // TC0: unknown input
    assert_eq!(
        set("nope", "1").as_deref(),
        Some("the script has no input named 'nope' (inputs: len)")
    );
    // TC1: not a whole number
    assert_eq!(
        set("len", "1.5").as_deref(),
        Some("input 'len': '1.5' is not a whole number")
    );
    // TC2: below minval
    assert_eq!(
        set("len", "0").as_deref(),
        Some("input 'len': 0 is below minval 1")
    );
}

#[test]
fn runtime_errors_name_the_line() {
    let run_err = |body: &str| {
        let src = format!("//@version=5\nindicator(\"t\")\n{body}\n");
        let program = compile(&SourceFile::new("t.pine", src)).expect("compiles");
        let mut vm = Vm::new(&program, &[]).expect("vm");
        let mut err = None;
        for b in bars(&[1.0, 2.0, 3.0]) {
            if let Err(e) = vm.run_bar(&b, &StrategyView::default()) {
                err = Some(e.to_string());
                break;
            }
        }
        err.expect("an error")
    };
    // TC0: a dynamic offset beyond max_bars_back
    assert_eq!(
        run_err("x = 6000 + bar_index\nplot(close[x])"),
        "line 4: history offset 6000 is beyond max_bars_back (5000); raise max_bars_back in strategy(...)"
    );
    // TC1: an endless loop is stopped
    assert_eq!(
        run_err("k = 0\nwhile true\n    k += 1\nplot(k)"),
        "line 4: a loop ran more than 1000000 iterations on one bar"
    );
    // TC2: a length of zero from the data
    assert_eq!(
        run_err("len = input.int(0)\nplot(ta.sma(close, len))"),
        "line 4: length must be at least 1, got 0"
    );
}

#[test]
fn examples_compile() {
    for entry in
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/pine/examples")).expect("examples")
    {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "pine") {
            let text = std::fs::read_to_string(&path).expect("read");
            let file = SourceFile::new(path.display().to_string(), text);
            if let Err(e) = compile(&file) {
                panic!("{}", e.render(&file));
            }
        }
    }
}
