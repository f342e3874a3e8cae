//! Golden files: the bytecode listing (`pinewire check --dump`) of the example strategies.
//! A change in code generation shows up as a diff here; when it is intended, regenerate
//! with `UPDATE_GOLDEN=1 cargo test --test golden_dump` and review the diff.

use pinewire::pine::{compile, SourceFile};

fn check(example: &str) {
    let root = env!("CARGO_MANIFEST_DIR");
    let src_path = format!("pine/examples/{example}.pine");
    let text = std::fs::read_to_string(format!("{root}/{src_path}")).expect("example");
    let program = compile(&SourceFile::new(src_path, text)).expect("compiles");
    let got = program.disassemble();
    let golden = format!("{root}/tests/golden/{example}.dump");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &got).expect("write golden");
        return;
    }
    let want = std::fs::read_to_string(&golden).expect("golden file (UPDATE_GOLDEN=1 creates it)");
    assert!(
        got == want,
        "{example}: listing differs from {golden}:\n{got}"
    );
}

#[test]
fn example_listings_match_their_golden_files() {
    // TC0..TC2: the three strategies of the design document
    check("mean_reversion");
    check("crypto_mean_reversion");
    check("rsi_levels");
    // TC3: loops over history, exits in ticks
    check("atr_breakout");
}
