//! The built-in functions, variables and constants of pinewire's Pine subset, declared
//! once as tables that the compiler checks calls against.
//!
//! A signature lists parameters in Pine's order with their accepted type and default, so
//! that positional and named arguments (`ta.bb(close, 20, mult=2)`) resolve the same way
//! TradingView resolves them.

use super::types::{Qual, Ty, Type};

/// What a parameter accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PTy {
    /// Any numeric series (int widens).
    Float,
    /// An int series.
    Int,
    /// An int known before the first bar (literal, input or simple expression): sizes state.
    SimpleInt,
    /// A float known before the first bar.
    SimpleFloat,
    /// A bool series.
    Bool,
    /// A const bool (declaration arguments).
    ConstBool,
    /// A string.
    Str,
    /// A color.
    Color,
    /// Any type (the result type follows it).
    Any,
}

/// Default of an omitted parameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Dflt {
    /// Must be given.
    Req,
    /// `na`.
    Na,
    /// A number.
    Num(f64),
    /// A bool.
    Bool(bool),
    /// A string.
    Str(&'static str),
    /// Another built-in series (e.g. `high` for `ta.highest(length)`).
    Series(Builtin),
}

/// A parameter.
#[derive(Debug, Clone, Copy)]
pub struct P {
    /// Name for named arguments.
    pub name: &'static str,
    /// Accepted type.
    pub ty: PTy,
    /// Default.
    pub d: Dflt,
}

const fn p(name: &'static str, ty: PTy, d: Dflt) -> P {
    P { name, ty, d }
}
const fn req(name: &'static str, ty: PTy) -> P {
    p(name, ty, Dflt::Req)
}
const fn na(name: &'static str, ty: PTy) -> P {
    p(name, ty, Dflt::Na)
}

/// Result type of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ret {
    /// A fixed base type, qualified as the widest argument (or series for `ta.*`).
    Of(Ty),
    /// The unified type of the first `n` arguments (`nz`, `math.max`).
    Args(u8),
    /// No value.
    Void,
}

/// Incremental `ta.*` operators (each call site owns one state).
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaKind {
    Sma,
    Ema,
    Rma,
    Wma,
    Vwma,
    Rsi,
    Stdev,
    Bb,
    Macd,
    Atr,
    Tr,
    Crossover,
    Crossunder,
    Cross,
    Highest,
    Lowest,
    Change,
    Mom,
    Roc,
    Cci,
    Stoch,
    Supertrend,
    Dmi,
    Vwap,
    Cum,
    Barssince,
    Valuewhen,
    Pivothigh,
    Pivotlow,
    Sum,
}

/// One-argument math.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Math1 {
    Abs,
    Floor,
    Ceil,
    Sqrt,
    Log,
    Log10,
    Exp,
    Sign,
    ToInt,
}

/// Two-argument math.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Math2 {
    Pow,
    Round,
    Max,
    Min,
}

/// `strategy.*` order functions.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StratFn {
    Entry,
    Order,
    Close,
    CloseAll,
    Exit,
    Cancel,
    CancelAll,
}

/// How a call is carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impl {
    /// A `ta.*` operator.
    Ta(TaKind),
    /// One-argument math.
    Math1(Math1),
    /// Two-argument math.
    Math2(Math2),
    /// `math.max/min/avg` with any number of arguments (`Max`, `Min`, or `Pow` for avg).
    Variadic(Math2),
    /// `math.avg`.
    Avg,
    /// A `strategy.*` order call.
    Strategy(StratFn),
    /// `plot`, `plotshape`, `plotchar`, `hline`, `bgcolor`: records a series.
    Plot,
    /// `fill`, `barcolor`: accepted, nothing recorded.
    Ignore,
    /// `input`, `input.*`.
    Input(Ty),
    /// `strategy(...)`, `indicator(...)`, `study(...)`.
    Declaration,
    /// `na(x)`.
    IsNa,
    /// `nz(x, y)`.
    Nz,
    /// `fixnan(x)`.
    Fixnan,
    /// `str.tostring(x)`.
    ToString,
    /// `alert(message)`.
    Alert,
    /// `alertcondition(condition, title, message)`.
    AlertCondition,
    /// `color.new(color, transp)`.
    ColorNew,
    /// `color.rgb(r, g, b, transp)`.
    ColorRgb,
    /// `int(x)`, `float(x)`, `bool(x)`.
    Cast(Ty),
}

