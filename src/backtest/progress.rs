//! A progress bar on stderr for long backtests.
//!
//! The runner calls [`Progress::inc`] once per bar, so the common path is one addition
//! and one comparison: the clock is read only every [`CHECK_EVERY`] steps, and the line
//! is redrawn at most every [`REDRAW`]. Nothing at all is shown unless stderr is a
//! terminal (a pipe or a log file gets no `\r` noise) and the run has lasted
//! [`SHOW_AFTER`] (a run that finishes sooner never flickers a bar).

use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant};

/// Steps between two reads of the clock.
pub const CHECK_EVERY: u64 = 4096;
/// Least time between two redraws (about ten a second).
pub const REDRAW: Duration = Duration::from_millis(100);
/// A run shorter than this shows nothing.
pub const SHOW_AFTER: Duration = Duration::from_millis(500);
/// Runs with fewer steps than this never show a bar: they cannot last long enough to
/// need one.
pub const MIN_TOTAL: u64 = 10_000;

const BAR_WIDTH: usize = 30;

/// A one-line progress bar (`label [#####.....] 45.2%  63,456/140,614  1.2s  ETA 1.5s`)
/// redrawn in place on stderr; see the module doc for when it shows.
///
/// Dropping it clears the line as [`Progress::finish`] does, so an early return on an
/// error leaves no half-drawn bar behind.
pub struct Progress {
    label: String,
    total: u64,
    pos: u64,
    /// `pos` at which the clock is read next; `u64::MAX` when disabled.
    next_check: u64,
    start: Instant,
    last_draw: Option<Instant>,
    show_after: Duration,
    redraw: Duration,
    out: Box<dyn Write + Send>,
}

impl Progress {
    /// A bar for `total` steps named `label`. It draws only when stderr is a terminal
    /// and `total` is at least [`MIN_TOTAL`]; otherwise every call is a no-op.
    pub fn new(label: &str, total: u64) -> Progress {
        let enabled = io::stderr().is_terminal() && total >= MIN_TOTAL;
        Progress::with_output(label, total, enabled, Box::new(io::stderr()))
    }

    fn with_output(label: &str, total: u64, enabled: bool, out: Box<dyn Write + Send>) -> Progress {
        Progress {
            label: label.to_string(),
            total,
            pos: 0,
            next_check: if enabled { CHECK_EVERY } else { u64::MAX },
            start: Instant::now(),
            last_draw: None,
            show_after: SHOW_AFTER,
            redraw: REDRAW,
            out,
        }
    }

    /// Advances by `n` steps.
    #[inline]
    pub fn inc(&mut self, n: u64) {
        self.pos = self.pos.saturating_add(n);
        if self.pos >= self.next_check {
            self.tick();
        }
    }

    /// Moves to step `pos` (for callers that know where they are, not how far they went).
    #[inline]
    pub fn set(&mut self, pos: u64) {
        self.pos = pos;
        if self.pos >= self.next_check {
            self.tick();
        }
    }

    /// Clears the line if anything was drawn, and draws nothing after. Idempotent.
    pub fn finish(&mut self) {
        self.next_check = u64::MAX;
        if self.last_draw.take().is_some() {
            // Progress output is cosmetic: a closed or full stderr must not fail the run.
            let _ = self.out.write_all(b"\r\x1b[K");
            let _ = self.out.flush();
        }
    }

    #[cold]
    #[inline(never)]
    fn tick(&mut self) {
        self.next_check = self.pos.saturating_add(CHECK_EVERY);
        let now = Instant::now();
        let elapsed = now.duration_since(self.start);
        if elapsed < self.show_after {
            return;
        }
        if let Some(last) = self.last_draw {
            if now.duration_since(last) < self.redraw {
                return;
            }
        }
        self.last_draw = Some(now);
        let line = render(&self.label, self.pos, self.total, elapsed);
        // Cosmetic output: errors writing to stderr are ignored on purpose.
        let _ = self.out.write_all(line.as_bytes());
        let _ = self.out.flush();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// `1,234,567`.
fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.1}s")
    } else {
        let whole = d.as_secs();
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}

