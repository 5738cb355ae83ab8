//! [`FakeDomain`]: an in-memory domain that behaves like libvirt's for the device calls the
//! applier makes, and fails on command: any call (attach, detach, update or a read of the
//! XML) can fail definitely, time out before or after taking effect, or half-succeed (the
//! live domain changed, the persistent definition not). A detach from the running domain can
//! be made slow (the device leaves after some polls) or stuck (it stays until the detach is
//! sent again). For tests; it never replaces the real-libvirt tests.

use super::backend::{find, Backend, BackendError};
use super::key::{key_of, DeviceKey};
use super::plan::Targets;
use super::slots::{slots_of, SlotAddr};
use crate::model::{Device, Domain};
use std::collections::BTreeMap;
use std::time::Duration;

/// A fault to inject into one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Fails; nothing happened.
    Definite,
    /// Times out; nothing happened.
    TimeoutBefore,
    /// Times out; it happened.
    TimeoutAfter,
    /// Happened on the live domain only, then failed with a timeout (config untouched).
    HalfSuccess,
    /// Happened on the live domain only, and reported success.
    HalfSuccessSilent,
    /// A detach is accepted but the device stays until the detach is sent again.
    StuckRemoval,
    /// A detach is accepted and the device leaves only after this many reads.
    SlowRemoval(u32),
}

impl Fault {
    /// One of each kind (a slow removal beyond a 10-poll deadline: two reads per poll).
    pub const ALL: [Fault; 7] = [
        Fault::Definite,
        Fault::TimeoutBefore,
        Fault::TimeoutAfter,
        Fault::HalfSuccess,
        Fault::HalfSuccessSilent,
        Fault::StuckRemoval,
        Fault::SlowRemoval(30),
    ];
}

/// The in-memory domain.
#[derive(Debug, Clone)]
pub struct FakeDomain {
    /// The running definition (`None`: shut off).
    pub live: Option<Domain>,
    /// The persistent definition.
    pub config: Domain,
    /// Faults by call number (0-based; every call counts, reads included).
    pub faults: BTreeMap<u64, Fault>,
    /// Calls made so far.
    pub calls: u64,
    /// Attach calls that took effect, per device.
    pub attaches: BTreeMap<DeviceKey, u32>,
    /// Attach calls for a device already there (must stay 0: nothing is attached twice).
    pub double_attaches: u32,
    /// Every call, in order: `attach disk sda (live, config)`.
    pub log: Vec<String>,
    /// Live devices whose removal is pending: reads left before they go (`None`: stuck).
    pending_removal: BTreeMap<DeviceKey, Option<u32>>,
    clock: Duration,
}

impl FakeDomain {
    /// A domain, running or not.
    pub fn new(config: Domain, running: bool) -> Self {
        FakeDomain {
            live: running.then(|| config.clone()),
            config,
            faults: BTreeMap::new(),
            calls: 0,
            attaches: BTreeMap::new(),
            double_attaches: 0,
            log: Vec::new(),
            pending_removal: BTreeMap::new(),
            clock: Duration::ZERO,
        }
    }

    /// Inject a fault into call number `n`.
    pub fn fail_at(mut self, n: u64, f: Fault) -> Self {
        self.faults.insert(n, f);
        self
    }

    fn next_fault(&mut self, what: String) -> Option<Fault> {
        let f = self.faults.remove(&self.calls);
        self.calls += 1;
        self.log.push(match f {
            Some(f) => format!("{what} [{f:?}]"),
            None => what,
        });
        f
    }

    fn parse(xml: &str) -> Result<(DeviceKey, Device), BackendError> {
        let wrapped = format!("<domain type='qemu'><devices>{xml}</devices></domain>");
        let d = crate::check_str(&wrapped);
        let dev = d
            .parsed
            .as_ref()
            .and_then(|p| match &p.definition {
                crate::Definition::Domain(d) => d.devices.items.first().cloned(),
                _ => None,
            })
            .ok_or_else(|| BackendError::definite(format!("XML error: cannot parse {xml}")))?;
        let key = key_of(&dev, None, "")
            .and_then(Result::ok)
            .ok_or_else(|| BackendError::definite("unsupported device"))?;
        Ok((key, dev))
    }

    fn defs(&mut self, t: Targets) -> Result<Vec<&mut Domain>, BackendError> {
        let mut v = Vec::new();
        if t.live {
            v.push(
                self.live
                    .as_mut()
                    .ok_or_else(|| BackendError::definite("domain is not running"))?,
            );
        }
        if t.config {
            v.push(&mut self.config);
        }
        Ok(v)
    }

    /// Check an attach against one definition as libvirt does.
    fn check_attach(d: &Domain, key: &DeviceKey, dev: &Device) -> Result<(), BackendError> {
        if find(d, key).is_some() {
            return Err(BackendError::definite(format!(
                "Requested operation is not valid: domain already has {key}"
            )));
        }
        let mine: Vec<SlotAddr> = slots_of(dev);
        for x in &d.devices.items {
            if slots_of(x).iter().any(|s| mine.contains(s)) {
                return Err(BackendError::definite(
                    "Requested operation is not valid: Domain already contains a disk with that address",
                ));
            }
        }
        Ok(())
    }

    fn do_attach(&mut self, key: &DeviceKey, dev: &Device, t: Targets) -> Result<(), BackendError> {
        let present = self.defs(t)?.iter().any(|d| find(d, key).is_some());
        if present {
            self.double_attaches += 1;
        }
        for d in self.defs(t)? {
            Self::check_attach(d, key, dev)?;
        }
        for d in self.defs(t)? {
            d.devices.items.push(dev.clone());
        }
        *self.attaches.entry(key.clone()).or_default() += 1;
        Ok(())
    }

