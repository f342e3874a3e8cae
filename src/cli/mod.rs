//! The `pinewire` command line (clap). Each subcommand is a function here or in its own
//! file; errors are reported with context and a non-zero exit status.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use crate::backtest::report;
use crate::backtest::runner::{self, RunOptions};
use crate::history;

pub mod record;
pub mod sim;
use crate::pine::{self, program::Program, SourceFile};

/// pinewire: a low-latency Binance spot trading engine running Pine Script strategies.
#[derive(Debug, Parser)]
#[command(name = "pinewire", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compile a strategy and report errors (file:line:col with a caret), nothing else.
    Check {
        /// The Pine script.
        script: PathBuf,
        /// Print the bytecode.
        #[arg(long)]
        dump: bool,
    },
    /// Run a strategy over historical klines and report like TradingView's strategy tester.
    Backtest(Box<BacktestArgs>),
    /// Replay a capture through the decoder and the local order book and check the book's
    /// best bid/ask against every bookTicker with the book's update id.
    BookCheck {
        /// Capture files (gzip, `<ns> <json>` lines), read in order as one stream.
        #[arg(required = true)]
        captures: Vec<PathBuf>,
        /// The symbol's tickSize (price increment).
        #[arg(long, default_value = "0.01")]
        tick: String,
        /// Quantity increment of book levels: the wire's precision (book quantities are not
        /// always multiples of the order stepSize).
        #[arg(long, default_value = "0.00000001")]
        qty: String,
    },
    /// Serve a Binance-compatible exchange simulator (WebSocket streams and REST market
    /// data) over a recorded capture or a market synthesized from kline files.
    Sim(Box<sim::SimArgs>),
    /// Record Binance streams and the REST depth snapshots (at start and after every
    /// resync) to hourly rotated gzip capture files that `book-check` and `sim` replay.
    Record(Box<record::RecordArgs>),
}

/// Arguments of `pinewire backtest`.
#[derive(Debug, clap::Args)]
pub struct BacktestArgs {
    /// The Pine script.
    pub script: PathBuf,
    /// Kline files: Binance CSV (.csv, .csv.gz), freqtrade JSON (.json, .json.gz) or
    /// feather. Several files run the strategy once per symbol.
    #[arg(long, num_args = 1.., required = true)]
    pub data: Vec<PathBuf>,
    /// Symbol, when the file name does not say (e.g. BTCUSDT).
    #[arg(long)]
    pub symbol: Option<String>,
    /// Timeframe, when the file name does not say (1m, 5m, 1h, 1d, ...).
    #[arg(long)]
    pub timeframe: Option<String>,
    /// First bar to run: 2024-03-01, 2024-03-01T12:00:00Z or ms since the epoch.
    #[arg(long)]
    pub from: Option<String>,
    /// Last bar to run (inclusive), same forms as --from.
    #[arg(long)]
    pub to: Option<String>,
    /// Set an input: --set length=30 (by variable name or input title). Repeatable.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Write the closed trades as CSV.
    #[arg(long)]
    pub trades: Option<PathBuf>,
    /// Write the plotted series as CSV (one file per symbol when several).
    #[arg(long)]
    pub plots: Option<PathBuf>,
    /// Write a self-contained HTML report.
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Print the results as JSON instead of the text summary.
    #[arg(long)]
    pub json: bool,
}

/// Parses the command line and runs the chosen subcommand.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Check { script, dump } => check(&script, dump),
        Command::Backtest(args) => backtest(&args),
        Command::BookCheck {
            captures,
            tick,
            qty,
        } => book_check(&captures, &tick, &qty),
        Command::Sim(args) => sim::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Record(args) => record::run(&args).map(|()| ExitCode::SUCCESS),
    }
}

