/// mimalloc instead of glibc's malloc: a request allocates and frees many small buffers
/// on several threads, which glibc answers with lock contention and consolidation
/// (a fifth of a vote's CPU under load; see docs/decisions/0010-vote-path.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cadenza::cli::run()
}
