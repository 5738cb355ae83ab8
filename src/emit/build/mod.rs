//! The command line proper, one builder per device family, in libvirt's order
//! (`qemuBuildCommandLine`): the machine preamble, controllers, disks with their backends,
//! hostdevs, whole-host passthrough LUs, the balloon.
//!
//! Builders only read: the [`Plan`] holds every address and name, the [`ResolvedDomain`]
//! every host fact. What they write goes into one [`QemuArgs`] through [`Out`], which also
//! collects the notes about devices domxml does not emit.

mod controllers;
mod disks;
mod hostdevs;
mod preamble;
mod storage;
mod whole_host;

use super::plan::{Key, Plan};
use super::{Converted, EmitError, Note, Options, Props, QemuArgs};
use crate::model::Domain;
use crate::resolve::ResolvedDomain;

/// What builders read.
pub(crate) struct Cx<'a> {
    pub d: &'a Domain,
    pub plan: &'a Plan<'a>,
    pub opts: &'a Options,
    pub resolved: &'a ResolvedDomain,
}

/// What builders write.
pub(crate) struct Out {
    args: QemuArgs,
    notes: Vec<Note>,
    device_json: bool,
    object_json: bool,
}

impl Out {
    /// An empty `Out` that writes as this one does: what a run of devices built on another
    /// thread writes into, to be [`Out::append`]ed in order afterwards.
    pub fn blank(&self) -> Out {
        Out {
            args: QemuArgs::empty(),
            notes: Vec::new(),
            device_json: self.device_json,
            object_json: self.object_json,
        }
    }

    /// What `other` (made by [`Out::blank`]) wrote, after what this one holds.
    pub fn append(&mut self, other: Out) {
        self.args.append(other.args);
        self.notes.extend(other.notes);
    }

    /// A `-device`, JSON or legacy keyval as the QEMU version takes it.
    pub fn device(&mut self, props: Props) {
        if self.device_json {
            self.args.json("-device", &props);
        } else {
            self.args.keyval("-device", &props, Some("driver"));
        }
    }

    /// An `-object`, JSON or legacy keyval as the QEMU version takes it.
    pub fn object(&mut self, props: Props) {
        if self.object_json {
            self.args.json("-object", &props);
        } else {
            self.args.keyval("-object", &props, Some("qom-type"));
        }
    }

    /// A `-blockdev` (always JSON).
    pub fn blockdev(&mut self, props: &Props) {
        self.args.json("-blockdev", props);
    }

    /// A legacy `-drive`.
    pub fn drive(&mut self, props: &Props) {
        self.args.keyval("-drive", props, None);
    }

    /// Any other option.
    pub fn args(&mut self) -> &mut QemuArgs {
        &mut self.args
    }

    /// A note about a device that is not emitted.
    pub fn note(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.notes.push(Note {
            path: path.into(),
            message: message.into(),
        });
    }
}

/// `build(out, item)` for every item, in order, into `out`. Thousands of items are built in
/// runs on several cores ([`crate::par`]), each run into its own [`Out`], appended in order:
/// the same words and notes as one pass, and on failure the same error (that of the first
/// item in order that fails).
pub(super) fn in_runs<T: Sync>(
    out: &mut Out,
    items: &[T],
    build: impl Fn(&mut Out, &T) -> Result<(), EmitError> + Sync,
) -> Result<(), EmitError> {
    let blank = out.blank();
    let parts = crate::par::runs(items, |_, run| {
        let mut o = blank.blank();
        run.iter()
            .try_for_each(|item| build(&mut o, item))
            .map(|()| o)
    });
    let (words, lines) = parts.iter().flatten().fold((0, 0), |(w, l), part| {
        let (pw, pl) = part.args.size();
        (w + pw, l + pl)
    });
    out.args.reserve(words, lines);
    for part in parts {
        out.append(part?);
    }
    Ok(())
}

