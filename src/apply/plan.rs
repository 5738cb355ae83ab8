//! The plan: what must change for a domain's managed devices to become the desired ones, as
//! an ordered list of libvirt calls. Pure: no host, no libvirt.
//!
//! Order: detaches of devices, then of controllers (highest index first), then in-place
//! updates, then attaches of controllers (lowest index first), then of devices. A device that
//! changes in a way libvirt cannot apply in place is detached in the first phase and attached
//! in the last, so a device moving to an address another one leaves is detached before
//! anything is attached there.

use super::compare::{differences, only_media_differs};
use super::key::{controller_of, managed, DeviceKey, KeyError, Managed};
use crate::model::{Controller, ControllerType, Device, DiskDevice, Domain};
use crate::resolve::ResolvedDomain;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Which definitions of a domain a change affects: the running domain, its persistent
/// configuration, or both (libvirt's `VIR_DOMAIN_AFFECT_LIVE` / `_CONFIG`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Targets {
    /// The running domain.
    pub live: bool,
    /// The persistent definition.
    pub config: bool,
}

impl Targets {
    /// Live only.
    pub const LIVE: Targets = Targets {
        live: true,
        config: false,
    };
    /// Config only.
    pub const CONFIG: Targets = Targets {
        live: false,
        config: true,
    };
    /// Both.
    pub const BOTH: Targets = Targets {
        live: true,
        config: true,
    };

    /// libvirt's `flags` for the device calls (`VIR_DOMAIN_AFFECT_LIVE` = 1, `_CONFIG` = 2).
    pub fn flags(self) -> u32 {
        u32::from(self.live) | (u32::from(self.config) << 1)
    }

    /// The flag names, for output.
    pub fn flag_names(self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.live {
            v.push("VIR_DOMAIN_AFFECT_LIVE");
        }
        if self.config {
            v.push("VIR_DOMAIN_AFFECT_CONFIG");
        }
        v
    }

    fn union(self, o: Targets) -> Targets {
        Targets {
            live: self.live || o.live,
            config: self.config || o.config,
        }
    }
}

impl std::fmt::Display for Targets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match (self.live, self.config) {
            (true, true) => "live, config",
            (true, false) => "live",
            (false, true) => "config",
            (false, false) => "nothing",
        })
    }
}

impl Serialize for Targets {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut v = Vec::new();
        if self.live {
            v.push("live");
        }
        if self.config {
            v.push("config");
        }
        v.serialize(s)
    }
}

/// What happens to one device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// New: attach it.
    Attach,
    /// Gone from the desired definition: detach it.
    Detach,
    /// Changed in a way libvirt applies in place (a removable disk's medium).
    Update,
    /// Changed otherwise: detach, then attach the desired device.
    Replace,
}

impl Action {
    /// Terraform's symbol: `+`, `-`, `~`, `-/+`.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Attach => "+",
            Action::Detach => "-",
            Action::Update => "~",
            Action::Replace => "-/+",
        }
    }
}

/// One device's change.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// What happens.
    pub action: Action,
    /// The device.
    pub key: DeviceKey,
    /// Where.
    pub targets: Targets,
    /// Why, one line each.
    pub reasons: Vec<String>,
    /// The device as it is (absent for an attach).
    #[serde(skip)]
    pub current: Option<Device>,
    /// The device as desired (absent for a detach).
    #[serde(skip)]
    pub desired: Option<Device>,
}

/// A libvirt device call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Call {
    /// `virDomainAttachDeviceFlags`.
    Attach,
    /// `virDomainDetachDeviceFlags`.
    Detach,
    /// `virDomainUpdateDeviceFlags`.
    Update,
}

impl Call {
    /// The libvirt function.
    pub fn function(self) -> &'static str {
        match self {
            Call::Attach => "virDomainAttachDeviceFlags",
            Call::Detach => "virDomainDetachDeviceFlags",
            Call::Update => "virDomainUpdateDeviceFlags",
        }
    }
}