/// A built-in function.
#[derive(Debug, Clone, Copy)]
pub struct FnSig {
    /// Pine name.
    pub name: &'static str,
    /// Parameters in order.
    pub params: &'static [P],
    /// Result.
    pub ret: Ret,
    /// Implementation.
    pub imp: Impl,
}

const fn f(name: &'static str, params: &'static [P], ret: Ret, imp: Impl) -> FnSig {
    FnSig {
        name,
        params,
        ret,
        imp,
    }
}

use Dflt::{Bool as B, Num as N, Str as S};
use PTy::{Any, Color, ConstBool, Float, Int, SimpleFloat, SimpleInt, Str};

const SRC_LEN: &[P] = &[req("source", Float), req("length", SimpleInt)];
const PLOT: &[P] = &[
    req("series", Any),
    p("title", Str, S("")),
    na("color", Color),
    p("linewidth", Int, N(1.0)),
    na("style", Any),
    na("trackprice", ConstBool),
    na("histbase", Float),
    na("offset", Int),
    na("join", ConstBool),
    na("editable", ConstBool),
    na("show_last", Int),
    na("display", Any),
    na("format", Any),
    na("precision", Int),
    na("force_overlay", ConstBool),
];
const PLOTSHAPE: &[P] = &[
    req("series", Any),
    p("title", Str, S("")),
    na("style", Any),
    na("location", Any),
    na("color", Color),
    na("offset", Int),
    na("text", Str),
    na("textcolor", Color),
    na("editable", ConstBool),
    na("size", Any),
    na("show_last", Int),
    na("display", Any),
    na("format", Any),
    na("precision", Int),
    na("force_overlay", ConstBool),
];
const PLOTCHAR: &[P] = &[
    req("series", Any),
    p("title", Str, S("")),
    na("char", Str),
    na("location", Any),
    na("color", Color),
    na("offset", Int),
    na("text", Str),
    na("textcolor", Color),
    na("editable", ConstBool),
    na("size", Any),
    na("show_last", Int),
    na("display", Any),
    na("format", Any),
    na("precision", Int),
    na("force_overlay", ConstBool),
];
const DECL: &[P] = &[
    req("title", Str),
    p("shorttitle", Str, S("")),
    p("overlay", ConstBool, B(false)),
    na("format", Any),
    na("precision", Int),
    na("scale", Any),
    p("pyramiding", Int, N(1.0)),
    p("calc_on_order_fills", ConstBool, B(false)),
    p("calc_on_every_tick", ConstBool, B(false)),
    p("max_bars_back", Int, N(5000.0)),
    p("backtest_fill_limits_assumption", Int, N(0.0)),
    na("default_qty_type", Str),
    p("default_qty_value", Float, N(1.0)),
    p("initial_capital", Float, N(1_000_000.0)),
    p("currency", Str, S("NONE")),
    p("slippage", Int, N(0.0)),
    na("commission_type", Str),
    p("commission_value", Float, N(0.0)),
    p("process_orders_on_close", ConstBool, B(false)),
    p("close_entries_rule", Str, S("FIFO")),
    p("margin_long", Float, N(0.0)),
    p("margin_short", Float, N(0.0)),
    p("explicit_plot_zorder", ConstBool, B(false)),
    p("max_lines_count", Int, N(50.0)),
    p("max_labels_count", Int, N(50.0)),
    p("max_boxes_count", Int, N(50.0)),
    p("calc_bars_count", Int, N(0.0)),
    p("risk_free_rate", Float, N(2.0)),
    p("use_bar_magnifier", ConstBool, B(false)),
    p("fill_orders_on_standard_ohlc", ConstBool, B(false)),
    p("max_polylines_count", Int, N(50.0)),
    p("dynamic_requests", ConstBool, B(false)),
    p("behind_chart", ConstBool, B(false)),
    p("timeframe", Str, S("")),
    p("timeframe_gaps", ConstBool, B(true)),
];
const INPUT_NUM: &[P] = &[
    req("defval", Any),
    p("title", Str, S("")),
    na("minval", Float),
    na("maxval", Float),
    na("step", Float),
    na("tooltip", Str),
    na("inline", Str),
    na("group", Str),
    na("confirm", ConstBool),
    na("options", Any),
    na("display", Any),
    na("active", ConstBool),
];
const INPUT_OTHER: &[P] = &[
    req("defval", Any),
    p("title", Str, S("")),
    na("tooltip", Str),
    na("inline", Str),
    na("group", Str),
    na("confirm", ConstBool),
    na("options", Any),
    na("display", Any),
    na("active", ConstBool),
];
const INPUT_V4: &[P] = &[
    req("defval", Any),
    p("title", Str, S("")),
    na("type", Str),
    na("minval", Float),
    na("maxval", Float),
    na("confirm", ConstBool),
    na("step", Float),
    na("options", Any),
    na("tooltip", Str),
    na("inline", Str),
    na("group", Str),
    na("display", Any),
];
const ENTRY: &[P] = &[
    req("id", Str),
    req("direction", Int),
    na("qty", Float),
    na("limit", Float),
    na("stop", Float),
    na("oca_name", Str),
    na("oca_type", Str),
    na("comment", Str),
    na("alert_message", Str),
    p("when", PTy::Bool, B(true)),
    na("disable_alert", ConstBool),
];
const EXIT: &[P] = &[
    req("id", Str),
    na("from_entry", Str),
    na("qty", Float),
    na("qty_percent", Float),
    na("profit", Float),
    na("limit", Float),
    na("loss", Float),
    na("stop", Float),
    na("trail_price", Float),
    na("trail_points", Float),
    na("trail_offset", Float),
    na("oca_name", Str),
    na("comment", Str),
    na("comment_profit", Str),
    na("comment_loss", Str),
    na("comment_trailing", Str),
    na("alert_message", Str),
    na("alert_profit", Str),
    na("alert_loss", Str),
    na("alert_trailing", Str),
    p("when", PTy::Bool, B(true)),
    na("disable_alert", ConstBool),
];
const CLOSE: &[P] = &[
    req("id", Str),
    na("comment", Str),
    na("qty", Float),
    na("qty_percent", Float),
    na("alert_message", Str),
    p("immediately", ConstBool, B(false)),
    p("when", PTy::Bool, B(true)),
    na("disable_alert", ConstBool),
];
const CLOSE_ALL: &[P] = &[
    na("comment", Str),
    na("alert_message", Str),
    p("immediately", ConstBool, B(false)),
    p("when", PTy::Bool, B(true)),
    na("disable_alert", ConstBool),
];
const ONE_NUM: &[P] = &[req("number", Float)];

