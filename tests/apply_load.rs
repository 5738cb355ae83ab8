//! Load: attach and detach one SCSI disk over and over through the lifecycle manager against
//! libvirt's embedded QEMU driver, then count from QEMU that nothing leaked: no extra
//! device, no extra block node, no slot or reservation left in the manager. Prints cycles
//! per second. `#[ignore]`d in a plain `cargo test` (about two minutes for 1,000 cycles);
//! scripts/test.sh runs it. `DOMXML_LOAD_CYCLES` sets the count.

mod common;
use common::skipped;

use domxml::apply::exec::{open, Options};
use domxml::apply::libvirt::Connection;
use domxml::apply::lifecycle::{AttachState, Config, Request};
use domxml::apply::plan::Targets;
use domxml::apply::slots::SlotEntry;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

#[test]
#[ignore = "about two minutes; scripts/test.sh runs it"]
fn a_thousand_attach_detach_cycles_leak_no_device_node_or_slot() {
    if !Path::new("/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so")
        .exists()
        || !Path::new("/usr/bin/qemu-system-x86_64").exists()
    {
        return skipped("libvirt's QEMU driver or QEMU is not installed");
    }
    let cycles: usize = std::env::var("DOMXML_LOAD_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(
        root.join("etc/qemu.conf"),
        "user = \"root\"\ngroup = \"root\"\nstdio_handler = \"file\"\n",
    )
    .unwrap();
    for n in ["base.img", "load.img"] {
        std::fs::File::create(dir.join(n))
            .unwrap()
            .set_len(8 << 20)
            .unwrap();
    }
    let conn = Connection::open(Some(&format!("qemu:///embed?root={}", root.display()))).unwrap();
    let xml = format!(
        "<domain type='qemu'><name>load</name><memory unit='MiB'>128</memory>\
         <os><type arch='x86_64' machine='pc'>hvm</type></os><devices>\
         <controller type='scsi' index='0' model='virtio-scsi'/>\
         <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='{}/base.img'/><target dev='sda' bus='scsi'/></disk>\
         </devices></domain>",
        dir.display()
    );
    let dom = conn.define("load", &xml).unwrap();
    dom.start().unwrap();
    let count = |dom: &domxml::apply::libvirt::LibvirtDomain| {
        let nodes: Value =
            serde_json::from_str(&dom.qmp(r#"{"execute":"query-named-block-nodes"}"#).unwrap())
                .unwrap();
        let devs: Value = serde_json::from_str(
            &dom.qmp(r#"{"execute":"qom-list","arguments":{"path":"/machine/peripheral"}}"#)
                .unwrap(),
        )
        .unwrap();
        let scsi = devs["return"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["type"].as_str().is_some_and(|t| t.contains("scsi-hd")))
            .count();
        (nodes["return"].as_array().unwrap().len(), scsi)
    };
    let before = count(&dom);
    let cfg = Config {
        detach_deadline: Duration::from_secs(10),
        poll: Duration::from_millis(5),
    };
    let mut m = open(dom, cfg, Options::default()).unwrap();
    let disk = domxml::check_str(&format!(
        "<domain type='qemu'><name>x</name><devices><disk type='file' device='disk'><driver name='qemu' type='raw'/>\
         <source file='{}/load.img'/><target dev='sdb' bus='scsi'/></disk></devices></domain>",
        dir.display()
    ))
    .domain()
    .unwrap()
    .devices
    .items[0]
    .clone();
    // Whatever happens, the domain is destroyed: no QEMU is left running.
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let start = Instant::now();
        for i in 0..cycles {
            let id = m
                .reserve(Request::new(disk.clone(), Targets::LIVE).unwrap())
                .unwrap();
            let a = m.attach(id).unwrap_or_else(|e| panic!("cycle {i}: {e}"));
            assert_eq!(a.state, AttachState::Attached);
            m.release(id).unwrap_or_else(|e| panic!("cycle {i}: {e}"));
        }
        let secs = start.elapsed().as_secs_f64();
        let after = count(m.backend());
        assert_eq!(
            after, before,
            "(block nodes, scsi-hd devices) before and after"
        );
        assert_eq!(m.attachments().count(), 0);
        assert_eq!(m.open_reservations(), 0);
        assert!(m
            .slots()
            .iter()
            .all(|(_, e)| matches!(e, SlotEntry::Pinned { .. })));
        m.check_invariants().unwrap();
        println!(
            "load: {cycles} attach/detach cycles in {secs:.1}s = {:.1} cycles/s; QEMU before and after: {} block nodes, {} scsi-hd",
            cycles as f64 / secs,
            after.0,
            after.1
        );
    }));
    let _ = m.backend().destroy();
    if let Err(p) = r {
        std::panic::resume_unwind(p);
    }
}
