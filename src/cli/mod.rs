//! Arguments and dispatch.

mod apply;
mod convert;
mod fmt;
mod input;
mod plan;
mod resolve;
mod validate;

use clap::{CommandFactory, Parser, Subcommand};
use domxml::report::Format;
use domxml::xml::Limits;
use std::path::PathBuf;
use std::process::ExitCode;

/// Read libvirt-style domain and storage-pool XML: validate it with libvirt's SCSI rules,
/// format it canonically, resolve its SCSI host devices through sysfs, and print the QEMU
/// command line libvirt would build.
#[derive(Parser, Debug)]
#[command(name = "domxml", version, about, long_about = None, propagate_version = true)]
struct Cli {
    /// Refuse inputs larger than this many bytes.
    #[arg(long, global = true, default_value_t = Limits::default().max_bytes, value_name = "BYTES")]
    max_bytes: usize,
    /// Refuse inputs whose elements nest deeper than this.
    #[arg(long, global = true, default_value_t = Limits::default().max_depth, value_name = "N")]
    max_depth: usize,
    /// Refuse domains with more devices than this.
    #[arg(long, global = true, default_value_t = Limits::default().max_devices, value_name = "N")]
    max_devices: usize,
    /// Refuse attribute values longer than this many bytes.
    #[arg(long, global = true, default_value_t = Limits::default().max_attr_bytes, value_name = "BYTES")]
    max_attr_bytes: usize,
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
        #[arg(long, value_enum, default_value_t = resolve::ResolveFormat::Human)]
        format: resolve::ResolveFormat,
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
    /// Print the QEMU command line that starts a domain, as libvirt would build it. Devices
    /// domxml does not emit are listed as notes on standard error. Exit 0 on success, 1 when
    /// the domain is invalid, cannot be emitted or a host device does not resolve, 2 for usage
    /// or I/O errors (an unreadable input or sysfs root).
    Convert {
        #[command(flatten)]
        conv: convert::ConvertArgs,
        /// Output layout: libvirt's `.args` shell layout, or a JSON array (emulator first).
        #[arg(long, value_enum, default_value_t = convert::OutFormat::Shell)]
        format: convert::OutFormat,
        /// The domain XML; `-` reads standard input.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Compare every NAME.xml under DIR with the NAME.args beside it (the `--format shell`
    /// output followed by `# note:` lines for devices that are not emitted). Exit 1 on any
    /// drift, missing snapshot or domain that fails to convert; `--update` writes them instead.
    Snapshot {
        #[command(flatten)]
        conv: convert::ConvertArgs,
        /// Write NAME.args files instead of comparing.
        #[arg(long)]
        update: bool,
        /// The directory holding the domain XML files.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// Show what `apply` would change so that a domain's managed devices (SCSI controllers,
    /// SCSI and lun disks, SCSI / vhost-scsi / PCI hostdevs) become those of DESIRED: one
    /// line per device (`+` attach, `-` detach, `~` update in place, `-/+` detach and attach
    /// again) with the reason, then the libvirt calls in order. Other devices are never
    /// touched. Offline with `--current FILE`; against libvirt with `--connect URI` (feature
    /// `libvirt`). Exit 0 (also when there is nothing to do: "No changes"), 1 when a
    /// definition is invalid, 2 on usage, I/O or connection errors.
    Plan {
        /// The domain as it is now (e.g. `virsh dumpxml NAME`), instead of asking libvirt.
        #[arg(long, value_name = "FILE", conflicts_with = "connect")]
        current: Option<PathBuf>,
        /// A libvirt URI (repeatable); without it and without --current,
        /// LIBVIRT_DEFAULT_URI or libvirt's default. Needs the `libvirt` feature.
        #[arg(long, short = 'c', value_name = "URI")]
        connect: Vec<String>,
        #[command(flatten)]
        targets: plan::TargetArgs,
        /// Resolve SCSI hostdevs against the sysfs under DIR, so that they are identified by
        /// their LU's wwid instead of today's host numbers.
        #[arg(long, value_name = "DIR")]
        sysfs_root: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = plan::PlanFormat::Human)]
        format: plan::PlanFormat,
        /// The desired domain XML.
        #[arg(value_name = "DESIRED")]
        desired: PathBuf,
    },
    /// Bring a domain's managed devices (SCSI controllers, SCSI and lun disks, SCSI /
    /// vhost-scsi / PCI hostdevs) to those of DESIRED through libvirt: shows the plan, asks on
    /// a terminal (unless --yes), then attaches, detaches and updates devices one call at a
    /// time, retrying and cleaning up after failures. A domain that does not exist is defined
    /// (and started with --start). Stable SCSI adapters are resolved through sysfs into the
    /// `scsi_hostN` form libvirt accepts, and recorded in the domain's <metadata>. Several
    /// --connect (or --hosts FILE) apply to many hosts at once, each reported. Needs the
    /// `libvirt` feature. Exit 0 when every host converged (or nothing changed), 1 when one
    /// did not, 2 on usage, I/O or connection errors.
    Apply {
        #[command(flatten)]
        args: apply::ApplyArgs,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// Let go of a command's data without freeing it: the process is about to exit, and the
/// kernel takes back its memory at once, where freeing a large domain's model, tree and
/// output piece by piece costs tens of milliseconds.
pub(crate) fn exiting<T>(data: T) {
    std::mem::forget(data);
}

pub(crate) fn main() -> ExitCode {
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
        max_devices: cli.max_devices,
        max_attr_bytes: cli.max_attr_bytes,
    };
    match cli.command {
        Command::Validate {
            strict,
            format,
            sysfs_root,
            files,
        } => validate::run(&files, strict, format, sysfs_root.as_deref(), limits),
        Command::Fmt {
            check,
            in_place,
            file,
        } => fmt::run(&file, check, in_place, limits),
        Command::Resolve {
            sysfs_root,
            format,
            file,
        } => resolve::run(&sysfs_root, format, &file, limits),
        Command::SysfsSnapshot { root, out } => resolve::sysfs_snapshot(&root, &out),
        Command::Convert { conv, format, file } => convert::run(&file, &conv, format, limits),
        Command::Snapshot { conv, update, dir } => convert::snapshot(&dir, &conv, update, limits),
        Command::Plan {
            current,
            connect,
            targets,
            sysfs_root,
            format,
            desired,
        } => match current {
            Some(c) => plan::offline(&c, &desired, targets, sysfs_root.as_ref(), format, limits),
            None => plan::online(
                &connect,
                &desired,
                targets,
                sysfs_root.as_ref(),
                format,
                limits,
            ),
        },
        Command::Apply { args } => apply::run(&args, limits, false),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "domxml", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
    }
}

/// What `plan --connect` and `apply` say in a build without the `libvirt` feature.
#[cfg(not(feature = "libvirt"))]
pub(crate) const NO_LIBVIRT: &str = "domxml: this build has no libvirt support; \
plan against a file with `domxml plan --current CURRENT.xml DESIRED.xml`, or build with it: \
`cargo install --features libvirt domxml` (needs libvirt-dev and pkg-config: \
`apt-get install libvirt-dev pkg-config`)";
