//! Reading the index from sysfs: the whole SCSI part in one scan, or single hosts, FC hosts
//! and LUs for a targeted lookup. Problems with one entry become warnings, never a failure of
//! the scan.

use super::*;
use crate::resolve::sysfs::Listing;

fn norm_wwn(s: &str) -> String {
    s.trim()
        .strip_prefix("0x")
        .or_else(|| s.trim().strip_prefix("0X"))
        .unwrap_or(s.trim())
        .to_ascii_lowercase()
}

/// How much of an LU to read, least first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Detail {
    /// Its sg node only, all a SCSI hostdev passes: `block` and the descriptive attributes
    /// are left empty.
    Sg,
    /// Its sg and block nodes, all a whole-host passthrough uses (the block node chooses
    /// `scsi-block`): the descriptive attributes (`type`, `vendor`, `model`, `rev`, the
    /// identity) are left empty.
    Nodes,
    /// Everything [`Lu`] holds (a report, a snapshot).
    Full,
}

/// Reads whose failure only degrades one entry, with the warnings they gave.
pub(crate) struct Scan<'a> {
    pub(crate) root: &'a SysfsRoot,
    pub(crate) warnings: Vec<String>,
}

/// Where a host's class entry leads (the first half of reading a host: enough to know its
/// PCI parent, before any of its attributes is read).
#[derive(Debug, Clone)]
pub(crate) struct Located {
    /// The canonical class directory (`…/hostN/scsi_host/hostN`).
    dir: SysPath,
    /// The canonical device directory (`…/hostN`).
    device_path: SysPath,
    /// The nearest PCI function above the host.
    pub(crate) pci_parent: Option<String>,
}

/// Where an LU's bus entry leads, with its `scsi_generic` listing when that was read on the way
/// (see [`SysfsRoot::follow_and_list`]).
#[derive(Debug, Clone)]
pub(crate) struct LuAt {
    /// The canonical LU directory (`…/H:B:T:L`).
    pub(crate) dir: SysPath,
    /// The entries of `dir/scsi_generic`, when already listed.
    sg: Option<Listing>,
}

/// `hostN` as the kernel writes it: the name a class directory has for host `n`, and the
/// only one the index accepts for it (`host007` is refused), so that a lookup by number
/// can open `hostN` and know that no other entry names the same host.
/// The LUs `bus/scsi/devices` lists, by address, in listing order: entries that are not LU
/// names, or not written as the kernel writes them, are skipped with a warning.
pub(crate) fn bus_lus(
    root: &SysfsRoot,
    bus: &SysPath,
    warnings: &mut Vec<String>,
) -> Result<Vec<Hctl>, ResolveError> {
    let mut out = Vec::new();
    let Some(listing) = root.list(bus)? else {
        return Ok(out);
    };
    for bad in &listing.refused {
        warnings.push(format!(
            "{}: skipped entry {bad:?}: not a name sysfs gives a SCSI device",
            root.show(bus)
        ));
    }
    for name in &listing.names {
        let Some(hctl) = Hctl::parse(name) else {
            continue;
        };
        if !is_canonical_hctl(name, hctl) {
            warnings.push(format!(
                "{}/{name}: skipped: sysfs writes {hctl} without leading zeros",
                root.show(bus)
            ));
            continue;
        }
        out.push(hctl);
    }
    Ok(out)
}

pub(crate) fn is_canonical_host(name: &str, n: u32) -> bool {
    name.len() == 4 + decimal_len(u64::from(n))
}

/// `H:B:T:L` as the kernel writes it (no leading zeros), for the same reason.
pub(crate) fn is_canonical_hctl(name: &str, h: Hctl) -> bool {
    name.len()
        == 3 + decimal_len(u64::from(h.host))
            + decimal_len(u64::from(h.bus))
            + decimal_len(u64::from(h.target))
            + decimal_len(h.lun)
}

fn decimal_len(mut n: u64) -> usize {
    let mut len = 1;
    while n >= 10 {
        n /= 10;
        len += 1;
    }
    len
}

