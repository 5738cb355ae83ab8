//! `domxml fmt`.

use super::input::read_and_parse;
use domxml::xml::Limits;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

pub(crate) fn run(path: &Path, check: bool, in_place: bool, limits: Limits) -> ExitCode {
    if in_place && path.as_os_str() == "-" {
        eprintln!("domxml: --in-place needs a file, not standard input");
        return ExitCode::from(2);
    }
    let (bytes, name, parsed) = match read_and_parse(path, limits, "formatted") {
        Ok(x) => x,
        Err(code) => return code,
    };
    let text = domxml::codec::write_document(&parsed);
    if check {
        return if text.as_bytes() == bytes.as_slice() {
            ExitCode::SUCCESS
        } else {
            eprintln!("domxml: {name} is not in canonical form (run `domxml fmt -i {name}`)");
            ExitCode::from(1)
        };
    }
    if in_place {
        if text.as_bytes() == bytes.as_slice() {
            return ExitCode::SUCCESS;
        }
        // Write beside the file and rename, so an interrupted write never truncates it.
        let tmp = path.with_extension("domxml-fmt.tmp");
        let res = std::fs::write(&tmp, text.as_bytes()).and_then(|_| std::fs::rename(&tmp, path));
        return match res {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                eprintln!("domxml: cannot write {name}: {e}");
                ExitCode::from(2)
            }
        };
    }
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    super::exiting((bytes, parsed, text));
    ExitCode::SUCCESS
}
