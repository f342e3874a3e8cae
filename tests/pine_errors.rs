//! Bad programs: each must fail to compile with exactly this message at exactly this
//! position (`file:line:col: message`), never panic and never compile.

use pinewire::pine::{compile, SourceFile};

const HEAD: &str = "//@version=5\nstrategy(\"t\")\n";

fn error_of(src: &str) -> String {
    let file = SourceFile::new("t.pine", src);
    match compile(&file) {
        Ok(_) => panic!("compiled but should not:\n{src}"),
        Err(e) => {
            // The rendered form must show the source line and a caret.
            let rendered = e.render(&file);
            assert!(rendered.contains('^'), "no caret in:\n{rendered}");
            e.short(&file)
        }
    }
}

#[test]
fn checker_errors() {
    let cases: &[(&str, &str)] = &[
        // TC0: undeclared name
        ("x = foo + 1", "t.pine:3:5: undeclared identifier 'foo'"),
        // TC1: unknown function
        ("x = foo(1)", "t.pine:3:5: could not find function 'foo'"),
        // TC2: request.security is outside the subset
        ("x = request.security(\"BTCUSDT\", \"1D\", close)", "t.pine:3:5: 'request.security': request.* calls are not supported: a pinewire strategy runs on one symbol and timeframe"),
        // TC3: arrays are outside the subset
        ("a = array.new_float(10)", "t.pine:3:5: 'array.new_float': arrays are not supported in pinewire's Pine subset"),
        // TC4: drawings are outside the subset
        ("label.new(bar_index, high, \"x\")", "t.pine:3:1: 'label.new': drawings (label, line, box, table, polyline) are not supported: pinewire has no chart"),
        // TC5: arithmetic on a string
        ("x = \"a\" * 2", "t.pine:3:5: '*' needs numbers, got string and int"),
        // TC6: a float is not a condition
        ("if close\n    strategy.entry(\"L\", strategy.long)", "t.pine:3:4: the condition must be a bool, got float"),
        // TC7: a series length cannot size an indicator
        ("x = ta.sma(close, bar_index)", "t.pine:3:19: argument 'length' of ta.sma expects a simple int (a literal, an input or an expression of them), got series int"),
        // TC8: missing required argument
        ("x = ta.sma(close)", "t.pine:3:5: ta.sma needs the argument 'length'"),
        // TC9: unknown named argument
        ("x = ta.sma(close, 14, foo=1)", "t.pine:3:23: ta.sma has no parameter 'foo'"),
        // TC10: too many arguments
        ("x = ta.rsi(close, 14, 3)", "t.pine:3:23: too many arguments for ta.rsi: it takes at most 2"),
        // TC11: := on an undeclared name
        ("y := 1", "t.pine:3:1: undeclared identifier 'y': declare it with '=' before assigning with ':='"),
        // TC12: declared twice
        ("x = 1\nx = 2", "t.pine:4:1: 'x' is already declared in this scope; use ':=' to assign a new value"),
        // TC13: float into an int variable
        ("x = 1\nx := 1.5", "t.pine:4:6: cannot assign a float value to 'x', which is int"),
        // TC14: na alone has no type
        ("x = na", "t.pine:3:5: cannot tell the type of 'x' from na: declare it with a type, e.g. 'float x = na'"),
        // TC15: tuple arity
        ("[a, b] = ta.bb(close, 20, 2)", "t.pine:3:1: the tuple has 3 values but 2 names are declared"),
        // TC16: recursion
        ("f(x) => f(x - 1)\ny = f(1)", "t.pine:3:9: function 'f' calls itself: recursion is not supported in Pine"),
        // TC17: break outside a loop
        ("break", "t.pine:3:1: 'break' outside of a loop"),
        // TC18: negative history offset
        ("x = close[-1]", "t.pine:3:11: the history offset cannot be negative or na"),
        // TC19: history deeper than max_bars_back
        ("x = close[6000]", "t.pine:3:11: history offset 6000 is beyond max_bars_back (5000); raise max_bars_back in the declaration"),
        // TC20: redeclaring a built-in variable
        ("close = 1", "t.pine:3:1: cannot redeclare the built-in variable 'close'"),
        // TC21: string plus number
        ("s = \"a\" + 1", "t.pine:3:5: cannot add string and int: convert numbers with str.tostring()"),
        // TC22: 'and' on numbers
        ("x = close and true", "t.pine:3:5: 'and' needs bool operands, got float and bool"),
        // TC23: ternary branches of different types
        ("x = close > open ? 1 : \"a\"", "t.pine:3:24: both branches of '?:' must have the same type, got int and string"),
        // TC24: functions cannot modify globals
        ("g = 0\nf() =>\n    g := 1\n    g\nx = f()", "t.pine:5:5: cannot modify the global variable 'g' inside a function"),
        // TC25: plot in a local scope
        ("if close > open\n    plot(close)", "t.pine:4:10: plot cannot be called in a local scope (if, loop or function)"),
        // TC26: a function name used as a value
        ("x = ta.sma", "t.pine:3:5: 'ta.sma' is a function: call it with ( )"),
        // TC27: zero loop step
        ("for i = 0 to 10 by 0\n    x = i", "t.pine:3:20: the loop step cannot be 0"),
        // TC28: declared type does not fit
        ("int x = 1.5", "t.pine:3:9: cannot assign a float value to 'x', declared int"),
        // TC29: math.max needs two arguments
        ("x = math.max(1)", "t.pine:3:5: math.max needs at least two arguments"),
        // TC30: a tuple assigned to one name
        ("x = ta.macd(close, 12, 26, 9)", "t.pine:3:5: this returns a tuple: destructure it with [a, b, ...] = instead of assigning it to 'x'"),
        // TC31: a user function with a wrong argument name
        ("f(a) => a * 2\nx = f(b=1)", "t.pine:4:7: 'f' has no parameter 'b'"),
    ];
    for (i, (body, want)) in cases.iter().enumerate() {
        let got = error_of(&format!("{HEAD}{body}\n"));
        assert_eq!(&got, want, "TC{i}: {body}");
    }
}

#[test]
fn declaration_errors() {
    let cases: &[(&str, &str)] = &[
        // TC0: no declaration at all
        ("//@version=5\nx = 1\n", "t.pine:1:1: the script has no strategy(...) or indicator(...) declaration"),
        // TC1: a Pine version pinewire does not run
        ("//@version=6\nstrategy(\"t\")\n", "t.pine:1:1: pinewire runs Pine Script v5 (and v4 study/input forms), found //@version=6"),
        // TC2: study() is v4
        ("//@version=5\nstudy(\"t\")\n", "t.pine:2:1: 'study' is the Pine v4 name: use indicator(...) with //@version=5"),
        // TC3: unknown qty type
        ("//@version=5\nstrategy(\"t\", default_qty_type=\"lots\")\n", "t.pine:2:32: unknown default_qty_type 'lots': use strategy.fixed, strategy.percent_of_equity or strategy.cash"),
        // TC4: orders in an indicator
        ("//@version=5\nindicator(\"t\")\nstrategy.entry(\"L\", strategy.long)\n", "t.pine:3:1: strategy.entry can only be used in a strategy: declare the script with strategy(...)"),
        // TC5: negative capital
        ("//@version=5\nstrategy(\"t\", initial_capital=-5)\n", "t.pine:2:31: initial_capital must be greater than zero"),
    ];
    for (i, (src, want)) in cases.iter().enumerate() {
        assert_eq!(&error_of(src), want, "TC{i}");
    }
}
