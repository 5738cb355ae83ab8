//! The lifecycle manager of one domain's managed devices: **reserve → attach → release**.
//!
//! * A *reservation* is one caller's claim (an id); an *attachment* is one guest device for
//!   one host resource (a host LU, a PCI function, an image file), shared by every
//!   reservation of the same resource with the same settings, with an explicit set of
//!   references. The same resource asked for with other settings (or once as a lun disk and
//!   once as a hostdev) is a conflict, not a share.
//! * The [`SlotTable`] pins what the domain already has ([`Lifecycle::pin_existing`]): a
//!   pinned device is never reserved or attached again; [`Lifecycle::adopt`] takes one over
//!   to detach it.
//! * `reserve` does no I/O, and on error changes nothing. `attach` is idempotent; after an
//!   error the caller must `release`. `release` is resumable: after an error, call it again.
//! * Backend errors are definite or ambiguous; after an ambiguous one the manager re-reads
//!   the domain before deciding. "Attached but the follow-up check failed" and "detach not
//!   confirmed" are [`AttachState::CleanupPending`]: new users are refused until a release
//!   cleans it up. A detach waits for the device to leave the domain, up to a deadline.
//! * A retried release never drops a reference twice. A slot is freed only when its
//!   attachment is terminal and has no references left.
//!
//! See /work/shared/reference/device-lifecycle.md (gaps (a)–(h)) for the design this follows;
//! tests/apply_lifecycle.rs has one test per gap.

mod types;
pub use types::*;
pub(crate) use types::{settings, Reservation};

use super::backend::{presence, where_present, Backend, ErrorClass, Presence};
use super::key::{key_of, DeviceKey};
use super::plan::Targets;
use super::slots::{
    has_drive_address, needs_drive_address, slots_of, with_address, SlotAddr, SlotEntry, SlotTable,
};
use crate::model::{Device, Domain};
use std::collections::{BTreeMap, BTreeSet};

/// A pre-existing device.
#[derive(Debug, Clone)]
struct PinnedDevice {
    device: Device,
    targets: Targets,
    slots: Vec<SlotAddr>,
}

/// The manager of one domain.
pub struct Lifecycle<B: Backend> {
    backend: B,
    cfg: Config,
    slots: SlotTable,
    attachments: BTreeMap<AttachmentId, Attachment>,
    by_resource: BTreeMap<Resource, AttachmentId>,
    reservations: BTreeMap<ReservationId, Reservation>,
    pinned: BTreeMap<DeviceKey, PinnedDevice>,
    next: u64,
}

impl<B: Backend> Lifecycle<B> {
    /// A manager with an empty table. Call [`pin_existing`](Self::pin_existing) before the
    /// first reservation.
    pub fn new(backend: B, cfg: Config) -> Self {
        Lifecycle {
            backend,
            cfg,
            slots: SlotTable::default(),
            attachments: BTreeMap::new(),
            by_resource: BTreeMap::new(),
            reservations: BTreeMap::new(),
            pinned: BTreeMap::new(),
            next: 1,
        }
    }

    /// The backend.
    pub fn backend(&mut self) -> &mut B {
        &mut self.backend
    }

    /// The slot table.
    pub fn slots(&self) -> &SlotTable {
        &self.slots
    }

    /// The attachments.
    pub fn attachments(&self) -> impl Iterator<Item = &Attachment> {
        self.attachments.values()
    }

    /// The attachment of a reservation.
    pub fn attachment_of(&self, id: ReservationId) -> Option<&Attachment> {
        self.attachments
            .get(&self.reservations.get(&id)?.attachment)
    }

    /// How many reservations are open.
    pub fn open_reservations(&self) -> usize {
        self.reservations.len()
    }

    /// The reservations still releasing (their release returned an error).
    pub fn releasing(&self) -> Vec<ReservationId> {
        self.reservations
            .iter()
            .filter(|(_, r)| r.phase == Phase::Releasing)
            .map(|(id, _)| *id)
            .collect()
    }

