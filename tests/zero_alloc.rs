//! The VM's bar loop allocates nothing after the first bar: a counting global allocator
//! watches every example strategy run over real bars.

use pinewire::pine::{compile, Bar, SourceFile, StrategyView, Vm};

#[path = "support/alloc_counter.rs"]
mod alloc_counter;

#[test]
fn vm_allocates_nothing_after_the_first_bar() {
    let data = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/binance/BTC_USDT-1h.json.gz"
    );
    let bars: Vec<Bar> = pinewire::history::load(std::path::Path::new(data), None, None)
        .expect("bundled data")
        .bars;
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/pine/examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).expect("examples") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "pine") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read");
        let program =
            compile(&SourceFile::new(path.display().to_string(), text)).expect("compiles");
        let mut vm = Vm::new(&program, &[]).expect("vm");
        // A view that changes, as a broker's would.
        let mut view = StrategyView {
            equity: 10_000.0,
            ..StrategyView::default()
        };
        vm.run_bar(&bars[0], &view).expect("first bar");
        let allocs_before = alloc_counter::thread_allocs();
        let mut commands = 0;
        for (i, b) in bars[1..].iter().enumerate() {
            view.position_size = (i % 7) as f64;
            view.position_avg_price = b.open;
            vm.run_bar(b, &view).expect("runs");
            commands += vm.commands().len();
        }
        let allocs_during = alloc_counter::thread_allocs() - allocs_before;
        let n = allocs_during;
        assert_eq!(
            n,
            0,
            "{}: {n} allocations after the first bar",
            path.display()
        );
        assert!(
            commands > 0 || !program.settings.is_strategy,
            "{}: no orders at all",
            path.display()
        );
        checked += 1;
    }
    assert!(checked >= 7, "only {checked} examples found");
}
