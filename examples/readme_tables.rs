//! Prints the README's loss-term and knob tables from their one declaration (`atelier::terms`).
//! `cargo run --release --example readme_tables` after adding a row; a unit test checks that the
//! README holds exactly this text between its `terms-table` and `knobs-table` markers.

fn main() {
    println!("<!-- terms-table -->");
    print!("{}", atelier::terms::readme_terms_table());
    println!("<!-- /terms-table -->\n");
    println!("<!-- knobs-table -->");
    print!("{}", atelier::terms::readme_knobs_table());
    println!("<!-- /knobs-table -->");
}