impl Scan<'_> {
    /// A result whose error only degrades one entry: keep the warning, carry on.
    /// `what` names the entry in the warning (built only when there is one).
    fn soft<T>(
        &mut self,
        what: impl FnOnce() -> String,
        r: Result<Option<T>, ResolveError>,
    ) -> Option<T> {
        match r {
            Ok(v) => v,
            Err(e) => {
                self.warnings.push(format!("{}: {e}", what()));
                None
            }
        }
    }

    fn text(&mut self, dir: &SysPath, name: &str) -> Option<String> {
        let r = self.root.read_text(dir, name);
        let root = self.root;
        self.soft(|| root.show(dir) + "/" + name, r)
    }

    fn first_entry(&mut self, dir: &SysPath, sub: &str, ok: fn(&str) -> bool) -> Option<String> {
        let root = self.root;
        if let Some(l) = root.list_in(dir, sub) {
            let l = self.soft(|| root.show(dir) + "/" + sub, l)?;
            return l.names.into_iter().find(|n| ok(n));
        }
        let d = root.resolve_in(dir, sub);
        let d = self.soft(|| root.show(dir) + "/" + sub, d)?;
        self.first_in(dir, sub, &d, ok)
    }

    /// The first name `ok` accepts in `d`, the resolved `dir/sub`.
    fn first_in(
        &mut self,
        dir: &SysPath,
        sub: &str,
        d: &SysPath,
        ok: fn(&str) -> bool,
    ) -> Option<String> {
        let root = self.root;
        let l = root.list(d);
        let l = self.soft(|| root.show(dir) + "/" + sub, l)?;
        l.names.into_iter().find(|n| ok(n))
    }
}

impl Index {
    /// Scan `root`: every SCSI host, FC host and LU. Fails only when the top-level class
    /// directories cannot be read at all (permissions); everything finer is a warning.
    pub fn scan(root: &SysfsRoot) -> Result<Index, ResolveError> {
        let mut s = Scan {
            root,
            warnings: Vec::new(),
        };
        let mut idx = Index::empty(root);
        let fc = Self::scan_fc(&mut s)?;
        let class_host = Self::class_dir(root, "sys/class/scsi_host")?;
        if let Some(listing) = root.list(&class_host)? {
            for bad in &listing.refused {
                s.warnings.push(format!(
                    "{}: skipped entry {bad:?}: not a name sysfs gives a SCSI host",
                    root.show(&class_host)
                ));
            }
            for name in &listing.names {
                let Some(n) = host_number(name).filter(|&n| is_canonical_host(name, n)) else {
                    s.warnings.push(format!(
                        "{}/{name}: skipped: not a hostN name",
                        root.show(&class_host)
                    ));
                    continue;
                };
                match Self::scan_host(&mut s, &class_host, n, fc.get(&n)) {
                    Some(h) => {
                        idx.hosts.insert(n, h);
                    }
                    // Refused (a symlink loop, a link out of the root): remember why, so that
                    // naming this host says what was refused rather than that it is absent.
                    None => {
                        let why = s.warnings.last().cloned().unwrap_or_default();
                        idx.refused_hosts.insert(n, why);
                    }
                }
            }
        }
        for h in idx.hosts.values() {
            if let Some(p) = &h.pci_parent {
                idx.by_pci.entry(p.clone()).or_default().push(h.number);
            }
        }
        let bus = Self::class_dir(root, "sys/bus/scsi/devices")?;
        let mut generic_dirs = false;
        for hctl in bus_lus(root, &bus, &mut s.warnings)? {
            let Some(at) = Self::locate_lu(&mut s, &bus, hctl) else {
                continue;
            };
            let lu = Self::scan_lu(&mut s, at, hctl, &mut generic_dirs, Detail::Full);
            idx.add_lu(lu);
        }
        // A host known only by its LUs (a hand-made tree with bus/scsi/devices but no
        // class/scsi_host entry) is still host N for `name='scsi_hostN'`, which is all libvirt
        // reads for that form. Real sysfs always has the class entry.
        let lu_hosts: Vec<u32> = idx.lus.keys().map(|h| h.host).collect();
        for n in lu_hosts {
            if idx.refused_hosts.contains_key(&n) {
                continue;
            }
            idx.hosts.entry(n).or_insert_with(|| ScsiHost {
                number: n,
                device_path: SysPath::default(),
                pci_parent: None,
                parent_host: None,
                unique_id: None,
                unique_id_problem: Some("no sys/class/scsi_host entry".into()),
                proc_name: None,
                fc: None,
                vport_capable: false,
            });
        }
        let class_sg = SysPath::parse("sys/class/scsi_generic")?;
        idx.sg_driver_loaded = generic_dirs || root.resolve(&class_sg)?.is_some();
        idx.warnings = s.warnings;
        Ok(idx)
    }

    /// An index with nothing in it yet, for `root`.
    pub(crate) fn empty(root: &SysfsRoot) -> Index {
        Index {
            root: root.path().display().to_string(),
            ..Default::default()
        }
    }

    /// A top-level directory (`sys/class/scsi_host`, `sys/bus/scsi/devices`), resolved like
    /// everything else: in a snapshot or a hand-made tree it could be a link too.
    pub(crate) fn class_dir(root: &SysfsRoot, path: &str) -> Result<SysPath, ResolveError> {
        let p = SysPath::parse(path)?;
        Ok(root.resolve(&p)?.unwrap_or(p))
    }

