//! Reading inputs and printing what went wrong with them.

use domxml::report;
use domxml::xml::Limits;
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

/// The bytes of a file, or of standard input for `-`, never more than `max_bytes` of them in
/// memory (`domxml::input::read_bounded`).
pub(crate) fn read_input(path: &Path, max_bytes: usize) -> Result<Vec<u8>, String> {
    domxml::input::read_bounded(path, max_bytes).map_err(|e| e.to_string())
}

/// How a path is named in messages.
pub(crate) fn display_name(path: &Path) -> String {
    path.display().to_string()
}

/// Print diagnostics for a person on standard error.
pub(crate) fn eprint_diagnostics(name: &str, bytes: &[u8], diags: &[domxml::Diagnostic]) {
    let src = String::from_utf8_lossy(bytes);
    eprint!(
        "{}",
        report::human(name, &src, diags, std::io::stderr().is_terminal())
    );
}

/// Read and parse one document. On failure the error is printed (I/O: exit 2; a document that
/// does not parse: its diagnostics, exit 1) and the exit code returned.
pub(crate) fn read_and_parse(
    path: &Path,
    limits: Limits,
    verb: &str,
) -> Result<(Vec<u8>, String, domxml::codec::Parsed), ExitCode> {
    let bytes = read_input(path, limits.max_bytes).map_err(|e| {
        eprintln!("domxml: {e}");
        ExitCode::from(2)
    })?;
    let name = display_name(path);
    // Neither `fmt` nor `resolve` locates anything after reading: no source map, so no copy
    // of the text.
    match domxml::codec::parse_bytes_without_map(&bytes, limits) {
        Ok(parsed) => Ok((bytes, name, parsed)),
        Err(diags) => {
            let errors: Vec<_> = diags.into_iter().filter(|d| d.is_error()).collect();
            eprint_diagnostics(&name, &bytes, &errors);
            eprintln!("domxml: {name} does not parse; nothing was {verb}");
            Err(ExitCode::from(1))
        }
    }
}
