fn main() {
    std::process::exit(atelier::cli::main());
}