/// The line drawn: carriage return, label, bar, percent, counts, elapsed time and an
/// estimate of the time left, then "clear to end of line".
fn render(label: &str, pos: u64, total: u64, elapsed: Duration) -> String {
    let frac = if total == 0 {
        1.0
    } else {
        (pos as f64 / total as f64).min(1.0)
    };
    let filled = ((frac * BAR_WIDTH as f64) as usize).min(BAR_WIDTH);
    let eta = if pos > 0 && pos < total {
        let left = elapsed.as_secs_f64() * (total - pos) as f64 / pos as f64;
        format!("  ETA {}", secs(Duration::from_secs_f64(left)))
    } else {
        String::new()
    };
    format!(
        "\r{label} [{}{}] {:5.1}%  {}/{}  {}{eta}\x1b[K",
        "#".repeat(filled),
        ".".repeat(BAR_WIDTH - filled),
        frac * 100.0,
        thousands(pos),
        thousands(total),
        secs(elapsed),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Shared {
        fn bytes(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
            self.0.lock().unwrap_or_else(|e| e.into_inner())
        }
    }

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.bytes().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.bytes()).into_owned()
        }
    }

    fn immediate(total: u64, enabled: bool) -> (Progress, Shared) {
        let sink = Shared::default();
        let mut p = Progress::with_output("backtest", total, enabled, Box::new(sink.clone()));
        p.show_after = Duration::ZERO;
        p.redraw = Duration::ZERO;
        (p, sink)
    }

    #[test]
    fn render_cases() {
        let cases: &[(u64, u64, u64, &str)] = &[
            // TC0: start
            (0, 100, 0, "\rbacktest [..............................]   0.0%  0/100  0.0s\x1b[K"),
            // TC1: half way, ETA equals elapsed
            (
                50_000,
                100_000,
                2000,
                "\rbacktest [###############...............]  50.0%  50,000/100,000  2.0s  ETA 2.0s\x1b[K",
            ),
            // TC2: done, no ETA
            (10, 10, 61_000, "\rbacktest [##############################] 100.0%  10/10  1m01s\x1b[K"),
            // TC3: past the total is clamped to 100%
            (20, 10, 0, "\rbacktest [##############################] 100.0%  20/10  0.0s\x1b[K"),
            // TC4: empty total
            (0, 0, 0, "\rbacktest [##############################] 100.0%  0/0  0.0s\x1b[K"),
        ];
        for (i, (pos, total, ms, want)) in cases.iter().enumerate() {
            let got = render("backtest", *pos, *total, Duration::from_millis(*ms));
            assert_eq!(got, *want, "case {i}");
        }
    }

    #[test]
    fn draws_only_at_check_points_and_clears() {
        // TC0: one step at a time: the clock is read (and the bar drawn) only every
        // CHECK_EVERY steps
        let (mut p, sink) = immediate(100_000, true);
        for _ in 0..(2 * CHECK_EVERY + 5) {
            p.inc(1);
        }
        let text = sink.text();
        assert_eq!(text.matches('\r').count(), 2, "{text:?}");
        assert!(text.contains("4,096/100,000"), "{text:?}");
        assert!(text.contains("8,192/100,000"), "{text:?}");
        // TC1: set() jumps and draws
        p.set(50_000);
        assert!(
            sink.text().contains(" 50.0%  50,000/100,000"),
            "{:?}",
            sink.text()
        );
        // TC2: finish clears the line, once
        p.finish();
        assert!(sink.text().ends_with("\r\x1b[K"));
        let len = sink.text().len();
        p.finish();
        p.inc(CHECK_EVERY * 4);
        drop(p);
        assert_eq!(sink.text().len(), len, "nothing after finish");
    }

    #[test]
    fn disabled_or_young_or_throttled_draws_nothing() {
        // TC0: disabled (not a terminal): nothing, even on finish
        let (mut p, sink) = immediate(1_000_000, false);
        p.inc(1_000_000);
        p.finish();
        assert_eq!(sink.text(), "");
        // TC1: before SHOW_AFTER: nothing, and finish has nothing to clear
        let (mut p, sink) = immediate(1_000_000, true);
        p.show_after = Duration::from_secs(3600);
        p.inc(CHECK_EVERY * 10);
        p.finish();
        assert_eq!(sink.text(), "");
        // TC2: redraw throttle: one draw, then none within the interval
        let (mut p, sink) = immediate(1_000_000, true);
        p.redraw = Duration::from_secs(3600);
        for _ in 0..10 {
            p.inc(CHECK_EVERY);
        }
        assert_eq!(sink.text().matches('\r').count(), 1, "{:?}", sink.text());
        // TC3: drop clears a drawn line
        drop(p);
        assert!(sink.text().ends_with("\r\x1b[K"));
    }

    #[test]
    fn new_is_silent_for_short_runs() {
        // TC0: below MIN_TOTAL the bar is disabled whatever stderr is
        let p = Progress::new("x", MIN_TOTAL - 1);
        assert_eq!(p.next_check, u64::MAX);
    }
}