    /// The identities of the pinned devices.
    pub fn pinned(&self) -> impl Iterator<Item = &DeviceKey> {
        self.pinned.keys()
    }

    /// Read the domain (live when running, and the persistent definition) and pin every
    /// managed device it has, with the slots it uses.
    pub fn pin_existing(&mut self) -> Result<(), AdoptError> {
        let running = self.backend.is_running().map_err(AdoptError::Read)?;
        let mut defs: Vec<(Targets, Domain)> = Vec::new();
        if running {
            defs.push((
                Targets::LIVE,
                self.backend.read(true).map_err(AdoptError::Read)?,
            ));
        }
        defs.push((
            Targets::CONFIG,
            self.backend.read(false).map_err(AdoptError::Read)?,
        ));
        for (t, d) in defs {
            for m in super::plan::desired_managed(&d, None).unwrap_or_default() {
                self.pin(m.key, m.device, t);
            }
        }
        Ok(())
    }

    fn pin(&mut self, key: DeviceKey, device: Device, t: Targets) {
        let slots = slots_of(&device);
        if let Device::Controller(c) = &device {
            self.slots.set_controller(c.idx(), Some(c.scsi_model()));
        }
        for s in &slots {
            if self.slots.get(s).is_none() {
                self.slots
                    .hold(s.clone(), SlotEntry::Pinned { key: key.clone() });
            }
        }
        let e = self.pinned.entry(key).or_insert(PinnedDevice {
            device,
            targets: Targets::default(),
            slots: Vec::new(),
        });
        e.targets.live |= t.live;
        e.targets.config |= t.config;
        for s in slots {
            if !e.slots.contains(&s) {
                e.slots.push(s);
            }
        }
    }

    fn holder(&self, s: &SlotAddr) -> String {
        match self.slots.get(s) {
            Some(SlotEntry::Pinned { key }) => format!("{key} (already in the domain)"),
            Some(SlotEntry::Owned { attachment }) => self
                .attachments
                .get(attachment)
                .map_or("an attachment".into(), |a| a.key.to_string()),
            None => "nothing".into(),
        }
    }