fn book_check(captures: &[PathBuf], tick: &str, qty: &str) -> Result<ExitCode> {
    let inc = |s: &str, flag: &str| {
        crate::feed::fixed::Increment::parse(s).map_err(|e| anyhow::anyhow!("{flag} '{s}': {e}"))
    };
    let r = crate::feed::book_check::run(captures, inc(tick, "--tick")?, inc(qty, "--qty")?)?;
    println!(
        "checked={} mismatched={} gaps={} resyncs={} undecodable={} messages={}",
        r.checked, r.mismatched, r.gaps, r.resyncs, r.undecodable, r.messages
    );
    Ok(if r.mismatched == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Reads and compiles a script; compile errors are printed rendered (file:line:col and
/// a caret) and become `Ok(None)`.
fn load_program(path: &Path) -> Result<Option<Program>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the script {}", path.display()))?;
    let file = SourceFile::new(path.display().to_string(), text);
    match pine::compile(&file) {
        Ok(p) => Ok(Some(p)),
        Err(e) => {
            eprintln!("{}", e.render(&file));
            Ok(None)
        }
    }
}

fn check(path: &Path, dump: bool) -> Result<ExitCode> {
    let Some(program) = load_program(path)? else {
        return Ok(ExitCode::FAILURE);
    };
    if dump {
        print!("{}", program.disassemble());
    } else {
        println!(
            "{}: ok ({} \"{}\", {} instructions, {} inputs, {} plots)",
            path.display(),
            if program.settings.is_strategy {
                "strategy"
            } else {
                "indicator"
            },
            program.settings.title,
            program.code.len(),
            program.inputs.len(),
            program.plots.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn backtest(args: &BacktestArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let Some(program) = load_program(&args.script)? else {
        return Ok(ExitCode::FAILURE);
    };
    let mut inputs = Vec::new();
    for s in &args.set {
        let Some((k, v)) = s.split_once('=') else {
            bail!("--set expects NAME=VALUE, got '{s}'");
        };
        inputs.push((k.trim().to_string(), v.trim().to_string()));
    }
    let time = |s: &Option<String>, flag: &str| -> Result<Option<i64>> {
        s.as_deref()
            .map(|t| report::parse_time(t).map_err(|e| anyhow::anyhow!("{flag}: {e}")))
            .transpose()
    };
    let opts = RunOptions {
        from_ms: time(&args.from, "--from")?,
        to_ms: time(&args.to, "--to")?,
        inputs,
        progress: std::io::stderr().is_terminal(),
    };
    let mut series = Vec::with_capacity(args.data.len());
    for path in &args.data {
        let s = history::load(path, args.symbol.as_deref(), args.timeframe.as_deref())
            .with_context(|| format!("cannot load {}", path.display()))?;
        series.push(s);
    }
    let loaded = started.elapsed();
    let run = runner::run(&program, &series, &opts)?;
    let elapsed = started.elapsed();

    if let Some(path) = &args.trades {
        write_file(path, |w| report::write_trades_csv(&run, w))?;
    }
    if let Some(path) = &args.plots {
        if run.runs.len() == 1 {
            write_file(path, |w| report::write_plots_csv(&run.runs[0], w))?;
        } else {
            for r in &run.runs {
                let p = per_symbol_path(path, &r.symbol);
                write_file(&p, |w| report::write_plots_csv(r, w))?;
            }
        }
    }
    if let Some(path) = &args.report {
        write_file(path, |w| report::write_html(&run, w))?;
    }
    if args.json {
        let v = report::to_json(&run);
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        if run.settings.is_strategy {
            print!("{}", report::summary_text(&run));
        } else {
            println!("Indicator: {}", run.settings.title);
        }
        for r in &run.runs {
            println!(
                "{} {}: {} bars, {} plots, {} alerts",
                r.symbol,
                r.timeframe,
                r.bars.len(),
                r.plots.titles.len(),
                r.alerts.len()
            );
            for (bar, msg) in r.alerts.iter().rev().take(3).rev() {
                let t = r.bars.get(*bar).map_or(0, |b| b.time_ms);
                println!("  alert {}: {msg}", report::iso8601_utc(t));
            }
        }
        let bars: usize = run.runs.iter().map(|r| r.bars.len()).sum();
        println!(
            "\n{bars} bars in {:.1} ms (loading {:.1} ms)",
            elapsed.as_secs_f64() * 1e3,
            loaded.as_secs_f64() * 1e3
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `plots.csv` + `BTCUSDT` -> `plots_BTCUSDT.csv`.
fn per_symbol_path(path: &Path, symbol: &str) -> PathBuf {
    let stem = path
        .file_stem()
        .map_or_else(|| "plots".into(), |s| s.to_string_lossy());
    let ext = path
        .extension()
        .map_or_else(|| "csv".into(), |s| s.to_string_lossy());
    path.with_file_name(format!("{stem}_{symbol}.{ext}"))
}

fn write_file(
    path: &Path,
    f: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<()> {
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut w = BufWriter::new(file);
    f(&mut w).with_context(|| format!("cannot write {}", path.display()))?;
    w.flush()
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
