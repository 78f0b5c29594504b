fn main() {
    std::process::exit(tessera_cli::main());
}
