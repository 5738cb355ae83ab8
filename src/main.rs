//! The `domxml` command line. Argument parsing and printing live here (in `cli/`); everything a
//! command computes comes from the library, so a user's crate can do the same.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
