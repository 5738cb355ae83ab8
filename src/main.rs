//! The `domxml` command line.

use clap::{CommandFactory, Parser, Subcommand};
use domxml::diag::Severity;
use domxml::report::{self, Format};
use domxml::xml::Limits;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Read libvirt-style domain and storage-pool XML: validate it with libvirt's SCSI rules and
/// format it canonically.
#[derive(Parser, Debug)]
#[command(name = "domxml", version, about, long_about = None, propagate_version = true)]
struct Cli {
    /// Refuse inputs larger than this many bytes.
    #[arg(long, global = true, default_value_t = Limits::default().max_bytes, value_name = "BYTES")]
    max_bytes: usize,
    /// Refuse inputs whose elements nest deeper than this.
    #[arg(long, global = true, default_value_t = Limits::default().max_depth, value_name = "N")]
    max_depth: usize,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check domain or pool XML files. Exit 0 when every file is valid, 1 when any is invalid,
    /// 2 on usage or I/O errors.
    Validate {
        /// Treat warnings (unknown elements and attributes) as errors.
        #[arg(long)]
        strict: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Also resolve every host device (SCSI hostdevs, lun disks, whole-host controllers,
        /// scsi pool adapters) under this root (a directory containing `sys/`, e.g. `/` or a
        /// `domxml sysfs-snapshot`); one that does not resolve is an error (E092).
        #[arg(long, value_name = "DIR")]
        sysfs_root: Option<PathBuf>,
        /// Files to check; `-` reads standard input.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Print a document in canonical form: libvirt's layout and attribute order, with anything
    /// domxml does not model kept. Formats documents that fail validation too.
    Fmt {
        /// Exit 1 (printing nothing) when the file is not already canonical.
        #[arg(long, conflicts_with = "in_place")]
        check: bool,
        /// Rewrite the file instead of printing.
        #[arg(long, short = 'i')]
        in_place: bool,
        /// The file; `-` reads standard input.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Resolve every SCSI device of a domain or pool that names host hardware (SCSI hostdevs,
    /// lun disks, whole-host controllers, a scsi pool's adapter) to today's host number,
    /// H:B:T:L, /dev/sgN and /dev/sdX, read from sysfs. Exit 0 when everything resolves, 1
    /// when something does not (or the file does not parse), 2 on usage or I/O errors.
    Resolve {
        /// The directory that contains the host's `sys/` (a `domxml sysfs-snapshot` works).
        #[arg(long, value_name = "DIR", default_value = "/")]
        sysfs_root: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ResolveFormat::Human)]
        format: ResolveFormat,
        /// The domain or pool XML; `-` reads standard input.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Record the part of a host's sysfs that `resolve` reads (SCSI hosts, FC hosts, LUs and
    /// the links to them) into a new directory that `--sysfs-root` accepts, to resolve
    /// offline exactly as on this host.
    SysfsSnapshot {
        /// The directory that contains the sysfs to record.
        #[arg(long, value_name = "DIR", default_value = "/")]
        root: PathBuf,
        /// A new (or empty) directory to write.
        #[arg(value_name = "OUT")]
        out: PathBuf,
    },
    /// Print the QEMU command line that starts a domain, as libvirt would build it. Exit 0 on
    /// success, 1 when the domain is invalid or a host device cannot be resolved, 2 for usage
    /// or I/O errors.
    Convert {
        #[command(flatten)]
        conv: ConvertArgs,
        /// Output layout: libvirt's `.args` shell layout, or a JSON array (emulator first).
        #[arg(long, value_enum, default_value_t = OutFormat::Shell)]
        format: OutFormat,
        /// The domain XML; `-` reads standard input.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Compare every NAME.xml under DIR with the NAME.args beside it (the `--format shell`
    /// output). Exit 1 on any drift or missing snapshot; `--update` writes them instead.
    Snapshot {
        #[command(flatten)]
        conv: ConvertArgs,
        /// Write NAME.args files instead of comparing.
        #[arg(long)]
        update: bool,
        /// The directory holding the domain XML files.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum OutFormat {
    /// libvirt's `.args` layout: one option and its value per line, shell-quoted.
    Shell,
    /// A JSON array of strings, the emulator first.
    ArgvJson,
}

#[derive(clap::Args, Debug)]
struct ConvertArgs {
    /// The QEMU release to target (MAJOR.MINOR): selects JSON or legacy syntax and
    /// version-dependent errors. See docs/qemu-versions.md.
    #[arg(long, value_name = "X.Y", default_value_t = domxml::emit::QemuVersion::DEFAULT)]
    qemu_version: domxml::emit::QemuVersion,
    /// Root under which `sys/` is read to find the /dev/sgN of SCSI hostdevs and the LUs of
    /// whole-host passthrough controllers.
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
    fn options(&self) -> domxml::emit::Options {
        let mut caps = domxml::emit::Caps::of(self.qemu_version);
        caps.without = self.without.iter().cloned().collect();
        domxml::emit::Options {
            caps,
            run_dir: self.run_dir.clone(),
            secrets_dir: self.secrets_dir.clone(),
            check_secrets: self.check_secrets,
        }
    }
}

/// Convert one document; on failure print why and return the exit code.
fn convert_one(
    name: &str,
    bytes: &[u8],
    conv: &ConvertArgs,
    limits: Limits,
) -> Result<domxml::emit::Converted, ExitCode> {
    let lookup = domxml::emit::HostLookup::new(&conv.sysfs_root);
    match domxml::emit::convert_bytes(bytes, limits, &conv.options(), &lookup) {
        Ok(c) => Ok(c),
        Err(domxml::emit::ConvertError::Invalid(diags)) => {
            let src = String::from_utf8_lossy(bytes);
            eprint!(
                "{}",
                report::human(name, &src, &diags, std::io::stderr().is_terminal())
            );
            eprintln!("domxml: {name} is invalid; no command line was built");
            Err(ExitCode::from(1))
        }
        Err(domxml::emit::ConvertError::Emit(e)) => {
            eprintln!("domxml: {name}: {e}");
            Err(ExitCode::from(1))
        }
    }
}

fn convert(file: &Path, conv: &ConvertArgs, format: OutFormat, limits: Limits) -> ExitCode {
    let bytes = match read_input(file, limits.max_bytes) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("domxml: {e}");
            return ExitCode::from(2);
        }
    };
    let name = display_name(file);
    let c = match convert_one(&name, &bytes, conv, limits) {
        Ok(c) => c,
        Err(code) => return code,
    };
    for n in &c.notes {
        eprintln!("domxml: note: {n}");
    }
    let text = match format {
        OutFormat::Shell => domxml::emit::to_shell(&c.args),
        OutFormat::ArgvJson => domxml::emit::to_argv_json(&c.args),
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    ExitCode::SUCCESS
}

fn snapshot(dir: &Path, conv: &ConvertArgs, update: bool, limits: Limits) -> ExitCode {
    let mut xmls: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "xml"))
            .collect(),
        Err(e) => {
            eprintln!("domxml: cannot read directory {}: {e}", dir.display());
            return ExitCode::from(2);
        }
    };
    xmls.sort();
    let (mut ok, mut drift, mut missing, mut failed) = (0usize, 0usize, 0usize, 0usize);
    for xml in &xmls {
        let name = display_name(xml);
        let bytes = match read_input(xml, limits.max_bytes) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("domxml: {e}");
                return ExitCode::from(2);
            }
        };
        let text = match convert_one(&name, &bytes, conv, limits) {
            Ok(c) => domxml::emit::to_shell(&c.args),
            Err(_) => {
                failed += 1;
                continue;
            }
        };
        let args_path = xml.with_extension("args");
        if update {
            if let Err(e) = std::fs::write(&args_path, text.as_bytes()) {
                eprintln!("domxml: cannot write {}: {e}", args_path.display());
                return ExitCode::from(2);
            }
            ok += 1;
            continue;
        }
        match std::fs::read_to_string(&args_path) {
            Ok(old) if old == text => ok += 1,
            Ok(old) => {
                drift += 1;
                println!(
                    "--- {} (stored)\n+++ {name} (converted now)",
                    args_path.display()
                );
                print!("{}", domxml::emit::snapshot::line_diff(&old, &text));
            }
            Err(_) => {
                missing += 1;
                println!(
                    "missing snapshot {} (run `domxml snapshot --update {}`)",
                    args_path.display(),
                    dir.display()
                );
            }
        }
    }
    if update {
        println!("wrote {ok} snapshot(s); {failed} domain(s) failed to convert");
    } else {
        println!(
            "{ok} of {} snapshot(s) match; {drift} drifted, {missing} missing, {failed} failed to convert",
            xmls.len()
        );
    }
    if drift + missing + failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn read_input(path: &Path, max_bytes: usize) -> Result<Vec<u8>, String> {
    domxml::input::read_bounded(path, max_bytes).map_err(|e| e.to_string())
}

