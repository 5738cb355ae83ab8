//! The `domxml` command line. Argument parsing and printing live here (in `cli/`); everything a
//! command computes comes from the library, so a user's crate can do the same.

mod cli;

/// The binary allocates with mimalloc, not the C library's malloc. A big domain is mostly
/// fresh memory touched once (the tree, the model, the command line), and on a virtual
/// machine each first touch of a 4 KiB page is a fault costing microseconds: 10,000 disks
/// made about 7,500 of them, about a quarter of its CPU time. mimalloc takes its memory in large
/// aligned regions and asks for transparent huge pages there (granted when
/// `/sys/kernel/mm/transparent_hugepage/enabled` is `madvise` or `always`), so the same run
/// takes a few hundred faults. The price is resident memory counted in 2 MiB pages; see
/// docs/performance.md. The library leaves the choice of allocator to its user.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
