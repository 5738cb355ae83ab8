//! `domxml convert` and `domxml snapshot`.

use super::input::{display_name, eprint_diagnostics, read_input};
use domxml::emit::{Caps, QemuVersion};
use domxml::snapshot::{check_dir, Status};
use domxml::xml::Limits;
use domxml::{Converted, Error, Host, Options};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OutFormat {
    /// libvirt's `.args` layout: one option and its value per line, shell-quoted.
    Shell,
    /// A JSON array of strings, the emulator first.
    ArgvJson,
}

#[derive(clap::Args, Debug)]
pub(crate) struct ConvertArgs {
    /// The QEMU release to target (MAJOR.MINOR): selects JSON or legacy syntax and
    /// version-dependent errors. See docs/qemu-versions.md.
    #[arg(long, value_name = "X.Y", default_value_t = QemuVersion::DEFAULT)]
    qemu_version: QemuVersion,
    /// Root under which `sys/` is read to find the /dev/sgN of SCSI hostdevs and the LUs of
    /// whole-host passthrough controllers (read only when the domain has them).
    #[arg(long, value_name = "DIR", default_value = "/")]
    sysfs_root: PathBuf,
    /// The domain's runtime directory (QMP socket, pr-helper socket); default /run/domxml/NAME.
    #[arg(long, value_name = "DIR")]
    run_dir: Option<PathBuf>,
    /// Directory of secret files: an <auth> secret becomes `-object secret,file=DIR/NAME`
    /// (NAME = the secret's uuid, else its usage).
    #[arg(long, value_name = "DIR", default_value = "/etc/domxml/secrets")]
    secrets_dir: PathBuf,
    /// Fail when a secret file is missing.
    #[arg(long)]
    check_secrets: bool,
    /// Treat the QEMU build as lacking a device (as libvirt's tests strip capabilities), e.g.
    /// `--without lsi --without virtio-scsi`. Repeatable.
    #[arg(long, value_name = "DEVICE")]
    without: Vec<String>,
}

impl ConvertArgs {
    fn options(&self) -> Options {
        let mut caps = Caps::of(self.qemu_version);
        caps.without = self.without.iter().cloned().collect();
        let mut o = Options::default()
            .caps(caps)
            .secrets_dir(&self.secrets_dir)
            .check_secrets(self.check_secrets);
        if let Some(d) = &self.run_dir {
            o = o.run_dir(d);
        }
        o
    }

    fn host(&self) -> Host<'_> {
        Host::Sysfs(&self.sysfs_root)
    }
}

/// Print why a document did not convert; the exit code: 1 for the document, 2 for the host.
fn report_failure(name: &str, bytes: &[u8], e: &Error) -> ExitCode {
    match e {
        Error::Invalid(diags) => {
            eprint_diagnostics(name, bytes, diags);
            eprintln!("domxml: {name} is invalid; no command line was built");
            ExitCode::from(1)
        }
        Error::Emit(e) => {
            eprint_diagnostics(name, bytes, std::slice::from_ref(e.diagnostic()));
            eprintln!("domxml: {name}: {e}");
            ExitCode::from(1)
        }
        Error::Resolve(e) => {
            eprintln!(
                "domxml: {name}: cannot read the host: {}",
                domxml::resolve::error::chain(e)
            );
            ExitCode::from(2)
        }
        other => {
            eprintln!("domxml: {name}: {other}");
            ExitCode::from(1)
        }
    }
}

fn print_notes(c: &Converted) {
    for w in &c.host_warnings {
        eprintln!("domxml: warning: {w}");
    }
    for n in &c.notes {
        eprintln!("domxml: note: {n}");
    }
}

pub(crate) fn run(file: &Path, conv: &ConvertArgs, format: OutFormat, limits: Limits) -> ExitCode {
    let bytes = match read_input(file, limits.max_bytes) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("domxml: {e}");
            return ExitCode::from(2);
        }
    };
    let name = display_name(file);
    let c = match domxml::convert_bytes(&bytes, limits, &conv.options(), conv.host()) {
        Ok(c) => c,
        Err(e) => return report_failure(&name, &bytes, &e),
    };
    print_notes(&c);
    let mut stdout = std::io::stdout().lock();
    let _ = match format {
        // Written as it is made: 10,000 disks make 2.5 MB of text, never held whole.
        OutFormat::Shell => domxml::emit::write_shell(&c.args, &mut stdout),
        OutFormat::ArgvJson => stdout.write_all(domxml::emit::to_argv_json(&c.args).as_bytes()),
    };
    super::exiting((bytes, c));
    ExitCode::SUCCESS
}

pub(crate) fn snapshot(dir: &Path, conv: &ConvertArgs, update: bool, limits: Limits) -> ExitCode {
    let entries = match check_dir(dir, &conv.options(), conv.host(), limits, update) {
        Ok(e) => e,
        Err(e) => {
            eprintln!(
                "domxml: cannot read or write snapshots in {}: {e}",
                dir.display()
            );
            return ExitCode::from(2);
        }
    };
    let (mut ok, mut drift, mut missing, mut failed) = (0usize, 0usize, 0usize, 0usize);
    for e in &entries {
        let name = display_name(&e.xml);
        match &e.status {
            Status::Matches | Status::Written => ok += 1,
            Status::Drifted { diff } => {
                drift += 1;
                println!(
                    "--- {} (stored)\n+++ {name} (converted now)",
                    e.args.display()
                );
                print!("{diff}");
            }
            Status::Missing => {
                missing += 1;
                println!(
                    "missing snapshot {} (run `domxml snapshot --update {}`)",
                    e.args.display(),
                    dir.display()
                );
            }
            Status::Failed(err) => {
                failed += 1;
                let bytes = read_input(&e.xml, limits.max_bytes).unwrap_or_default();
                report_failure(&name, &bytes, err);
            }
            _ => {}
        }
    }
    if update {
        println!("wrote {ok} snapshot(s); {failed} domain(s) failed to convert");
    } else {
        println!(
            "{ok} of {} snapshot(s) match; {drift} drifted, {missing} missing, {failed} failed to convert",
            entries.len()
        );
    }
    if drift + missing + failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