/// Read and parse one document. On failure the error is printed (I/O: exit 2; a document that
/// does not parse: its diagnostics, exit 1) and the exit code returned.
fn read_and_parse(
    path: &Path,
    limits: Limits,
    verb: &str,
) -> Result<(Vec<u8>, String, domxml::codec::Parsed), ExitCode> {
    let bytes = read_input(path, limits.max_bytes).map_err(|e| {
        eprintln!("domxml: {e}");
        ExitCode::from(2)
    })?;
    let name = display_name(path);
    match domxml::codec::parse_bytes(&bytes, limits) {
        Ok(parsed) => Ok((bytes, name, parsed)),
        Err(diags) => {
            let src = String::from_utf8_lossy(&bytes);
            let errors: Vec<_> = diags.into_iter().filter(|d| d.is_error()).collect();
            eprint!(
                "{}",
                report::human(&name, &src, &errors, std::io::stderr().is_terminal())
            );
            eprintln!("domxml: {name} does not parse; nothing was {verb}");
            Err(ExitCode::from(1))
        }
    }
}

fn display_name(path: &Path) -> String {
    path.display().to_string()
}

fn validate(
    files: &[PathBuf],
    strict: bool,
    format: Format,
    sysfs_root: Option<&Path>,
    limits: Limits,
) -> ExitCode {
    // With --sysfs-root, sysfs is scanned once, before the first file, for all of them.
    let host = match sysfs_root.map(scan_sysfs) {
        Some(Ok(idx)) => {
            for w in &idx.warnings {
                eprintln!("domxml: warning: {w}");
            }
            Some(idx)
        }
        Some(Err(code)) => return code,
        None => None,
    };
    let stderr_tty = std::io::stderr().is_terminal();
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let bar = (stderr_tty && files.len() > 1).then(|| {
        let b = indicatif::ProgressBar::new(files.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let mut io_error = false;
    let mut invalid = 0usize;
    let mut rows_json = Vec::new();
    let mut out = std::io::stdout().lock();
    for path in files {
        let name = display_name(path);
        if let Some(b) = &bar {
            b.set_message(name.clone());
        }
        let bytes = match read_input(path, limits.max_bytes) {
            Ok(b) => b,
            Err(e) => {
                let line = format!("domxml: {e}");
                match &bar {
                    Some(b) => b.println(line),
                    None => eprintln!("{line}"),
                }
                io_error = true;
                continue;
            }
        };
        let mut checked = domxml::check(&bytes, limits);
        if let Some(idx) = &host {
            domxml::check_host(&mut checked, idx);
        }
        if strict {
            for d in &mut checked.diagnostics {
                d.severity = Severity::Error;
            }
        }
        if !checked.is_valid(strict) {
            invalid += 1;
        }
        let src = String::from_utf8_lossy(&bytes);
        let text = match format {
            Format::Human => report::human(&name, &src, &checked.diagnostics, color),
            Format::Github => checked
                .diagnostics
                .iter()
                .map(|d| report::github_line(&name, d) + "\n")
                .collect(),
            Format::Json => {
                let rows = report::json_rows(&name, &checked.diagnostics);
                rows_json.extend(
                    rows.into_iter()
                        .map(|r| serde_json::to_value(r).expect("rows serialise")),
                );
                String::new()
            }
        };
        if !text.is_empty() {
            match &bar {
                Some(b) => b.suspend(|| {
                    let _ = out.write_all(text.as_bytes());
                }),
                None => {
                    let _ = out.write_all(text.as_bytes());
                }
            }
        }
        if let Some(b) = &bar {
            b.inc(1);
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if format == Format::Json {
        let _ = writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&rows_json).expect("json")
        );
    } else if format == Format::Human && (files.len() > 1 || invalid > 0) {
        let n = files.len();
        let _ = writeln!(
            out,
            "{} of {n} file{} valid",
            n - invalid - usize::from(io_error).min(n - invalid),
            if n == 1 { "" } else { "s" }
        );
    }
    if io_error {
        ExitCode::from(2)
    } else if invalid > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn fmt(path: &Path, check: bool, in_place: bool, limits: Limits) -> ExitCode {
    if in_place && path.as_os_str() == "-" {
        eprintln!("domxml: --in-place needs a file, not standard input");
        return ExitCode::from(2);
    }
    let (bytes, name, parsed) = match read_and_parse(path, limits, "formatted") {
        Ok(x) => x,
        Err(code) => return code,
    };
    let text = domxml::codec::format(&parsed);
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
    ExitCode::SUCCESS
}

/// Output formats of `domxml resolve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ResolveFormat {
    /// A table, one row per device or LU, messages under failed rows.
    Human,
    /// One JSON object, see `schemas/resolve-report.schema.json`.
    Json,
}

/// Scan the sysfs under `root` once; on failure print why and give exit status 2.
fn scan_sysfs(root: &Path) -> Result<domxml::resolve::Index, ExitCode> {
    use domxml::resolve::{error::chain, Index, SysfsRoot};
    SysfsRoot::at(root)
        .and_then(|r| Index::scan(&r))
        .map_err(|e| {
            eprintln!("domxml: {}", chain(&e));
            ExitCode::from(2)
        })
}

fn resolve(sysfs_root: &Path, format: ResolveFormat, path: &Path, limits: Limits) -> ExitCode {
    use domxml::resolve::report;
    let (_, name, parsed) = match read_and_parse(path, limits, "resolved") {
        Ok(x) => x,
        Err(code) => return code,
    };
    let idx = match scan_sysfs(sysfs_root) {
        Ok(i) => i,
        Err(code) => return code,
    };
    let rep = report::resolve_definition(&parsed.definition, &idx);
    let root_shown = sysfs_root.display().to_string();
    let mut out = std::io::stdout().lock();
    let text = match format {
        ResolveFormat::Human => report::human(&name, &root_shown, &rep),
        ResolveFormat::Json => {
            let v = serde_json::json!({
                "file": name,
                "sysfs_root": root_shown,
                "rows": rep.rows,
                "warnings": rep.warnings,
                "unresolved": rep.rows.iter().filter(|r| r.status == report::Status::Error).count(),
            });
            serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
        }
    };
    if out.write_all(text.as_bytes()).is_err() {
        return ExitCode::from(2);
    }
    if rep.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn sysfs_snapshot(root: &Path, out: &Path) -> ExitCode {
    let src = match domxml::resolve::SysfsRoot::at(root) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("domxml: {}", domxml::resolve::error::chain(&e));
            return ExitCode::from(2);
        }
    };
    match domxml::resolve::snapshot::snapshot(&src, out) {
        Ok(st) => {
            st.warnings
                .iter()
                .for_each(|w| eprintln!("domxml: warning: {w}"));
            println!(
                "recorded {} SCSI hosts and {} LUs from {} into {} ({} directories, {} files, {} links)",
                st.hosts,
                st.lus,
                root.display(),
                out.display(),
                st.dirs,
                st.files,
                st.links
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("domxml: {}", domxml::resolve::error::chain(&e));
            ExitCode::from(2)
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let limits = Limits {
        max_bytes: cli.max_bytes,
        max_depth: cli.max_depth,
    };
    match cli.command {
        Command::Validate {
            strict,
            format,
            sysfs_root,
            files,
        } => validate(&files, strict, format, sysfs_root.as_deref(), limits),
        Command::Fmt {
            check,
            in_place,
            file,
        } => fmt(&file, check, in_place, limits),
        Command::Resolve {
            sysfs_root,
            format,
            file,
        } => resolve(&sysfs_root, format, &file, limits),
        Command::SysfsSnapshot { root, out } => sysfs_snapshot(&root, &out),
        Command::Convert { conv, format, file } => convert(&file, &conv, format, limits),
        Command::Snapshot { conv, update, dir } => snapshot(&dir, &conv, update, limits),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "domxml", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
    }
}
