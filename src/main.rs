fn main() -> std::process::ExitCode {
    cadenza::cli::run()
}