    fn remove(d: &mut Domain, key: &DeviceKey) -> bool {
        let i = crate::apply::key::managed(d, None)
            .ok()
            .and_then(|m| m.into_iter().find(|m| &m.key == key))
            .map(|m| m.item);
        if let Some(i) = i {
            d.devices.items.remove(i);
        }
        i.is_some()
    }

    fn do_detach(
        &mut self,
        key: &DeviceKey,
        t: Targets,
        removal: Option<Option<u32>>,
    ) -> Result<(), BackendError> {
        for d in self.defs(t)? {
            if find(d, key).is_none() {
                return Err(BackendError::not_found(format!("device not found: {key}")));
            }
        }
        if t.config {
            Self::remove(&mut self.config, key);
        }
        if t.live {
            match removal {
                None => {
                    if let Some(l) = self.live.as_mut() {
                        Self::remove(l, key);
                    }
                }
                Some(r) => {
                    self.pending_removal.insert(key.clone(), r);
                }
            }
        }
        Ok(())
    }

    fn do_update(&mut self, key: &DeviceKey, dev: &Device, t: Targets) -> Result<(), BackendError> {
        for d in self.defs(t)? {
            let i = crate::apply::key::managed(d, None)
                .ok()
                .and_then(|m| m.into_iter().find(|m| &m.key == key))
                .map(|m| m.item)
                .ok_or_else(|| BackendError::not_found(format!("device not found: {key}")))?;
            d.devices.items[i] = dev.clone();
        }
        Ok(())
    }

    /// Run a device call under the fault for this call number.
    fn call(
        &mut self,
        what: &str,
        xml: &str,
        t: Targets,
        op: impl Fn(
            &mut Self,
            &DeviceKey,
            &Device,
            Targets,
            Option<Option<u32>>,
        ) -> Result<(), BackendError>,
    ) -> Result<(), BackendError> {
        let (key, dev) = Self::parse(xml)?;
        let fault = self.next_fault(format!("{what} {key} ({t})"));
        let live_only = Targets {
            live: t.live,
            config: !t.live && t.config,
        };
        match fault {
            None => op(self, &key, &dev, t, None),
            Some(Fault::Definite) => {
                Err(BackendError::definite("internal error: injected failure"))
            }
            Some(Fault::TimeoutBefore) => {
                Err(BackendError::ambiguous("timed out (injected, before)"))
            }
            Some(Fault::TimeoutAfter) => {
                let _ = op(self, &key, &dev, t, None);
                Err(BackendError::ambiguous("timed out (injected, after)"))
            }
            Some(Fault::HalfSuccess) => {
                let _ = op(self, &key, &dev, live_only, None);
                Err(BackendError::ambiguous(
                    "connection lost (injected, half done)",
                ))
            }
            Some(Fault::HalfSuccessSilent) => op(self, &key, &dev, live_only, None),
            Some(Fault::StuckRemoval) => op(self, &key, &dev, t, Some(None)),
            Some(Fault::SlowRemoval(n)) => op(self, &key, &dev, t, Some(Some(n))),
        }
    }

    fn tick_removals(&mut self) {
        let mut gone = Vec::new();
        for (k, left) in self.pending_removal.iter_mut() {
            if let Some(n) = left {
                if *n == 0 {
                    gone.push(k.clone());
                } else {
                    *n -= 1;
                }
            }
        }
        for k in gone {
            self.pending_removal.remove(&k);
            if let Some(l) = self.live.as_mut() {
                Self::remove(l, &k);
            }
        }
    }
}

impl Backend for FakeDomain {
    fn attach(&mut self, xml: &str, t: Targets) -> Result<(), BackendError> {
        self.call("attach", xml, t, |s, k, d, t, _| s.do_attach(k, d, t))
    }

    fn detach(&mut self, xml: &str, t: Targets) -> Result<(), BackendError> {
        // A repeated detach of a stuck device finishes it, as a second device_del does.
        if let Ok((k, _)) = Self::parse(xml) {
            if self.pending_removal.get(&k) == Some(&None) {
                self.pending_removal.insert(k, Some(0));
            }
        }
        self.call("detach", xml, t, |s, k, _, t, r| {
            if t.live && s.pending_removal.contains_key(k) {
                // Removal already under way: libvirt says so.
                return Ok(());
            }
            s.do_detach(k, t, r)
        })
    }

    fn update(&mut self, xml: &str, t: Targets) -> Result<(), BackendError> {
        self.call("update", xml, t, |s, k, d, t, _| s.do_update(k, d, t))
    }

    fn read(&mut self, live: bool) -> Result<Domain, BackendError> {
        self.tick_removals();
        let f = self.next_fault(format!("read {}", if live { "live" } else { "config" }));
        if matches!(
            f,
            Some(Fault::Definite | Fault::TimeoutBefore | Fault::TimeoutAfter | Fault::HalfSuccess)
        ) {
            return Err(BackendError::ambiguous(
                "cannot read the domain XML (injected)",
            ));
        }
        if live {
            self.live
                .clone()
                .ok_or_else(|| BackendError::definite("domain is not running"))
        } else {
            Ok(self.config.clone())
        }
    }

    fn is_running(&mut self) -> Result<bool, BackendError> {
        Ok(self.live.is_some())
    }

    fn pause(&mut self, d: Duration) {
        self.clock += d;
    }

    fn elapsed(&self) -> Duration {
        self.clock
    }
}
