//! Targeted resolution: read only what a definition names.
//!
//! [`Index::scan`] reads every SCSI host and LU of the machine (about fifty file operations
//! per LU), which a domain with one SCSI hostdev on a host with 10,000 LUs pays in full. A
//! [`Targeted`] lookup reads instead, through the same [`SysfsRoot`] and with the same
//! reading code as the scan:
//!
//! - `name='scsi_hostN'`: the class entry `sys/class/scsi_host/hostN` (and
//!   `sys/class/fc_host/hostN`);
//! - `parent`/`parentaddr` with `unique_id`: every class entry `sys/class/scsi_host/hostN`
//!   followed to its device directory (one link per host, no attribute), then the attributes of
//!   the hosts under that PCI function only;
//! - FC WWNs: the FC hosts (`sys/class/fc_host/host*`), which are few;
//! - an LU: its bus entry `sys/bus/scsi/devices/H:B:T:L` and its `scsi_generic` and `block`
//!   directories (plus its attributes when a report needs them);
//! - a whole host: the names in `sys/bus/scsi/devices` (one listing) and that host's LUs;
//! - a lun disk's `/dev/sdX` or `/dev/sgN`: `sys/class/block/sdX` (or
//!   `sys/class/scsi_generic/sgN`) to its LU.
//!
//! What it reads is kept as a partial [`Index`], on which the index's own queries
//! ([`resolve_adapter`], [`lookup_lu`], [`whole_host`]) run: a query that succeeds there
//! has the answer it has on the full index, because the partial index holds every entry that
//! query looks at, read by the same code. A query that fails is asked again of a full scan,
//! built once, so every error (and every answer a targeted read cannot see, such as a host
//! known only by its LUs in a hand-made tree) is the full scan's own, word for word.
//!
//! Names: the index accepts only the names the kernel writes (`host7`, `7:0:1:0`; not
//! `host007`), so that the one entry a lookup opens is the only one that could name the host
//! or LU. Two LUs claiming the same block or sg name (which no kernel makes) may resolve to
//! either one.

use super::adapter::resolve_adapter;
use super::error::ResolveError;
use super::index::{
    is_canonical_hctl, is_canonical_host, Detail, FcInfo, Identity, Index, Located, Lu, Scan,
};
use super::lu::{lookup_lu, whole_host, PassthroughLu};
use super::sysfs::{host_number, is_block_name, FxMap, Hctl, SysPath, SysfsRoot};
use crate::model::{Adapter, AdapterForm};
use std::collections::BTreeMap;

mod ahead;
use ahead::Prefetched;
pub(crate) use ahead::PREFETCH_MIN;

/// The canonical top-level directories, resolved once.
struct Dirs {
    class_host: SysPath,
    class_fc: SysPath,
    /// `sys/class/fc_host` is not there (no FC driver): no host has FC attributes, and
    /// none is looked up one by one.
    no_fc: bool,
    bus: SysPath,
}

/// A host read on demand, falling back to a full scan for what it cannot answer.
pub(crate) struct Targeted<'r> {
    root: &'r SysfsRoot,
    /// Read every LU in full (a report), not only what a command line uses.
    full_detail: bool,
    /// What has been read so far.
    part: Index,
    dirs: Option<Dirs>,
    /// Hosts whose class entry was read (found or not).
    hosts_tried: FxMap<u32, ()>,
    /// Class entries followed but whose attributes are not read yet.
    located: BTreeMap<u32, Located>,
    /// Every class entry has been followed.
    all_located: bool,
    /// The hosts each PCI function holds (nearest parent), once every entry was followed; a
    /// function's entry is taken out when its hosts are read.
    located_under: FxMap<String, Vec<u32>>,
    /// FC attributes by host, once looked up.
    fc: FxMap<u32, Option<(FcInfo, bool)>>,
    /// Every FC host has been read.
    all_fc: bool,
    /// LUs whose bus entry was read (found or not), and how much of them.
    lus_tried: FxMap<Hctl, Detail>,
    /// The LU names in `sys/bus/scsi/devices`, once listed.
    bus_names: Option<Vec<Hctl>>,
    /// The full scan, once a query needed it.
    full: Option<Index>,
    /// A failure that makes the whole host unreadable (as [`Index::scan`] fails).
    fatal: Option<ResolveError>,
    warnings: Vec<String>,
    /// LUs read ahead on helper threads ([`Targeted::prefetch_lus`]), each with the warnings
    /// reading it gave and the detail it was read to: taken by [`Targeted::read_lu`] in
    /// place of reading.
    prefetched: FxMap<Hctl, Prefetched>,
}

