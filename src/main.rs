//! `ik-studio`: the studio when run without arguments, scripting commands otherwise.

#[cfg(feature = "viewer")]
mod app;
mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