/// Every built-in function.
pub static FUNCTIONS: &[FnSig] = &[
    // declarations
    f("strategy", DECL, Ret::Void, Impl::Declaration),
    f("indicator", DECL, Ret::Void, Impl::Declaration),
    f("study", DECL, Ret::Void, Impl::Declaration),
    // inputs
    f("input", INPUT_V4, Ret::Args(1), Impl::Input(Ty::Na)),
    f(
        "input.int",
        INPUT_NUM,
        Ret::Of(Ty::Int),
        Impl::Input(Ty::Int),
    ),
    f(
        "input.float",
        INPUT_NUM,
        Ret::Of(Ty::Float),
        Impl::Input(Ty::Float),
    ),
    f(
        "input.bool",
        INPUT_OTHER,
        Ret::Of(Ty::Bool),
        Impl::Input(Ty::Bool),
    ),
    f(
        "input.string",
        INPUT_OTHER,
        Ret::Of(Ty::Str),
        Impl::Input(Ty::Str),
    ),
    f(
        "input.color",
        INPUT_OTHER,
        Ret::Of(Ty::Color),
        Impl::Input(Ty::Color),
    ),
    f(
        "input.source",
        INPUT_OTHER,
        Ret::Of(Ty::Float),
        Impl::Input(Ty::Float),
    ),
    // ta
    f("ta.sma", SRC_LEN, Ret::Of(Ty::Float), Impl::Ta(TaKind::Sma)),
    f("ta.ema", SRC_LEN, Ret::Of(Ty::Float), Impl::Ta(TaKind::Ema)),
    f("ta.rma", SRC_LEN, Ret::Of(Ty::Float), Impl::Ta(TaKind::Rma)),
    f("ta.wma", SRC_LEN, Ret::Of(Ty::Float), Impl::Ta(TaKind::Wma)),
    f(
        "ta.vwma",
        SRC_LEN,
        Ret::Of(Ty::Float),
        Impl::Ta(TaKind::Vwma),
    ),
    f("ta.rsi", SRC_LEN, Ret::Of(Ty::Float), Impl::Ta(TaKind::Rsi)),
    f(
        "ta.stdev",
        &[
            req("source", Float),
            req("length", SimpleInt),
            p("biased", ConstBool, B(true)),
        ],
        Ret::Of(Ty::Float),
        Impl::Ta(TaKind::Stdev),
    ),
    f(
        "ta.bb",
        &[
            req("series", Float),
            req("length", SimpleInt),
            req("mult", SimpleFloat),
        ],
        Ret::Of(Ty::Tuple(3, 0)),
        Impl::Ta(TaKind::Bb),
    ),
    f(
        "ta.macd",
        &[
            req("source", Float),
            req("fastlen", SimpleInt),
            req("slowlen", SimpleInt),
            req("siglen", SimpleInt),
        ],
        Ret::Of(Ty::Tuple(3, 0)),
        Impl::Ta(TaKind::Macd),
    ),
    f(
        "ta.atr",
        &[req("length", SimpleInt)],
        Ret::Of(Ty::Float),
        Impl::Ta(TaKind::Atr),
    ),
    f(
        "ta.tr",
        &[p("handle_na", ConstBool, B(false))],
        Ret::Of(Ty::Float),
        Impl::Ta(TaKind::Tr),
    ),
    f(
        "ta.crossover",
        &[req("source1", Float), req("source2", Float)],
        Ret::Of(Ty::Bool),
        Impl::Ta(TaKind::Crossover),
    ),
    f(
        "ta.crossunder",
        &[req("source1", Float), req("source2", Float)],
        Ret::Of(Ty::Bool),
        Impl::Ta(TaKind::Crossunder),
    ),
    f(
        "ta.cross",
        &[req("source1", Float), req("source2", Float)],
        Ret::Of(Ty::Bool),
        Impl::Ta(TaKind::Cross),
    ),
    f(
        "ta.highest",
        SRC_LEN,
        Ret::Of(Ty::Float),
        Impl::Ta(TaKind::Highest),
    ),
    f(
        "ta.lowest",
        SRC_LEN,
        Ret::Of(Ty::Float),
        Impl::Ta(TaKind::Lowest),
    ),
    f(
        "ta.change",
        &[req("source", Float), p("length", SimpleInt, N(1.0))],
        Ret::Args(1),
        Impl::Ta(TaKind::Change),
    ),
    f("ta.mom", SRC_LEN, Ret::Of(Ty::Float), Impl::Ta(TaKind::Mom)),
    f("ta.roc", SRC_LEN, Ret::Of(Ty::Float), Impl::Ta(TaKind::Roc)),
    f("ta.cci", SRC_LEN, Ret::Of(Ty::Float), Impl::Ta(TaKind::Cci)),
    f(
        "ta.stoch",
        &[
            req("source", Float),
            req("high", Float),
            req("low", Float),
            req("length", SimpleInt),
        ],
        Ret::Of(Ty::Float),
        Impl::Ta(TaKind::Stoch),
    ),
    f(
        "ta.supertrend",
        &[req("factor", SimpleFloat), req("atrPeriod", SimpleInt)],
        Ret::Of(Ty::Tuple(2, 0)),
        Impl::Ta(TaKind::Supertrend),
    ),
    f(
        "ta.dmi",
        &[req("diLength", SimpleInt), req("adxSmoothing", SimpleInt)],
        Ret::Of(Ty::Tuple(3, 0)),
        Impl::Ta(TaKind::Dmi),
    ),
    f(
        "ta.vwap",
        &[req("source", Float)],
        Ret::Of(Ty::Float),
        Impl::Ta(TaKind::Vwap),
    ),
    f(
        "ta.cum",
        &[req("source", Float)],
        Ret::Of(Ty::Float),
        Impl::Ta(TaKind::Cum),
    ),
    f(
        "ta.barssince",
        &[req("condition", PTy::Bool)],
        Ret::Of(Ty::Int),
        Impl::Ta(TaKind::Barssince),
    ),
    f(
        "ta.valuewhen",
        &[
            req("condition", PTy::Bool),
            req("source", Float),
            req("occurrence", SimpleInt),
        ],
        Ret::Of(Ty::Float),
        Impl::Ta(TaKind::Valuewhen),
    ),
    f(
        "ta.pivothigh",
        &[
            req("source", Float),
            req("leftbars", SimpleInt),
            req("rightbars", SimpleInt),
        ],
        Ret::Of(Ty::Float),
        Impl::Ta(TaKind::Pivothigh),
    ),
    f(
        "ta.pivotlow",
        &[
            req("source", Float),
            req("leftbars", SimpleInt),
            req("rightbars", SimpleInt),
        ],
        Ret::Of(Ty::Float),
        Impl::Ta(TaKind::Pivotlow),
    ),
    f(
        "math.sum",
        SRC_LEN,
        Ret::Of(Ty::Float),
        Impl::Ta(TaKind::Sum),
    ),
    // math
    f("math.abs", ONE_NUM, Ret::Args(1), Impl::Math1(Math1::Abs)),
    f(
        "math.floor",
        ONE_NUM,
        Ret::Of(Ty::Int),
        Impl::Math1(Math1::Floor),
    ),
    f(
        "math.ceil",
        ONE_NUM,
        Ret::Of(Ty::Int),
        Impl::Math1(Math1::Ceil),
    ),
    f(
        "math.sqrt",
        ONE_NUM,
        Ret::Of(Ty::Float),
        Impl::Math1(Math1::Sqrt),
    ),
    f(
        "math.log",
        ONE_NUM,
        Ret::Of(Ty::Float),
        Impl::Math1(Math1::Log),
    ),
    f(
        "math.log10",
        ONE_NUM,
        Ret::Of(Ty::Float),
        Impl::Math1(Math1::Log10),
    ),
    f(
        "math.exp",
        ONE_NUM,
        Ret::Of(Ty::Float),
        Impl::Math1(Math1::Exp),
    ),
    f(
        "math.sign",
        ONE_NUM,
        Ret::Of(Ty::Float),
        Impl::Math1(Math1::Sign),
    ),
    f(
        "math.pow",
        &[req("base", Float), req("exponent", Float)],
        Ret::Of(Ty::Float),
        Impl::Math2(Math2::Pow),
    ),
    f(
        "math.round",
        &[req("number", Float), na("precision", Int)],
        Ret::Of(Ty::Float),
        Impl::Math2(Math2::Round),
    ),
    f(
        "math.max",
        &[req("number0", Float), req("number1", Float)],
        Ret::Args(2),
        Impl::Variadic(Math2::Max),
    ),
    f(
        "math.min",
        &[req("number0", Float), req("number1", Float)],
        Ret::Args(2),
        Impl::Variadic(Math2::Min),
    ),
    f(
        "math.avg",
        &[req("number0", Float), req("number1", Float)],
        Ret::Of(Ty::Float),
        Impl::Avg,
    ),
    // na handling
    f("na", &[req("x", Any)], Ret::Of(Ty::Bool), Impl::IsNa),
    f(
        "nz",
        &[req("source", Any), na("replacement", Any)],
        Ret::Args(1),
        Impl::Nz,
    ),
    f("fixnan", &[req("source", Any)], Ret::Args(1), Impl::Fixnan),
    // strings, colors, casts
    f(
        "str.tostring",
        &[req("value", Any), na("format", Any)],
        Ret::Of(Ty::Str),
        Impl::ToString,
    ),
    f(
        "color.new",
        &[req("color", Color), req("transp", Float)],
        Ret::Of(Ty::Color),
        Impl::ColorNew,
    ),
    f(
        "color.rgb",
        &[
            req("red", Float),
            req("green", Float),
            req("blue", Float),
            p("transp", Float, N(0.0)),
        ],
        Ret::Of(Ty::Color),
        Impl::ColorRgb,
    ),
    f(
        "int",
        &[req("x", Float)],
        Ret::Of(Ty::Int),
        Impl::Cast(Ty::Int),
    ),
    f(
        "float",
        &[req("x", Float)],
        Ret::Of(Ty::Float),
        Impl::Cast(Ty::Float),
    ),
    f(
        "bool",
        &[req("x", Any)],
        Ret::Of(Ty::Bool),
        Impl::Cast(Ty::Bool),
    ),
    // strategy orders
    f(
        "strategy.entry",
        ENTRY,
        Ret::Void,
        Impl::Strategy(StratFn::Entry),
    ),
    f(
        "strategy.order",
        ENTRY,
        Ret::Void,
        Impl::Strategy(StratFn::Order),
    ),
    f(
        "strategy.close",
        CLOSE,
        Ret::Void,
        Impl::Strategy(StratFn::Close),
    ),
    f(
        "strategy.close_all",
        CLOSE_ALL,
        Ret::Void,
        Impl::Strategy(StratFn::CloseAll),
    ),
    f(
        "strategy.exit",
        EXIT,
        Ret::Void,
        Impl::Strategy(StratFn::Exit),
    ),
    f(
        "strategy.cancel",
        &[req("id", Str), p("when", PTy::Bool, B(true))],
        Ret::Void,
        Impl::Strategy(StratFn::Cancel),
    ),
    f(
        "strategy.cancel_all",
        &[p("when", PTy::Bool, B(true))],
        Ret::Void,
        Impl::Strategy(StratFn::CancelAll),
    ),
    // alerts
    f(
        "alert",
        &[req("message", Str), na("freq", Str)],
        Ret::Void,
        Impl::Alert,
    ),
    f(
        "alertcondition",
        &[
            req("condition", PTy::Bool),
            p("title", Str, S("")),
            p("message", Str, S("")),
        ],
        Ret::Void,
        Impl::AlertCondition,
    ),
    // plots
    f("plot", PLOT, Ret::Void, Impl::Plot),
    f("plotshape", PLOTSHAPE, Ret::Void, Impl::Plot),
    f("plotchar", PLOTCHAR, Ret::Void, Impl::Plot),
    f(
        "hline",
        &[
            req("price", Float),
            p("title", Str, S("")),
            na("color", Color),
            na("linestyle", Any),
            na("linewidth", Int),
            na("editable", ConstBool),
            na("display", Any),
        ],
        Ret::Void,
        Impl::Plot,
    ),
    f(
        "bgcolor",
        &[
            req("color", Color),
            na("offset", Int),
            na("editable", ConstBool),
            na("show_last", Int),
            p("title", Str, S("")),
            na("display", Any),
            na("overlay", ConstBool),
        ],
        Ret::Void,
        Impl::Plot,
    ),
    f(
        "fill",
        &[
            req("plot1", Any),
            req("plot2", Any),
            na("color", Color),
            na("title", Str),
            na("editable", ConstBool),
            na("show_last", Int),
            na("fillgaps", ConstBool),
            na("display", Any),
        ],
        Ret::Void,
        Impl::Ignore,
    ),
    f(
        "barcolor",
        &[
            req("color", Color),
            na("offset", Int),
            na("editable", ConstBool),
            na("show_last", Int),
            na("title", Str),
            na("display", Any),
        ],
        Ret::Void,
        Impl::Ignore,
    ),
];

