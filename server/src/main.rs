use clap::Parser;

/// mimalloc instead of glibc's malloc: a fifth of the server's CPU under page load went to
/// glibc's allocator (perf), and its per-thread arenas kept memory it no longer used.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let cli = server::cli::Cli::parse();
    if let Err(e) = server::cli::run(cli).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