impl Cx<'_> {
    /// The element path of a device item.
    pub fn path(&self, item: usize) -> &str {
        self.plan.path(item)
    }

    /// The PCI (or, on s390x, CCW) address keys of a device.
    pub fn pci_props(&self, key: Key, p: Props) -> Props {
        if let Some(devno) = self.plan.ccw.get(&key) {
            return p.s("devno", devno.clone());
        }
        match self.plan.pci.get(&key) {
            Some(s) => {
                let p = p.s("bus", self.plan.bus_name(s.bus));
                let p = match s.multi {
                    Some(m) => p.b("multifunction", m),
                    None => p,
                };
                p.s("addr", s.addr())
            }
            None => p,
        }
    }

    /// The `-device` address keys of a SCSI device (`qemuBuildDeviceAddressProps`, drive case).
    pub fn scsi_address(&self, addr: (u32, u32, u32, u32)) -> Props {
        let (c, bus, target, unit) = addr;
        // `scsi0.0`: the controller's alias, a dot and the bus (every SCSI device has one).
        let mut qbus = self.plan.names.scsi(c);
        qbus.push('.');
        match self.plan.layout.model_of(c) {
            Some(m) if m.is_lsi_style() => {
                crate::decimal::push_decimal(&mut qbus, u64::from(bus));
                Props::new().s("bus", qbus).n("scsi-id", u64::from(unit))
            }
            _ => Props::new()
                .s("bus", qbus + "0")
                .n("channel", u64::from(bus))
                .n("scsi-id", u64::from(target))
                .n("lun", u64::from(unit)),
        }
    }
}

/// Build the command line of a planned domain.
pub(crate) fn build(cx: &Cx<'_>) -> Result<Converted, EmitError> {
    let caps = &cx.opts.caps;
    let mut out = Out {
        args: QemuArgs::new(preamble::emulator(cx)),
        notes: Vec::new(),
        device_json: caps.device_json(),
        object_json: caps.object_json(),
    };
    preamble::build(cx, &mut out);
    controllers::build(cx, &mut out)?;
    disks::build(cx, &mut out)?;
    hostdevs::build(cx, &mut out)?;
    whole_host::build(cx, &mut out)?;
    controllers::balloon(cx, &mut out);
    controllers::note_controllers(cx, &mut out);
    controllers::note_others(cx, &mut out);
    Ok(Converted {
        args: out.args,
        notes: out.notes,
        host_warnings: cx.resolved.warnings.clone(),
    })
}

/// What the tests of builders done in runs share.
#[cfg(test)]
pub(super) mod runs_tests {
    /// A domain up to its first device: a pc guest with one virtio-scsi controller.
    pub const HEAD: &str = "<domain type='qemu'><name>g</name><memory>1024</memory>\
        <os><type arch='x86_64' machine='pc'>hvm</type></os><devices>\
        <controller type='scsi' index='0' model='virtio-scsi'/>";

    /// Everything a conversion gives, as text (the words and their lines, the notes, or the
    /// error), with the device lists cut into `runs` runs.
    pub fn converted_in_runs(xml: &str, runs: usize) -> String {
        crate::par::with_runs(runs, || {
            match crate::convert_str(xml, &Default::default()) {
                Ok(c) => format!("{}\n{:?}", c.snapshot(), c.args.argv()),
                Err(e) => format!("error: {e:?}"),
            }
        })
    }

    /// `generated` and every fixture domain convert the same in 1, 2, 3 and 7 runs.
    pub fn assert_runs_agree(generated: &[(&str, &str)]) {
        let mut inputs: Vec<(String, String)> = generated
            .iter()
            .map(|(n, x)| (n.to_string(), x.to_string()))
            .collect();
        for dir in ["fixtures/domains", "fixtures/libvirt-cases"] {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                if e.path().extension().is_some_and(|x| x == "xml") {
                    if let Ok(s) = std::fs::read_to_string(e.path()) {
                        inputs.push((e.path().display().to_string(), s));
                    }
                }
            }
        }
        assert!(inputs.len() > 40, "only {} inputs", inputs.len());
        for (name, xml) in &inputs {
            let one = converted_in_runs(xml, 1);
            for runs in [2, 3, 7] {
                assert_eq!(converted_in_runs(xml, runs), one, "{name} in {runs} runs");
            }
        }
    }
}