/// Looks a function up by its Pine name.
pub fn function(name: &str) -> Option<&'static FnSig> {
    FUNCTIONS.iter().find(|s| s.name == name)
}

/// The signature of a `strategy.*` order call (every `StratFn` has one in [`FUNCTIONS`]).
pub fn strategy_signature(f: StratFn) -> &'static FnSig {
    FUNCTIONS
        .iter()
        .find(|s| s.imp == Impl::Strategy(f))
        .expect("every strategy function is in the table")
}

/// Built-in series and per-run values, each held in a fixed VM slot (its discriminant).
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Builtin {
    Open,
    High,
    Low,
    Close,
    Volume,
    Time,
    TimeClose,
    BarIndex,
    Hl2,
    Hlc3,
    Ohlc4,
    Hlcc4,
    PositionSize,
    PositionAvgPrice,
    Equity,
    OpenTrades,
    ClosedTrades,
    NetProfit,
    OpenProfit,
    InitialCapital,
    Mintick,
}

/// Number of fixed slots the built-ins occupy (slots `0..BUILTIN_SLOTS`).
pub const BUILTIN_SLOTS: u32 = Builtin::Mintick as u32 + 1;

/// A built-in variable: its slot and type.
pub fn variable(name: &str) -> Option<(Builtin, Type)> {
    use Builtin::*;
    let series = |b, ty| Some((b, Type::series(ty)));
    match name {
        "open" => series(Open, Ty::Float),
        "high" => series(High, Ty::Float),
        "low" => series(Low, Ty::Float),
        "close" => series(Close, Ty::Float),
        "volume" => series(Volume, Ty::Float),
        "time" => series(Time, Ty::Int),
        "time_close" => series(TimeClose, Ty::Int),
        "bar_index" => series(BarIndex, Ty::Int),
        "hl2" => series(Hl2, Ty::Float),
        "hlc3" => series(Hlc3, Ty::Float),
        "ohlc4" => series(Ohlc4, Ty::Float),
        "hlcc4" => series(Hlcc4, Ty::Float),
        "strategy.position_size" => series(PositionSize, Ty::Float),
        "strategy.position_avg_price" => series(PositionAvgPrice, Ty::Float),
        "strategy.equity" => series(Equity, Ty::Float),
        "strategy.opentrades" => series(OpenTrades, Ty::Int),
        "strategy.closedtrades" => series(ClosedTrades, Ty::Int),
        "strategy.netprofit" => series(NetProfit, Ty::Float),
        "strategy.openprofit" => series(OpenProfit, Ty::Float),
        "strategy.initial_capital" => Some((InitialCapital, Type::new(Qual::Simple, Ty::Float))),
        "syminfo.mintick" => Some((Mintick, Type::new(Qual::Simple, Ty::Float))),
        _ => None,
    }
}

