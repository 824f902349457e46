fn main() -> std::process::ExitCode {
    lagsim::cli::main()
}