    fn scan_fc(s: &mut Scan<'_>) -> Result<HashMap<u32, (FcInfo, bool)>, ResolveError> {
        let mut out = HashMap::new();
        let class_fc = Self::class_dir(s.root, "sys/class/fc_host")?;
        let Some(listing) = s.root.list(&class_fc)? else {
            return Ok(out);
        };
        for name in &listing.names {
            let Some(n) = host_number(name).filter(|&n| is_canonical_host(name, n)) else {
                continue;
            };
            if let Some(info) = Self::scan_fc_host(s, &class_fc, n) {
                out.insert(n, info);
            }
        }
        Ok(out)
    }

    /// The FC attributes of host `n` (`class_fc/hostN`), if it is an FC host.
    pub(crate) fn scan_fc_host(
        s: &mut Scan<'_>,
        class_fc: &SysPath,
        n: u32,
    ) -> Option<(FcInfo, bool)> {
        let root = s.root;
        let p = class_fc.join(&format!("host{n}")).ok()?;
        let r = s.root.resolve_link(&p);
        let dir = s.soft(|| root.show(&p), r)?;
        let info = FcInfo {
            node_name: s.text(&dir, "node_name").map(|v| norm_wwn(&v)),
            port_name: s.text(&dir, "port_name").map(|v| norm_wwn(&v)),
            fabric_name: s.text(&dir, "fabric_name").map(|v| norm_wwn(&v)),
            port_state: s.text(&dir, "port_state"),
        };
        let r = s.root.exists_in(&dir, "vport_create").map(Some);
        let vport = s.soft(|| root.show(&dir), r).unwrap_or(false);
        Some((info, vport))
    }

    /// Host `n` from its class entry `class_host/hostN`: where it is, then its attributes.
    /// `None` (with a warning) when the entry cannot be followed.
    pub(crate) fn scan_host(
        s: &mut Scan<'_>,
        class_host: &SysPath,
        n: u32,
        fc: Option<&(FcInfo, bool)>,
    ) -> Option<ScsiHost> {
        let at = Self::locate_host(s, class_host, n)?;
        Some(Self::read_host(s, at, n, fc))
    }

    /// Follow the class entry of host `n` to its device directory, reading no attribute.
    pub(crate) fn locate_host(s: &mut Scan<'_>, class_host: &SysPath, n: u32) -> Option<Located> {
        let root = s.root;
        let name = format!("host{n}");
        let p = class_host.join(&name).ok()?;
        let r = s.root.resolve_link(&p);
        let dir = s.soft(|| root.show(&p), r)?;
        // The class directory is `…/hostN/scsi_host/hostN`; its device is two levels up.
        let c = dir.components();
        let device_path = if c.len() >= 3
            && c[c.len() - 1] == name
            && c[c.len() - 2] == "scsi_host"
            && c[c.len() - 3] == name
        {
            dir.parent().and_then(|d| d.parent()).unwrap_or_default()
        } else {
            let r = s.root.resolve_in(&dir, "device");
            match s.soft(|| root.show(&dir), r) {
                Some(d) => d,
                None => dir.clone(),
            }
        };
        let pci_parent = device_path
            .iter()
            .rev()
            .skip(1)
            .find(|c| is_pci_bdf(c))
            .map(str::to_string);
        Some(Located {
            dir,
            device_path,
            pci_parent,
        })
    }