/// A built-in constant: its value in a VM slot and its type. Strings are returned as
/// text for the compiler to intern.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ConstVal {
    /// A number (ints, bools as 0/1, enum-like constants).
    Num(f64, Ty),
    /// A string constant.
    Str(&'static str),
}

/// Colors of the `color.*` namespace (0xRRGGBBAA).
const COLORS: &[(&str, u32)] = &[
    ("color.aqua", 0x00BCD4FF),
    ("color.black", 0x363A45FF),
    ("color.blue", 0x2196F3FF),
    ("color.fuchsia", 0xE040FBFF),
    ("color.gray", 0x787B86FF),
    ("color.green", 0x4CAF50FF),
    ("color.lime", 0x00E676FF),
    ("color.maroon", 0x880E4FFF),
    ("color.navy", 0x311B92FF),
    ("color.olive", 0x808000FF),
    ("color.orange", 0xFF9800FF),
    ("color.purple", 0x9C27B0FF),
    ("color.red", 0xF23645FF),
    ("color.silver", 0xB2B5BEFF),
    ("color.teal", 0x089981FF),
    ("color.white", 0xFFFFFFFF),
    ("color.yellow", 0xFFEB3BFF),
];

/// Namespaces whose members are display options: accepted and ignored, each member a
/// distinct string constant.
const DISPLAY_NAMESPACES: &[&str] = &[
    "shape.",
    "location.",
    "size.",
    "plot.style_",
    "hline.style_",
    "display.",
    "format.",
    "position.",
    "extend.",
    "xloc.",
    "yloc.",
    "text.align_",
    "font.family_",
    "barmerge.",
    "scale.",
    "alert.freq_",
    "order.",
    "currency.",
    "input.",
];

