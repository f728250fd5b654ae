//! `cargo run -p frontdesk-models --example fetch -- [IDS...]`: fetch model sets into
//! `$FRONTDESK_MODELS` or `./models` (the same as `frontdesk models fetch`).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ids: Vec<String> = std::env::args().skip(1).collect();
    let paths = frontdesk_models::ModelPaths::from_env(None)?;
    frontdesk_models::fetch::fetch(&paths, &ids, &Default::default(), &mut |l| eprintln!("{l}"))?;
    Ok(())
}