    /// Claim a device. No I/O; on `Err` nothing changed.
    pub fn reserve(&mut self, req: Request) -> Result<ReservationId, ReserveError> {
        let key = match key_of(&req.device, None, "") {
            Some(Ok(k)) => k,
            Some(Err(e)) => return Err(ReserveError::Unmanaged(e.to_string())),
            None => return Err(ReserveError::Unmanaged("not a managed device".into())),
        };
        // A device the domain already has is never attached again where it is; it may be
        // attached where it is not (live, when only the persistent definition has it).
        if let Some(p) = self.pinned.get(&key) {
            if (p.targets.live && req.targets.live) || (p.targets.config && req.targets.config) {
                return Err(ReserveError::Pinned { key });
            }
        }
        if let Some(&aid) = self.by_resource.get(&req.resource) {
            let a = &self.attachments[&aid];
            match a.state {
                AttachState::Reserved | AttachState::Attached => {}
                state => {
                    return Err(ReserveError::Busy {
                        resource: req.resource,
                        state,
                    })
                }
            }
            let fixed_ok = !has_drive_address(&req.device)
                || slots_of(&req.device)
                    .iter()
                    .all(|s| a.slots.contains(s) || matches!(s, SlotAddr::Name { .. }));
            if a.key != key
                || a.settings != settings(&req.device)
                || a.targets != req.targets
                || !fixed_ok
            {
                return Err(ReserveError::Conflict {
                    resource: req.resource,
                    existing: a.key.clone(),
                });
            }
            let id = self.mint();
            self.attachments
                .get_mut(&aid)
                .expect("indexed")
                .refs
                .insert(id);
            self.reservations.insert(
                id,
                Reservation {
                    attachment: aid,
                    phase: Phase::Reserved,
                },
            );
            return Ok(id);
        }
        if let Some(a) = self.attachments.values().find(|a| a.key == key) {
            return Err(ReserveError::Conflict {
                resource: req.resource,
                existing: a.key.clone(),
            });
        }
        // Slots: as written, or a drive address allocated and written in.
        let mut device = req.device.clone();
        let mut slots = slots_of(&device);
        if needs_drive_address(&device) && !has_drive_address(&device) {
            let prefer = slots
                .iter()
                .find(|s| matches!(s, SlotAddr::Drive { .. }))
                .cloned();
            slots.retain(|s| !matches!(s, SlotAddr::Drive { .. }));
            let s = self
                .slots
                .allocate_drive(prefer.as_ref())
                .ok_or(ReserveError::NoFreeSlot { key: key.clone() })?;
            device = with_address(&device, &s);
            slots.push(s);
        }
        // Slots the same device holds in the other definition stay pinned to it.
        let own = SlotEntry::Pinned { key: key.clone() };
        slots.retain(|s| self.slots.get(s) != Some(&own));
        if let Some(s) = slots.iter().find(|s| self.slots.get(s).is_some()) {
            return Err(ReserveError::SlotTaken {
                slot: s.clone(),
                by: self.holder(s),
            });
        }
        let id = self.mint();
        let aid = self.mint();
        for s in &slots {
            self.slots
                .hold(s.clone(), SlotEntry::Owned { attachment: aid });
        }
        self.attachments.insert(
            aid,
            Attachment {
                id: aid,
                key,
                resource: req.resource.clone(),
                settings: settings(&req.device),
                device,
                targets: req.targets,
                slots,
                state: AttachState::Reserved,
                refs: BTreeSet::from([id]),
                attach_calls: 0,
                detach_calls: 0,
            },
        );
        self.by_resource.insert(req.resource, aid);
        self.reservations.insert(
            id,
            Reservation {
                attachment: aid,
                phase: Phase::Reserved,
            },
        );
        Ok(id)
    }

