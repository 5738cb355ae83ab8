//! Reading ahead on helper threads, for a domain that names many devices: LUs (from 4,096
//! hostdevs), class entries (from 256 SCSI hosts, for the forms that name a PCI parent),
//! and adapters resolved by a reader of their own. Nothing is decided here: each result is
//! taken exactly where one pass would have read it, with its warnings, so answers, errors
//! and the order of warnings are one pass's.

use super::{Hctl, Targeted};
use crate::resolve::index::{Detail, Index, Located, Lu, Scan};
use crate::resolve::sysfs::SysPath;

/// One LU read ahead: what [`Index::locate_lu`] and [`Index::scan_lu`] gave.
pub(super) struct Prefetched {
    pub(super) detail: Detail,
    pub(super) lu: Option<Lu>,
    pub(super) warnings: Vec<String>,
}

/// From this many LUs, [`Targeted::prefetch_lus`] reads them on more than one thread.
pub(crate) const PREFETCH_MIN: usize = 4096;

/// The fewest SCSI hosts whose class entries are followed on helper threads (the forms that
/// name a PCI parent follow every one).
pub(crate) const LOCATE_MIN: usize = 256;

impl Targeted<'_> {
    /// Take the hosts `aux` read (resolving adapters ahead, through a root of its own at the
    /// same directory) as if this reader had read them, when that changes nothing but the
    /// cost: `aux` kept no warning, met no failure and made no full scan, and this reader
    /// has read no host yet. Reads are the same wherever they are made, so the hosts are
    /// those this reader would find; with no warning, nothing could come out in another
    /// order. Otherwise this reader reads the hosts again when asked.
    pub(crate) fn take_hosts_from(&mut self, aux: Targeted<'_>) {
        let silent = aux.warnings.is_empty() && aux.fatal.is_none() && aux.full.is_none();
        let fresh = self.hosts_tried.is_empty() && !self.all_located && !self.all_fc;
        self.root.add_operations(aux.root.operations());
        if !(silent && fresh && aux.lus_tried.is_empty() && aux.bus_names.is_none()) {
            return;
        }
        self.part = aux.part;
        self.hosts_tried = aux.hosts_tried;
        self.located = aux.located;
        self.all_located = aux.all_located;
        self.located_under = aux.located_under;
        self.fc = aux.fc;
        self.all_fc = aux.all_fc;
        if self.dirs.is_none() {
            self.dirs = aux.dirs;
        }
    }

    /// Read the LUs at `hctls` ahead, on scoped helper threads (see [`crate::par`]), each
    /// through a root of its own at the same directory. Reading an LU costs about five system
    /// calls and no state is shared between LUs, so 10,000 hostdevs read in about half the
    /// time on two cores. Nothing is decided here: [`Targeted::read_lu`] takes an LU read
    /// ahead exactly where it would have read it, with its warnings, so the answers, the
    /// errors and the order of the warnings are those of reading one LU after another. Fewer
    /// than [`PREFETCH_MIN`] LUs, a recording root, or a helper whose root cannot be opened:
    /// those LUs are simply read when asked.
    pub(crate) fn prefetch_lus(&mut self, hctls: &[Hctl]) {
        if hctls.len() < PREFETCH_MIN || self.root.recording() {
            return;
        }
        let Ok(bus) = self.dirs().map(|d| d.bus.clone()) else {
            return;
        };
        let opener = self.root.opener();
        let detail = self.want(Detail::Sg);
        let runs = crate::par::runs(hctls, |_, run| {
            let Ok(mine) = opener.open() else {
                return (Vec::new(), 0);
            };
            // What `dirs` does first on any root: the bus directory, verified.
            if Index::class_dir(&mine, "sys/bus/scsi/devices").ok() != Some(bus.clone()) {
                return (Vec::new(), mine.operations());
            }
            let mut s = Scan {
                root: &mine,
                warnings: Vec::new(),
            };
            let read: Vec<(Hctl, Prefetched)> = run
                .iter()
                .map(|&hctl| {
                    let lu = Index::locate_lu(&mut s, &bus, hctl)
                        .map(|at| Index::scan_lu(&mut s, at, hctl, &mut false, detail));
                    let warnings = std::mem::take(&mut s.warnings);
                    (
                        hctl,
                        Prefetched {
                            detail,
                            lu,
                            warnings,
                        },
                    )
                })
                .collect();
            (read, mine.operations())
        });
        for (read, ops) in runs {
            self.root.add_operations(ops);
            self.prefetched.extend(read);
        }
    }

    /// Where the class entries of `numbers` lead, with the warnings following each gave, in
    /// order: from [`LOCATE_MIN`] hosts, followed on helper threads (three system calls a
    /// host: 1,000 hosts take about 15 ms on one core). Empty when they are not (fewer
    /// hosts, a recording root, a helper whose root cannot be opened or sees another
    /// directory): the caller then follows them itself, as it would have.
    pub(super) fn locate_ahead(
        &self,
        class_host: &SysPath,
        numbers: &[u32],
    ) -> Vec<(Option<Located>, Vec<String>)> {
        if numbers.len() < LOCATE_MIN || self.root.recording() {
            return Vec::new();
        }
        let opener = self.root.opener();
        let runs = crate::par::runs_with(numbers, LOCATE_MIN / 2, 64, |_, run| {
            let Ok(mine) = opener.open() else {
                return (None, 0);
            };
            // What `dirs` does first on any root: the class directory, verified.
            let same =
                Index::class_dir(&mine, "sys/class/scsi_host").ok().as_ref() == Some(class_host);
            let mut s = Scan {
                root: &mine,
                warnings: Vec::new(),
            };
            let found: Option<Vec<_>> = same.then(|| {
                run.iter()
                    .map(|&n| {
                        let at = Index::locate_host(&mut s, class_host, n);
                        (at, std::mem::take(&mut s.warnings))
                    })
                    .collect()
            });
            (found, mine.operations())
        });
        let mut all = Vec::with_capacity(numbers.len());
        let mut complete = true;
        for (found, ops) in runs {
            self.root.add_operations(ops);
            match found {
                Some(found) => all.extend(found),
                None => complete = false,
            }
        }
        if complete {
            all
        } else {
            Vec::new()
        }
    }
}