/// One step of the plan: one libvirt call for one device.
#[derive(Debug, Clone)]
pub struct Op {
    /// The call.
    pub call: Call,
    /// The device.
    pub key: DeviceKey,
    /// Where.
    pub targets: Targets,
    /// The device XML the call takes.
    pub device: Device,
    /// Index of the change in [`Plan::changes`] this step belongs to.
    pub change: usize,
}

impl Op {
    /// The device XML sent.
    pub fn xml(&self) -> String {
        crate::codec::write_device(&self.device).unwrap_or_default()
    }
}

/// The plan for one domain.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The domain's name.
    pub domain: String,
    /// Per device, in step order.
    pub changes: Vec<Change>,
    /// The calls, in order.
    pub ops: Vec<Op>,
}

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// A managed device of the current definition has no identity, or two share one.
    #[error("the current definition of '{domain}': {source}")]
    Current {
        /// Domain name.
        domain: String,
        /// What is wrong.
        #[source]
        source: KeyError,
    },
    /// The same in the desired definition.
    #[error("the desired definition of '{domain}': {source}; fix the definition")]
    Desired {
        /// Domain name.
        domain: String,
        /// What is wrong.
        #[source]
        source: KeyError,
    },
}

/// One definition of a domain with, optionally, its host resolution (so that SCSI hostdevs
/// are identified by their LU's wwid rather than by today's host numbers).
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    /// The definition.
    pub domain: &'a Domain,
    /// Its resolution against the host, if any.
    pub resolved: Option<&'a ResolvedDomain>,
    /// Stable identities of SCSI hostdevs by device position (see `apply::stable`).
    pub ids: Option<&'a BTreeMap<usize, String>>,
}

impl<'a> From<&'a Domain> for Side<'a> {
    fn from(domain: &'a Domain) -> Self {
        Side {
            domain,
            resolved: None,
            ids: None,
        }
    }
}

/// The plan that turns `current`'s managed devices into `desired`'s, for `targets`.
pub fn diff<'a>(
    current: impl Into<Side<'a>>,
    desired: impl Into<Side<'a>>,
    targets: Targets,
) -> Result<Plan, PlanError> {
    let (c, d) = (current.into(), desired.into());
    let changes = diff_changes(c, d, targets)?;
    Ok(assemble(name_of(d.domain), changes))
}

/// The plan for a running domain: `live` against its running definition with
/// `VIR_DOMAIN_AFFECT_LIVE`, `config` against its persistent one with `_CONFIG`; a change
/// that is the same for both is made once with both flags.
pub fn diff_both<'a>(
    live: Option<Side<'a>>,
    config: Option<Side<'a>>,
    desired: Side<'a>,
) -> Result<Plan, PlanError> {
    let mut all = Vec::new();
    if let Some(l) = live {
        all.extend(diff_changes(l, desired, Targets::LIVE)?);
    }
    if let Some(c) = config {
        for ch in diff_changes(c, desired, Targets::CONFIG)? {
            let same = all.iter_mut().find(|x: &&mut Change| {
                x.key == ch.key
                    && x.action == ch.action
                    && !x.targets.config
                    && x.desired == ch.desired
            });
            match same {
                Some(x) => {
                    x.targets = x.targets.union(ch.targets);
                    for r in ch.reasons {
                        if !x.reasons.contains(&r) {
                            x.reasons.push(r);
                        }
                    }
                    // The persistent definition's XML carries no runtime details: detach by it.
                    if ch.current.is_some() {
                        x.current = ch.current;
                    }
                }
                None => all.push(ch),
            }
        }
    }
    Ok(assemble(name_of(desired.domain), all))
}

fn name_of(d: &Domain) -> String {
    d.name.clone().unwrap_or_default()
}

/// The managed devices of a definition plus the SCSI controllers libvirt adds implicitly for
/// them (a device on controller N that the definition does not declare), so that a
/// hand-written definition and libvirt's filled-in one agree.
pub fn desired_managed(
    d: &Domain,
    resolved: Option<&ResolvedDomain>,
) -> Result<Vec<Managed>, KeyError> {
    managed_of(Side {
        domain: d,
        resolved,
        ids: None,
    })
}

