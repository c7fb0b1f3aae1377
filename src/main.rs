//! `ik-studio`: the studio when run without arguments, scripting commands otherwise.

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