impl<'r> Targeted<'r> {
    /// Reads for a report (`full_detail`: every LU attribute) or for a command line (an LU's
    /// nodes only).
    pub(crate) fn new(root: &'r SysfsRoot, full_detail: bool) -> Targeted<'r> {
        Targeted {
            root,
            full_detail,
            part: Index::empty(root),
            dirs: None,
            hosts_tried: FxMap::default(),
            located: BTreeMap::new(),
            all_located: false,
            located_under: FxMap::default(),
            fc: FxMap::default(),
            all_fc: false,
            lus_tried: FxMap::default(),
            bus_names: None,
            full: None,
            fatal: None,
            warnings: Vec::new(),
            prefetched: FxMap::default(),
        }
    }

    /// The warnings of what was read (the full scan's, when one was made), or the failure
    /// that made the host unreadable.
    pub(crate) fn finish(self) -> Result<Vec<String>, ResolveError> {
        if let Some(e) = self.fatal {
            return Err(e);
        }
        Ok(match self.full {
            Some(idx) => idx.warnings,
            None => self.warnings,
        })
    }

    /// The root it reads.
    pub(crate) fn root(&self) -> &'r SysfsRoot {
        self.root
    }

    /// The sysfs root, for messages.
    pub(crate) fn root_shown(&self) -> &str {
        &self.part.root
    }

