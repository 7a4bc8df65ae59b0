//! The `skladlink` program: the window, or a headless subcommand.

use clap::Parser;

fn main() -> std::process::ExitCode {
    skladlink::cli::run(skladlink::cli::Cli::parse())
}
