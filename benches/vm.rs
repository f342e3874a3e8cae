//! VM throughput benches (filled in with the VM).
fn main() {}