/// [`desired_managed`] of one side, its stable identities applied.
pub fn managed_of(side: Side<'_>) -> Result<Vec<Managed>, KeyError> {
    let d = side.domain;
    let mut m = super::key::managed_ids(d, side.resolved, side.ids)?;
    let declared: BTreeSet<u32> = m
        .iter()
        .filter_map(|x| match x.key {
            DeviceKey::Controller { index } => Some(index),
            _ => None,
        })
        .collect();
    let used: BTreeSet<u32> = m.iter().filter_map(|x| controller_of(&x.device)).collect();
    for index in used.difference(&declared) {
        let mut c = Controller::new(ControllerType::Scsi);
        c.index = Some(*index);
        m.push(Managed {
            key: DeviceKey::Controller { index: *index },
            item: usize::MAX,
            path: format!("(implicit controller scsi[{index}])"),
            device: Device::Controller(Box::new(c)),
        });
    }
    Ok(m)
}

fn diff_changes(c: Side<'_>, d: Side<'_>, targets: Targets) -> Result<Vec<Change>, PlanError> {
    let name = name_of(d.domain);
    let cm = managed_of(c).map_err(|source| PlanError::Current {
        domain: name.clone(),
        source,
    })?;
    let dm = managed_of(d).map_err(|source| PlanError::Desired {
        domain: name.clone(),
        source,
    })?;
    let cur: BTreeMap<&DeviceKey, &Managed> = cm.iter().map(|m| (&m.key, m)).collect();
    let want: BTreeMap<&DeviceKey, &Managed> = dm.iter().map(|m| (&m.key, m)).collect();
    let mut out: Vec<Change> = Vec::new();
    let mut replaced_ctrls = BTreeSet::new();
    for m in &cm {
        if !want.contains_key(&m.key) {
            if let DeviceKey::Controller { index } = m.key {
                replaced_ctrls.insert(index);
            }
            out.push(Change {
                action: Action::Detach,
                key: m.key.clone(),
                targets,
                reasons: vec![format!("not in the desired definition (was {})", m.path)],
                current: Some(m.device.clone()),
                desired: None,
            });
        }
    }
    for m in &dm {
        let Some(c) = cur.get(&m.key) else {
            out.push(Change {
                action: Action::Attach,
                key: m.key.clone(),
                targets,
                reasons: vec![format!("new in the desired definition ({})", m.path)],
                current: None,
                desired: Some(m.device.clone()),
            });
            continue;
        };
        let (Some(ce), Some(de)) = (
            crate::codec::device_element(&c.device),
            crate::codec::device_element(&m.device),
        ) else {
            continue;
        };
        let diffs = differences(&ce, &de);
        if diffs.is_empty() {
            continue;
        }
        let removable = matches!(&m.device, Device::Disk(x)
            if matches!(x.device(), DiskDevice::Cdrom | DiskDevice::Floppy));
        let action = if removable && only_media_differs(&ce, &de) {
            Action::Update
        } else {
            Action::Replace
        };
        if let (Action::Replace, DeviceKey::Controller { index }) = (action, &m.key) {
            replaced_ctrls.insert(*index);
        }
        out.push(Change {
            action,
            key: m.key.clone(),
            targets,
            reasons: diffs,
            current: Some(c.device.clone()),
            desired: Some(m.device.clone()),
        });
    }
    // A device on a controller that is replaced goes and comes back with it; one on a
    // controller that goes away comes back wherever the desired definition puts it.
    for m in &cm {
        let Some(ci) = controller_of(&m.device) else {
            continue;
        };
        if !replaced_ctrls.contains(&ci) || out.iter().any(|x| x.key == m.key) {
            continue;
        }
        if let Some(w) = want.get(&m.key) {
            out.push(Change {
                action: Action::Replace,
                key: m.key.clone(),
                targets,
                reasons: vec![if want.contains_key(&DeviceKey::Controller { index: ci }) {
                    format!("its controller scsi[{ci}] is replaced")
                } else {
                    format!("its controller scsi[{ci}] is detached")
                }],
                current: Some(m.device.clone()),
                desired: Some(w.device.clone()),
            });
        }
    }
    Ok(out)
}

