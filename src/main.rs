//! The `pinewire` command line: one binary, one subcommand per job.

fn main() -> std::process::ExitCode {
    pinewire::cli::main()
}