    /// The attributes of a located host.
    pub(crate) fn read_host(
        s: &mut Scan<'_>,
        at: Located,
        n: u32,
        fc: Option<&(FcInfo, bool)>,
    ) -> ScsiHost {
        let root = s.root;
        let Located {
            dir,
            device_path,
            pci_parent,
        } = at;
        let parent_host = device_path.iter().rev().skip(1).find_map(host_number);
        let (unique_id, unique_id_problem) = match s.root.read_text(&dir, "unique_id") {
            Ok(Some(v)) => match v
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| v.parse::<u32>())
            {
                Some(Ok(u)) => (Some(u), None),
                _ => {
                    let m = format!("{v:?} is not a number");
                    s.warnings.push(format!(
                        "{}/unique_id: {m}; host{n} skipped in unique_id searches",
                        s.root.show(&dir)
                    ));
                    (None, Some(m))
                }
            },
            Ok(None) => (None, None),
            Err(e) => {
                let m = match &e {
                    ResolveError::Io { source, .. } => source.to_string(),
                    other => other.to_string(),
                };
                s.warnings.push(format!(
                    "host{n}: unique_id unreadable ({e}); host{n} skipped in unique_id searches"
                ));
                (None, Some(format!("unreadable: {m}")))
            }
        };
        let proc_name = s.text(&dir, "proc_name");
        let r = s.root.exists_in(&dir, "vport_create").map(Some);
        let scsi_vport = s.soft(|| root.show(&dir), r).unwrap_or(false);
        let (fc_info, fc_vport) = match fc {
            Some((i, v)) => (Some(i.clone()), *v),
            None => (None, false),
        };
        ScsiHost {
            number: n,
            device_path,
            pci_parent,
            parent_host,
            unique_id,
            unique_id_problem,
            proc_name,
            fc: fc_info,
            vport_capable: fc_vport || scsi_vport,
        }
    }

    /// Follow the bus entry `bus/H:B:T:L` to the LU's canonical directory. `None` when it is
    /// absent, or (with a warning) cannot be followed.
    pub(crate) fn locate_lu(s: &mut Scan<'_>, bus: &SysPath, hctl: Hctl) -> Option<LuAt> {
        let root = s.root;
        let p = bus.join(&hctl.to_string()).ok()?;
        // Most LUs: the link's target and its `scsi_generic` listing in one go.
        if let Some((dir, sg)) = root.follow_and_list(&p, "scsi_generic") {
            return Some(LuAt { dir, sg: Some(sg) });
        }
        let r = s.root.resolve_link(&p);
        let dir = s.soft(|| root.show(&p), r)?;
        Some(LuAt { dir, sg: None })
    }

    /// Read the LU in `dir`. `generic_dirs` is set when it has a `scsi_generic` directory
    /// (the sg driver is loaded).
    pub(crate) fn scan_lu(
        s: &mut Scan<'_>,
        at: LuAt,
        hctl: Hctl,
        generic_dirs: &mut bool,
        detail: Detail,
    ) -> Lu {
        let root = s.root;
        let LuAt { dir, sg: listed } = at;
        let dir = &dir;
        let listed = listed.map(|l| Ok(Some(l)));
        let fast = listed
            .or_else(|| root.list_in(dir, "scsi_generic"))
            .map(|l| {
                if !matches!(l, Ok(None)) {
                    *generic_dirs = true;
                }
                let l = s.soft(|| root.show(dir) + "/scsi_generic", l)?;
                l.names.into_iter().find(|n| is_sg_name(n))
            });
        let sg = match fast {
            Some(sg) => sg,
            None => match s.root.resolve_in(dir, "scsi_generic") {
                Ok(Some(d)) => {
                    *generic_dirs = true;
                    s.first_in(dir, "scsi_generic", &d, is_sg_name)
                }
                Ok(None) => None,
                // Said twice, as ever: for the LU, then for its scsi_generic directory.
                e @ Err(_) => {
                    s.soft(|| root.show(dir), e);
                    s.first_entry(dir, "scsi_generic", is_sg_name)
                }
            },
        };
        let block = if detail >= Detail::Nodes {
            s.first_entry(dir, "block", is_block_name)
        } else {
            None
        };
        if detail < Detail::Full {
            return Lu {
                hctl,
                sg,
                block,
                scsi_type: None,
                vendor: None,
                model: None,
                rev: None,
                identity: Identity::Unknown,
            };
        }
        let scsi_type = s.text(dir, "type").and_then(|t| t.parse().ok());
        let vendor = s.text(dir, "vendor");
        let model = s.text(dir, "model");
        let rev = s.text(dir, "rev");
        let identity = Self::identity(s, dir, sg.as_deref(), block.as_deref());
        Lu {
            hctl,
            sg,
            block,
            scsi_type,
            vendor,
            model,
            rev,
            identity,
        }
    }

    fn identity(
        s: &mut Scan<'_>,
        dir: &SysPath,
        sg: Option<&str>,
        block: Option<&str>,
    ) -> Identity {
        // QEMU's virtio disks leave wwid unreadable (EIO) unless a wwn is set: not a warning.
        if let Ok(Some(w)) = s.root.read_text(dir, "wwid") {
            if !w.is_empty() {
                return Identity::Wwid(w);
            }
        }
        if let Ok(Some(b)) = s.root.read_bytes(dir, "vpd_pg83") {
            if !b.is_empty() && b.iter().any(|&x| x != b'\n') {
                return Identity::VpdPg83(b.iter().map(|x| format!("{x:02x}")).collect());
            }
        }
        let dev = |sub: &str, name: Option<&str>| -> Option<String> {
            let name = name?;
            component(name).ok()?;
            let d = s.root.resolve_in(dir, sub).ok()??;
            let d = s.root.resolve_in(&d, name).ok()??;
            s.root.read_text(&d, "dev").ok()?
        };
        let sg_dev = dev("scsi_generic", sg);
        let block_dev = dev("block", block);
        if sg_dev.is_none() && block_dev.is_none() {
            Identity::Unknown
        } else {
            Identity::DevNumbers {
                sg: sg_dev,
                block: block_dev,
            }
        }
    }
}
