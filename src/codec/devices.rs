//! `<devices>`: every device read, and written back, in document order.
//!
//! A domain of 100,000 disks is nearly all `<devices>`, so this is where big domains spend
//! their time. Reading and writing one device never looks at another, so long device lists
//! are cut into runs read or written on several cores ([`crate::par`]); the runs' results
//! (devices, diagnostics, text) are joined in document order, which makes the outcome the
//! same as one pass.

use super::controller::{read_controller, write_controller};
use super::disk::{read_disk, write_disk};
use super::domain::OTHER_DEVICES;
use super::hostdev::{read_hostdev, write_hostdev};
use super::reader::{apply_kept, did_you_mean, keep, stray_text, Ctx, R};
use crate::diag::{codes, Diagnostic};
use crate::model::{ChildExtra, Device, Devices, Extra};
use crate::xml::{Child, Element, Node};

/// What one run of `<devices>`' children gives.
struct ReadRun {
    items: Vec<Device>,
    /// Unknown content of each `<emulator>`, by its index in `items`.
    emulators: Vec<(usize, Extra)>,
    diags: Vec<Diagnostic>,
}

pub(super) fn read_devices(r: R<'_>, kept: &mut ChildExtra) -> Devices {
    let cx = r.cx();
    stray_text(cx, r.el);
    let mut known: Vec<&str> = vec!["emulator", "disk", "controller", "hostdev"];
    known.extend_from_slice(OTHER_DEVICES);
    let el = r.el;
    let children: Vec<Child<'_>> = el.children().collect();
    let runs = crate::par::runs(&children, |_, run| read_run(run, &known));
    let mut items = Vec::new();
    for run in runs {
        let base = items.len();
        if base == 0 {
            // The first run's vector is kept (no copy when there is one run).
            items = run.items;
        } else {
            items.extend(run.items);
        }
        for (i, extra) in run.emulators {
            keep(kept, &format!("devices/emulator[{}]", base + i), extra);
        }
        cx.diags.borrow_mut().extend(run.diags);
    }
    // Attributes on <devices> are not libvirt syntax; keep them and warn.
    let mut extra = Extra::default();
    for a in el.attrs() {
        extra
            .attrs
            .push((a.name().to_string(), a.value().to_string()));
        cx.push(
            Diagnostic::new(
                codes::W002,
                format!("{}/@{}", r.path(), a.name()),
                format!(
                    "unknown attribute {} on <devices> (kept as written)",
                    crate::diag::quote(a.name())
                ),
            )
            .at(a.pos()),
        );
    }
    Devices { items, extra }
}

/// Read a run of `<devices>`' children with a context of its own.
fn read_run(run: &[Child<'_>], known: &[&str]) -> ReadRun {
    let cx = Ctx::default();
    // About half the children are the line breaks between devices.
    let mut items = Vec::with_capacity(run.len() / 2 + 1);
    let mut emulators = Vec::new();
    for n in run {
        let c = match *n {
            Child::Element(c) => c,
            Child::Comment(t) => {
                items.push(Device::Comment(t.to_string()));
                continue;
            }
            _ => continue,
        };
        let cr = R::new(&cx, c);
        let dev = match c.name() {
            "emulator" => {
                let e = cr.text().trim().to_string();
                emulators.push((items.len(), cr.finish()));
                Some(Device::Emulator(e))
            }
            "disk" => Some(Device::Disk(Box::new(read_disk(cr)))),
            "controller" => read_controller(cr).map(|x| Device::Controller(Box::new(x))),
            "hostdev" => read_hostdev(cr).map(|x| Device::Hostdev(Box::new(x))),
            name => {
                if !OTHER_DEVICES.contains(&name) && !name.contains(':') {
                    let mut d = Diagnostic::new(
                        codes::W001,
                        c.path(),
                        format!(
                            "unknown device <{}> (kept as written)",
                            crate::diag::clip(name)
                        ),
                    )
                    .at(c.pos());
                    if let Some(s) = did_you_mean(name, known.iter().copied()) {
                        d = d.hint(format!("did you mean <{s}>?"));
                    }
                    cx.push(d);
                }
                Some(Device::Other(c.to_element()))
            }
        };
        if let Some(d) = dev {
            items.push(d);
        }
    }
    ReadRun {
        items,
        emulators,
        diags: cx.diags.into_inner(),
    }
}

pub(super) fn write_devices(d: &Devices, kept: &ChildExtra) -> Element {
    let mut el = devices_start(d);
    for (i, item) in d.items.iter().enumerate() {
        el.children.push(device_node(i, item, kept));
    }
    el
}

/// `<devices>` with its attributes and no children.
pub(super) fn devices_start(d: &Devices) -> Element {
    let mut el = Element::new("devices");
    for (k, v) in &d.extra.attrs {
        el.push_attr(k.clone(), v.clone());
    }
    el
}

/// The children of `<devices>` in canonical form, in order, appended to `out` by the
/// streaming writer: no tree of every device is ever built (100,000 disks would be ~100 MB of
/// elements written once and dropped). Long lists are written in runs on several cores, each
/// into its own text, appended in order.
pub(super) fn stream_devices(d: &Devices, kept: &ChildExtra, out: &mut String) {
    let write_run = |out: &mut String, start: usize, run: &[Device]| {
        for (i, item) in run.iter().enumerate() {
            crate::xml::write_node(out, &device_node(start + i, item, kept), 2);
        }
    };
    if crate::par::one_run(d.items.len()) {
        write_run(out, 0, &d.items);
        return;
    }
    let texts = crate::par::runs(&d.items, |start, run| {
        let mut text = String::new();
        write_run(&mut text, start, run);
        text
    });
    out.reserve(texts.iter().map(String::len).sum());
    for text in texts {
        out.push_str(&text);
    }
}

/// Device `i` of `<devices>` as a node in canonical form.
fn device_node(i: usize, item: &Device, kept: &ChildExtra) -> Node {
    match item {
        Device::Emulator(e) => {
            let mut ee = Element::new("emulator").with_text(e.clone());
            apply_kept(&mut ee, kept, &format!("devices/emulator[{i}]"));
            Node::Element(ee)
        }
        Device::Disk(x) => Node::Element(write_disk(x)),
        Device::Controller(x) => Node::Element(write_controller(x)),
        Device::Hostdev(x) => Node::Element(write_hostdev(x)),
        Device::Other(x) => Node::Element(x.clone()),
        Device::Comment(c) => Node::Comment(c.clone()),
    }
}