/// Looks up a built-in constant.
pub fn constant(name: &str) -> Option<ConstVal> {
    let num = |v: f64, ty| Some(ConstVal::Num(v, ty));
    match name {
        "strategy.long" => return num(0.0, Ty::Int),
        "strategy.short" => return num(1.0, Ty::Int),
        "strategy.fixed" => return Some(ConstVal::Str("fixed")),
        "strategy.cash" => return Some(ConstVal::Str("cash")),
        "strategy.percent_of_equity" => return Some(ConstVal::Str("percent_of_equity")),
        "strategy.commission.percent" => return Some(ConstVal::Str("percent")),
        "strategy.commission.cash_per_contract" => return Some(ConstVal::Str("cash_per_contract")),
        "strategy.commission.cash_per_order" => return Some(ConstVal::Str("cash_per_order")),
        "math.pi" => return num(std::f64::consts::PI, Ty::Float),
        "math.e" => return num(std::f64::consts::E, Ty::Float),
        "math.phi" => return num(1.618_033_988_749_895, Ty::Float),
        _ => {}
    }
    if let Some(&(_, c)) = COLORS.iter().find(|(n, _)| *n == name) {
        return num(c as f64, Ty::Color);
    }
    if DISPLAY_NAMESPACES
        .iter()
        .any(|ns| name.starts_with(ns) && name.len() > ns.len())
    {
        // A function of these namespaces (input.int) is not a constant; the caller
        // checks functions first.
        return Some(ConstVal::Str(DISPLAY_OPTION));
    }
    None
}