    /// Run `f` with a scan context whose warnings are kept.
    fn scan<T>(&mut self, f: impl FnOnce(&mut Scan<'r>) -> T) -> T {
        let mut s = Scan {
            root: self.root,
            warnings: std::mem::take(&mut self.warnings),
        };
        let out = f(&mut s);
        self.warnings = s.warnings;
        out
    }

    fn dirs(&mut self) -> Result<&Dirs, ResolveError> {
        if self.dirs.is_none() {
            // In the order the scan resolves them, so that the first failure is the same.
            let fc = SysPath::parse("sys/class/fc_host")?;
            let (class_fc, no_fc) = match self.root.resolve(&fc)? {
                Some(d) => (d, false),
                None => (fc, true),
            };
            let class_host = Index::class_dir(self.root, "sys/class/scsi_host")?;
            let bus = Index::class_dir(self.root, "sys/bus/scsi/devices")?;
            self.dirs = Some(Dirs {
                class_host,
                class_fc,
                no_fc,
                bus,
            });
        }
        Ok(self.dirs.as_ref().expect("set above"))
    }

    /// The full scan, made once.
    fn full(&mut self) -> Result<&Index, ResolveError> {
        if self.full.is_none() {
            self.full = Some(Index::scan(self.root)?);
        }
        Ok(self.full.as_ref().expect("set above"))
    }

    /// Keep the first failure that makes the host unreadable; the device gets it too.
    fn fail(&mut self, e: ResolveError) -> ResolveError {
        if self.fatal.is_none() {
            self.fatal = Some(e.clone());
        }
        e
    }

    /// The FC attributes of host `n`.
    fn fc_of(&mut self, n: u32) -> Result<Option<(FcInfo, bool)>, ResolveError> {
        if let Some(f) = self.fc.get(&n) {
            return Ok(f.clone());
        }
        let dirs = self.dirs()?;
        if dirs.no_fc {
            // What reading `fc_host/hostN` would find.
            return Ok(None);
        }
        let class_fc = dirs.class_fc.clone();
        let f = self.scan(|s| Index::scan_fc_host(s, &class_fc, n));
        self.fc.insert(n, f.clone());
        Ok(f)
    }

    /// Read host `n` into the partial index, if its class entry leads to one.
    fn host(&mut self, n: u32) -> Result<(), ResolveError> {
        if self.hosts_tried.insert(n, ()).is_some() {
            return Ok(());
        }
        let fc = self.fc_of(n)?;
        let at = match self.located.remove(&n) {
            Some(at) => Some(at),
            None if self.all_located => None,
            None => {
                let class_host = self.dirs()?.class_host.clone();
                self.scan(|s| Index::locate_host(s, &class_host, n))
            }
        };
        if let Some(at) = at {
            let h = self.scan(|s| Index::read_host(s, at, n, fc.as_ref()));
            self.part.add_host(h);
        }
        Ok(())
    }

    /// Follow every class entry to its device (no attribute is read), as the scan does.
    fn locate_all(&mut self) -> Result<(), ResolveError> {
        if self.all_located {
            return Ok(());
        }
        let class_host = self.dirs()?.class_host.clone();
        let root = self.root;
        if let Some(listing) = root.list(&class_host)? {
            for bad in &listing.refused {
                self.warnings.push(format!(
                    "{}: skipped entry {bad:?}: not a name sysfs gives a SCSI host",
                    root.show(&class_host)
                ));
            }
            // Each entry: a host to locate, or the warning that skips it, in listing order.
            let entries: Vec<Result<u32, String>> = listing
                .names
                .iter()
                .filter_map(|name| {
                    match host_number(name).filter(|&n| is_canonical_host(name, n)) {
                        Some(n) if self.hosts_tried.contains_key(&n) => None,
                        Some(n) => Some(Ok(n)),
                        None => Some(Err(format!(
                            "{}/{name}: skipped: not a hostN name",
                            root.show(&class_host)
                        ))),
                    }
                })
                .collect();
            let numbers: Vec<u32> = entries.iter().filter_map(|e| e.clone().ok()).collect();
            let mut ahead = self.locate_ahead(&class_host, &numbers).into_iter();
            for entry in entries {
                let n = match entry {
                    Ok(n) => n,
                    Err(warning) => {
                        self.warnings.push(warning);
                        continue;
                    }
                };
                let at = match ahead.next() {
                    Some((at, warnings)) => {
                        self.warnings.extend(warnings);
                        at
                    }
                    None => self.scan(|s| Index::locate_host(s, &class_host, n)),
                };
                if let Some(at) = at {
                    if let Some(p) = &at.pci_parent {
                        self.located_under.entry(p.clone()).or_default().push(n);
                    }
                    self.located.insert(n, at);
                } else {
                    // Refused, as the scan refuses it: never read again.
                    self.hosts_tried.insert(n, ());
                }
            }
        }
        self.all_located = true;
        Ok(())
    }

    /// Read every host whose nearest PCI parent is `bdf`.
    fn hosts_under(&mut self, bdf: &str) -> Result<(), ResolveError> {
        self.locate_all()?;
        for n in self.located_under.remove(bdf).unwrap_or_default() {
            self.host(n)?;
        }
        Ok(())
    }

    /// Read every FC host (and its SCSI host).
    fn fc_hosts(&mut self) -> Result<(), ResolveError> {
        if self.all_fc {
            return Ok(());
        }
        let class_fc = self.dirs()?.class_fc.clone();
        let mut numbers = Vec::new();
        if let Some(listing) = self.root.list(&class_fc)? {
            for name in &listing.names {
                if let Some(n) = host_number(name).filter(|&n| is_canonical_host(name, n)) {
                    numbers.push(n);
                }
            }
        }
        for n in numbers {
            if self.fc_of(n)?.is_some() {
                self.host(n)?;
            }
        }
        self.all_fc = true;
        Ok(())
    }

    /// How much of an LU to read for a use that needs `d`.
    fn want(&self, d: Detail) -> Detail {
        if self.full_detail {
            Detail::Full
        } else {
            d
        }
    }

    /// Read the LU at `hctl` into the partial index (at least to `detail`), if its bus
    /// entry leads to one.
    fn read_lu(&mut self, hctl: Hctl, detail: Detail) -> Result<(), ResolveError> {
        if self.lus_tried.get(&hctl).is_some_and(|&d| d >= detail) {
            return Ok(());
        }
        self.lus_tried.insert(hctl, detail);
        let bus = self.dirs()?.bus.clone();
        if let Some(p) = self.prefetched.remove(&hctl) {
            if p.detail == detail {
                self.warnings.extend(p.warnings);
                if let Some(lu) = p.lu {
                    self.part.add_lu(lu);
                }
                return Ok(());
            }
        }
        let lu = self.scan(|s| {
            let at = Index::locate_lu(s, &bus, hctl)?;
            Some(Index::scan_lu(s, at, hctl, &mut false, detail))
        });
        if let Some(lu) = lu {
            self.part.add_lu(lu);
        }
        Ok(())
    }

    /// Read every LU of host `n`: the names in the bus directory, then those LUs.
    fn host_lus(&mut self, n: u32) -> Result<(), ResolveError> {
        if self.bus_names.is_none() {
            let bus = self.dirs()?.bus.clone();
            let names = crate::resolve::index::bus_lus(self.root, &bus, &mut self.warnings)?;
            self.bus_names = Some(names);
        }
        let mine: Vec<Hctl> = self
            .bus_names
            .iter()
            .flatten()
            .filter(|h| h.host == n)
            .copied()
            .collect();
        let detail = self.want(Detail::Nodes);
        for hctl in mine {
            self.read_lu(hctl, detail)?;
        }
        Ok(())
    }

    /// The host an adapter names.
    pub(crate) fn adapter(&mut self, a: &Adapter) -> Result<u32, ResolveError> {
        let ready = match a.form() {
            Ok(AdapterForm::HostNumber(n)) => self.host(n),
            Ok(AdapterForm::ByParent { pci, .. }) => self.hosts_under(&pci.bdf()),
            Ok(AdapterForm::FcHost { .. }) => self.fc_hosts(),
            // An invalid adapter is the full scan's error, as ever.
            Err(_) => Ok(()),
        };
        if let Err(e) = ready {
            return Err(self.fail(e));
        }
        if let Ok(h) = resolve_adapter(&self.part, a) {
            return Ok(h.number);
        }
        match self.full() {
            Ok(idx) => resolve_adapter(idx, a).map(|h| h.number),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// The LU at `hctl`, with its sg node.
    pub(crate) fn lu(&mut self, hctl: Hctl) -> Result<Lu, ResolveError> {
        let detail = self.want(Detail::Sg);
        if let Err(e) = self.read_lu(hctl, detail) {
            return Err(self.fail(e));
        }
        if let Ok(lu) = lookup_lu(&self.part, hctl) {
            return Ok(shaped(detail, lu));
        }
        match self.full() {
            Ok(idx) => lookup_lu(idx, hctl).map(|lu| shaped(detail, lu)),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// The LUs of host `n` a whole-host passthrough gives the guest.
    pub(crate) fn whole_host(
        &mut self,
        n: u32,
        bus: Option<u32>,
        target: Option<u32>,
    ) -> Result<Vec<PassthroughLu>, ResolveError> {
        if let Err(e) = self.host_lus(n) {
            return Err(self.fail(e));
        }
        let detail = self.want(Detail::Nodes);
        if let Ok(lus) = whole_host(&self.part, n, bus, target) {
            return Ok(lus
                .into_iter()
                .map(|mut p| {
                    p.lu = shaped(detail, &p.lu);
                    p
                })
                .collect());
        }
        match self.full() {
            Ok(idx) => whole_host(idx, n, bus, target).map(|v| {
                v.into_iter()
                    .map(|mut p| {
                        p.lu = shaped(detail, &p.lu);
                        p
                    })
                    .collect()
            }),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// The LU whose block device (`sdb`, `sr0`) or sg node (`sg3`) is `name`, which has
    /// passed `is_block_name` or `is_sg_name`.
    pub(crate) fn lu_by_node(&mut self, name: &str) -> Result<Option<Lu>, ResolveError> {
        let block = is_block_name(name);
        // The class link leads into the LU's directory: `…/H:B:T:L/block/sdb`.
        let class = if block {
            "sys/class/block"
        } else {
            "sys/class/scsi_generic"
        };
        let hctl = SysPath::parse(class)
            .and_then(|c| c.join(name))
            .ok()
            .and_then(|p| self.root.resolve_link(&p).ok().flatten())
            .and_then(|p| p.parent()?.parent())
            .and_then(|d| {
                let n = d.name()?;
                Hctl::parse(n).filter(|&h| is_canonical_hctl(n, h))
            });
        let detail = self.want(Detail::Nodes);
        if let Some(hctl) = hctl {
            if let Err(e) = self.read_lu(hctl, detail) {
                return Err(self.fail(e));
            }
            let hit = if block {
                self.part.lu_by_block(name)
            } else {
                self.part.lu_by_sg(name)
            };
            if let Some(lu) = hit {
                return Ok(Some(shaped(detail, lu)));
            }
        }
        let idx = match self.full() {
            Ok(idx) => idx,
            Err(e) => return Err(self.fail(e)),
        };
        let hit = if block {
            idx.lu_by_block(name)
        } else {
            idx.lu_by_sg(name)
        };
        Ok(hit.map(|lu| shaped(detail, lu)))
    }
}

/// `lu` with only what `detail` asks for (an LU read for another use, or taken from the full
/// scan, may carry more).
fn shaped(detail: Detail, lu: &Lu) -> Lu {
    match detail {
        Detail::Full => lu.clone(),
        Detail::Sg | Detail::Nodes => Lu {
            hctl: lu.hctl,
            sg: lu.sg.clone(),
            block: if detail == Detail::Nodes {
                lu.block.clone()
            } else {
                None
            },
            scsi_type: None,
            vendor: None,
            model: None,
            rev: None,
            identity: Identity::Unknown,
        },
    }
}
