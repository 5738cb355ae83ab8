//! Everything before the devices: name, machine and accelerator, CPU, memory, vCPUs,
//! iothreads, UUID, the QMP monitor (`qemuBuildCommandLine` up to the controllers).

use super::{Cx, Out};
use crate::emit::{escape_keyval, Props, QemuVersion};
use crate::model::YesNo;
use std::path::PathBuf;

/// The emulator binary: `<emulator>`, else `/usr/bin/qemu-system-ARCH`.
pub(super) fn emulator(cx: &Cx<'_>) -> String {
    cx.d.devices
        .emulator()
        .map(str::to_string)
        .unwrap_or_else(|| {
            // QEMU names its 32-bit x86 binary after i386, not i686.
            let arch = cx.plan.machine.arch.as_str();
            let bin = if arch == "i686" { "i386" } else { arch };
            format!("/usr/bin/qemu-system-{bin}")
        })
}

/// The domain's runtime directory (monitor and pr-helper sockets).
pub(super) fn run_dir(cx: &Cx<'_>) -> PathBuf {
    cx.opts.run_dir.clone().unwrap_or_else(|| {
        PathBuf::from("/run/domxml").join(cx.d.name.as_deref().unwrap_or_default())
    })
}

pub(super) fn build(cx: &Cx<'_>, out: &mut Out) {
    let caps = &cx.opts.caps;
    let m = &cx.plan.machine;
    let name = cx.d.name.as_deref().unwrap_or_default();
    let run_dir = run_dir(cx);
    out.args().opt(
        "-name",
        format!("guest={},debug-threads=on", escape_keyval(name)),
    );
    // One shared pr-helper for every managed <reservations>.
    let managed_pr = cx.d.devices.disks().any(|(_, d)| {
        d.source
            .as_ref()
            .and_then(|s| s.reservations.as_ref())
            .is_some_and(|r| r.managed == Some(YesNo::Yes))
    });
    if managed_pr {
        let path = run_dir.join("pr-helper0.sock");
        out.object(
            Props::new()
                .s("qom-type", "pr-manager-helper")
                .s("id", "pr-helper0")
                .s("path", path.to_string_lossy()),
        );
    }
    let machine = escape_keyval(&m.name);
    if caps.version >= QemuVersion::ACCEL_OPTION {
        out.args()
            .opt("-machine", format!("{machine},usb=off,dump-guest-core=off"));
        out.args().opt("-accel", m.accel);
    } else {
        out.args().opt(
            "-machine",
            format!("{machine},accel={},usb=off,dump-guest-core=off", m.accel),
        );
    }
    out.args().opt("-cpu", cpu_model(cx));
    let kib =
        cx.d.memory
            .as_ref()
            .and_then(|m| m.kib())
            .unwrap_or(1024 * 1024)
            .div_ceil(1024)
            * 1024;
    if caps.blockdev() {
        out.args().opt("-m", format!("size={kib}k"));
    } else {
        out.args().opt("-m", (kib / 1024).to_string());
    }
    let vcpus = cx.d.vcpu.as_ref().map(|v| v.count).unwrap_or(1).max(1);
    out.args()
        .opt("-smp", format!("{vcpus},sockets={vcpus},cores=1,threads=1"));
    for id in cx.d.iothread_ids() {
        out.object(
            Props::new()
                .s("qom-type", "iothread")
                .s("id", format!("iothread{id}")),
        );
    }
    if let Some(u) = &cx.d.uuid {
        out.args().opt("-uuid", u.to_string());
    }
    out.args().opt("-display", "none");
    out.args().flag("-no-user-config");
    out.args().flag("-nodefaults");
    let sock = run_dir.join("monitor.sock");
    out.args().opt(
        "-chardev",
        format!(
            "socket,id=charmonitor,path={},server=on,wait=off",
            escape_keyval(&sock.to_string_lossy())
        ),
    );
    out.args()
        .opt("-mon", "chardev=charmonitor,id=monitor,mode=control");
    out.args().opt("-boot", "strict=on");
}

/// `<cpu mode='custom'><model>X</model>` → X; host-passthrough/host-model → host; else QEMU's
/// default model for the architecture, which is what libvirt passes for TCG.
fn cpu_model(cx: &Cx<'_>) -> String {
    let accel = cx.plan.machine.accel;
    if let Some(cpu) = cx.d.other.iter().find(|e| e.name == "cpu") {
        match cpu.attr("mode") {
            Some("host-passthrough") | Some("host-model") if accel == "kvm" => {
                return "host".into()
            }
            Some("maximum") => return "max".into(),
            _ => {}
        }
        if let Some(m) = cpu.elements().find(|e| e.name == "model") {
            let t = m.text();
            let t = t.trim();
            if !t.is_empty() {
                return t.to_string();
            }
        }
    }
    match cx.plan.machine.arch.as_str() {
        "i686" => "qemu32".into(),
        _ => "qemu64".into(),
    }
}