/// The value every display option (`shape.*`, `plot.style_*`, ...) compiles to: they
/// only choose how TradingView draws, which never influences trading.
pub const DISPLAY_OPTION: &str = "display-option";

/// Constructs of Pine that pinewire deliberately does not support, with the reason the
/// error message gives.
pub fn unsupported(name: &str) -> Option<&'static str> {
    let ns = name.split('.').next().unwrap_or(name);
    Some(match ns {
        "request" => "request.* calls are not supported: a pinewire strategy runs on one symbol and timeframe",
        "array" => "arrays are not supported in pinewire's Pine subset",
        "map" => "maps are not supported in pinewire's Pine subset",
        "matrix" => "matrices are not supported in pinewire's Pine subset",
        "label" | "line" | "box" | "table" | "polyline" | "linefill" | "chart" => {
            "drawings (label, line, box, table, polyline) are not supported: pinewire has no chart"
        }
        "library" => "libraries are not supported: pinewire runs self-contained scripts",
        "ticker" => "ticker.* is not supported: a pinewire strategy runs on one symbol",
        "runtime" => "runtime.error is not supported",
        "log" => "log.* is not supported",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups() {
        // TC0: a ta function with a simple length
        let sma = function("ta.sma").expect("ta.sma");
        assert_eq!(sma.params[1].ty, PTy::SimpleInt);
        // TC1: variables have fixed slots
        assert_eq!(variable("close").map(|v| v.0), Some(Builtin::Close));
        // TC2: constants
        assert_eq!(
            constant("strategy.short"),
            Some(ConstVal::Num(1.0, Ty::Int))
        );
        assert!(matches!(
            constant("color.red"),
            Some(ConstVal::Num(_, Ty::Color))
        ));
        assert!(constant("shape.triangleup").is_some());
        // TC3: unsupported namespaces explain themselves
        assert!(unsupported("request.security").unwrap().contains("request"));
        assert!(unsupported("ta.sma").is_none());
        // TC4: every function name is unique
        for (i, a) in FUNCTIONS.iter().enumerate() {
            for b in &FUNCTIONS[i + 1..] {
                assert_ne!(a.name, b.name);
            }
        }
    }
}