    fn mint(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    /// Attach the reservation's device (once per attachment: a second reservation of an
    /// attached device makes no call). On `Err`, release the reservation.
    pub fn attach(&mut self, id: ReservationId) -> Result<&Attachment, AttachError> {
        let aid = self
            .reservations
            .get(&id)
            .filter(|r| r.phase != Phase::Releasing)
            .ok_or(AttachError::Unknown(id))?
            .attachment;
        let a = &self.attachments[&aid];
        let (key, targets) = (a.key.clone(), a.targets);
        match a.state {
            AttachState::Attached => {}
            AttachState::Reserved => {
                let xml = crate::codec::write_device(&a.device).unwrap_or_default();
                self.att(aid).attach_calls += 1;
                let r = self.backend.attach(&xml, targets);
                let next = match r {
                    Ok(()) => match presence(&mut self.backend, &key, targets) {
                        Presence::Present => Ok(AttachState::Attached),
                        p => Err((
                            AttachState::CleanupPending,
                            AttachError::FollowUp {
                                key: key.clone(),
                                what: if p == Presence::Absent {
                                    "it is not in the domain's XML".into()
                                } else {
                                    "the domain's XML could not be read, or only one definition has it".into()
                                },
                            },
                        )),
                    },
                    Err(e) if e.class == ErrorClass::Ambiguous => {
                        match presence(&mut self.backend, &key, targets) {
                            Presence::Present => Ok(AttachState::Attached),
                            Presence::Absent => Err((
                                AttachState::AttachFailed,
                                AttachError::Backend {
                                    key: key.clone(),
                                    source: e,
                                },
                            )),
                            Presence::Unknown => Err((
                                AttachState::CleanupPending,
                                AttachError::Backend {
                                    key: key.clone(),
                                    source: e,
                                },
                            )),
                        }
                    }
                    Err(e) => Err((
                        AttachState::AttachFailed,
                        AttachError::Backend {
                            key: key.clone(),
                            source: e,
                        },
                    )),
                };
                match next {
                    Ok(s) => {
                        self.att(aid).state = s;
                        if let Device::Controller(c) = &self.attachments[&aid].device {
                            let (i, m) = (c.idx(), c.scsi_model());
                            self.slots.set_controller(i, Some(m));
                        }
                    }
                    Err((s, e)) => {
                        self.att(aid).state = s;
                        return Err(e);
                    }
                }
            }
            state => return Err(AttachError::ReleaseFirst { key, state }),
        }
        if let Some(r) = self.reservations.get_mut(&id) {
            r.phase = Phase::Active;
        }
        Ok(&self.attachments[&aid])
    }

    fn att(&mut self, aid: AttachmentId) -> &mut Attachment {
        self.attachments.get_mut(&aid).expect("attachment exists")
    }

    /// Take over a device the domain already had (pinned) for `targets`, so that
    /// [`release`](Self::release) detaches it from there.
    pub fn adopt(
        &mut self,
        key: &DeviceKey,
        targets: Targets,
    ) -> Result<ReservationId, AdoptError> {
        let p = self
            .pinned
            .get_mut(key)
            .ok_or_else(|| AdoptError::NotPinned(key.clone()))?;
        let t = Targets {
            live: targets.live && p.targets.live,
            config: targets.config && p.targets.config,
        };
        p.targets.live &= !t.live;
        p.targets.config &= !t.config;
        let device = p.device.clone();
        let whole = !p.targets.live && !p.targets.config;
        let slots = if whole { p.slots.clone() } else { Vec::new() };
        if whole {
            self.pinned.remove(key);
        }
        let (id, aid) = (self.mint(), self.mint());
        for s in &slots {
            self.slots
                .hold(s.clone(), SlotEntry::Owned { attachment: aid });
        }
        let resource = Resource(format!("adopted {aid} {key}"));
        self.attachments.insert(
            aid,
            Attachment {
                id: aid,
                key: key.clone(),
                resource: resource.clone(),
                settings: settings(&device),
                device,
                targets: t,
                slots,
                state: AttachState::Attached,
                refs: BTreeSet::from([id]),
                attach_calls: 0,
                detach_calls: 0,
            },
        );
        self.by_resource.insert(resource, aid);
        self.reservations.insert(
            id,
            Reservation {
                attachment: aid,
                phase: Phase::Active,
            },
        );
        Ok(id)
    }

    /// Give up a reservation. The last reference of an attached device detaches it and waits
    /// for it to leave the domain. On `Err`, call again: the reference is not dropped twice.
    pub fn release(&mut self, id: ReservationId) -> Result<(), ReleaseError> {
        let r = self
            .reservations
            .get_mut(&id)
            .ok_or(ReleaseError::NotFound(id))?;
        let aid = r.attachment;
        if r.phase != Phase::Releasing {
            r.phase = Phase::Releasing;
            self.att(aid).refs.remove(&id);
        }
        if !self.attachments[&aid].refs.is_empty() {
            self.reservations.remove(&id);
            return Ok(());
        }
        let a = &self.attachments[&aid];
        let (key, targets, state) = (a.key.clone(), a.targets, a.state);
        match state {
            AttachState::Reserved | AttachState::AttachFailed => {}
            AttachState::Attached | AttachState::CleanupPending | AttachState::Detaching => {
                // Fence first: from here no new reservation joins this device.
                self.att(aid).state = AttachState::Detaching;
                let resumed = state != AttachState::Attached;
                // After an earlier failure, detach only from where the device still is.
                let from = if resumed {
                    where_present(&mut self.backend, &key, targets).unwrap_or(targets)
                } else {
                    targets
                };
                if from.live || from.config {
                    let xml = crate::codec::write_device(&self.attachments[&aid].device)
                        .unwrap_or_default();
                    self.att(aid).detach_calls += 1;
                    match self.backend.detach(&xml, from) {
                        Ok(()) => {}
                        Err(e) if e.class == ErrorClass::NotFound => {}
                        Err(e) if e.class == ErrorClass::Ambiguous => {}
                        Err(source) => {
                            // Perhaps it went anyway (a detach an earlier call started).
                            if presence(&mut self.backend, &key, targets) != Presence::Absent {
                                self.att(aid).state = AttachState::CleanupPending;
                                return Err(ReleaseError::Backend { key, source });
                            }
                        }
                    }
                    self.wait_gone(aid, &key, targets)?;
                }
            }
        }
        self.drop_attachment(aid);
        self.reservations.remove(&id);
        Ok(())
    }

    fn wait_gone(
        &mut self,
        aid: AttachmentId,
        key: &DeviceKey,
        t: Targets,
    ) -> Result<(), ReleaseError> {
        let start = self.backend.elapsed();
        loop {
            if presence(&mut self.backend, key, t) == Presence::Absent {
                return Ok(());
            }
            let waited = self.backend.elapsed().saturating_sub(start);
            if waited >= self.cfg.detach_deadline {
                self.att(aid).state = AttachState::CleanupPending;
                return Err(ReleaseError::NotConfirmed {
                    key: key.clone(),
                    waited,
                });
            }
            self.backend.pause(self.cfg.poll);
        }
    }

    /// A terminal attachment with no references: free its slots and forget it.
    fn drop_attachment(&mut self, aid: AttachmentId) {
        let Some(a) = self.attachments.remove(&aid) else {
            return;
        };
        debug_assert!(a.refs.is_empty());
        for s in &a.slots {
            if self.slots.get(s) == Some(&SlotEntry::Owned { attachment: aid }) {
                self.slots.free(s);
            }
        }
        if let Device::Controller(c) = &a.device {
            if a.state != AttachState::Reserved && a.state != AttachState::AttachFailed {
                self.slots.set_controller(c.idx(), None);
            }
        }
        self.by_resource.remove(&a.resource);
    }

    /// Retry every release that returned an error (the janitor). Returns those still
    /// pending.
    pub fn retry_releases(&mut self) -> Vec<(ReservationId, ReleaseError)> {
        self.releasing()
            .into_iter()
            .filter_map(|id| self.release(id).err().map(|e| (id, e)))
            .collect()
    }

    /// Check the table's invariants; `Err` names the first broken one. For tests.
    pub fn check_invariants(&self) -> Result<(), String> {
        for (s, e) in self.slots.iter() {
            match e {
                SlotEntry::Owned { attachment } => {
                    let a = self
                        .attachments
                        .get(attachment)
                        .ok_or(format!("{s} is owned by a forgotten attachment"))?;
                    if !a.slots.contains(s) {
                        return Err(format!("{s} is owned by {} which does not list it", a.key));
                    }
                }
                SlotEntry::Pinned { key } => {
                    if !self.pinned.contains_key(key) {
                        return Err(format!("{s} is pinned by {key}, which is not pinned"));
                    }
                }
            }
        }
        for a in self.attachments.values() {
            for s in &a.slots {
                if self.slots.get(s) != Some(&SlotEntry::Owned { attachment: a.id }) {
                    return Err(format!("{} lists {s} but does not own it", a.key));
                }
            }
            let holders: BTreeSet<ReservationId> = self
                .reservations
                .iter()
                .filter(|(_, r)| r.attachment == a.id && r.phase != Phase::Releasing)
                .map(|(id, _)| *id)
                .collect();
            if holders != a.refs {
                return Err(format!(
                    "{}: refs {:?} but live reservations {holders:?}",
                    a.key, a.refs
                ));
            }
            if self.by_resource.get(&a.resource) != Some(&a.id) {
                return Err(format!("{} is not indexed by its resource", a.key));
            }
        }
        for (id, r) in &self.reservations {
            if !self.attachments.contains_key(&r.attachment) {
                return Err(format!("reservation {id} points at a forgotten attachment"));
            }
        }
        Ok(())
    }
}