fn ctrl_index(k: &DeviceKey) -> u32 {
    match k {
        DeviceKey::Controller { index } => *index,
        _ => 0,
    }
}

/// Order the changes and turn them into calls.
fn assemble(domain: String, mut changes: Vec<Change>) -> Plan {
    // Changes listed in the order their first step runs.
    let phase = |c: &Change| match (c.action, c.key.is_controller()) {
        (Action::Detach | Action::Replace, false) => 0,
        (Action::Detach | Action::Replace, true) => 1,
        (Action::Update, _) => 2,
        (Action::Attach, true) => 3,
        (Action::Attach, false) => 4,
    };
    changes.sort_by(|a, b| {
        let ka = (phase(a), ctrl_order(a), &a.key);
        let kb = (phase(b), ctrl_order(b), &b.key);
        ka.cmp(&kb)
    });
    let mut ops: Vec<(u8, i64, usize, Op)> = Vec::new();
    for (i, c) in changes.iter().enumerate() {
        let ctrl = c.key.is_controller();
        let idx = i64::from(ctrl_index(&c.key));
        let mut push = |ph: u8, ord: i64, call: Call, dev: &Option<Device>| {
            if let Some(dev) = dev {
                ops.push((
                    ph,
                    ord,
                    i,
                    Op {
                        call,
                        key: c.key.clone(),
                        targets: c.targets,
                        device: dev.clone(),
                        change: i,
                    },
                ));
            }
        };
        match c.action {
            Action::Detach | Action::Replace => {
                push(if ctrl { 1 } else { 0 }, -idx, Call::Detach, &c.current);
                if c.action == Action::Replace {
                    push(if ctrl { 3 } else { 4 }, idx, Call::Attach, &c.desired);
                }
            }
            Action::Update => push(2, 0, Call::Update, &c.desired),
            Action::Attach => push(if ctrl { 3 } else { 4 }, idx, Call::Attach, &c.desired),
        }
    }
    ops.sort_by_key(|(ph, ord, i, _)| (*ph, *ord, *i));
    Plan {
        domain,
        changes,
        ops: ops.into_iter().map(|x| x.3).collect(),
    }
}

fn ctrl_order(c: &Change) -> i64 {
    let i = i64::from(ctrl_index(&c.key));
    match c.action {
        Action::Detach => -i,
        _ => i,
    }
}

impl Plan {
    /// True when nothing changes.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// How many changes of each action.
    pub fn count(&self, action: Action) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }

    /// What the plan does to a model of the domain, for `targets` (the steps that affect it):
    /// attaches append the desired device, detaches remove the device the sent XML names,
    /// updates replace it. For tests and dry runs: applying the plan to the current
    /// definition gives the desired definition's managed devices.
    pub fn apply_to(&self, d: &mut Domain, which: Targets) {
        for op in &self.ops {
            if !(op.targets.live && which.live || op.targets.config && which.config) {
                continue;
            }
            // As libvirt does: the device is found by the XML sent, not by the plan's
            // (possibly stable) identity.
            let sent = super::key::key_of(&op.device, None, "").and_then(Result::ok);
            let pos = managed(d, None)
                .ok()
                .and_then(|m| m.into_iter().find(|x| Some(&x.key) == sent.as_ref()))
                .map(|x| x.item);
            match (op.call, pos) {
                (Call::Attach, _) => d.devices.items.push(op.device.clone()),
                (Call::Detach, Some(i)) => {
                    d.devices.items.remove(i);
                }
                (Call::Update, Some(i)) => d.devices.items[i] = op.device.clone(),
                _ => {}
            }
        }
    }
}
