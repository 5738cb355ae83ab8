//! Parse, validate, format and convert domains with many SCSI devices, at growing sizes, to
//! show that cost grows linearly with the number of devices. (Conversion includes its own
//! parse and validation.)
//!
//! Run: `cargo bench --bench validate` (or `-- 100000` for one size). Prints one line per size
//! with the median of several runs and the time per device.

mod common;
use common::{disk_letters, median};
use domxml::xml::Limits;
use std::time::Instant;

/// A domain with `n` SCSI disks spread over virtio-scsi controllers and `n / 4` SCSI hostdevs.
fn domain(n: usize) -> String {
    let mut s = String::from(
        "<domain type='qemu'><name>bench</name><memory unit='MiB'>512</memory><devices>\n",
    );
    // virtio-scsi takes 256 targets of 16,384 LUNs: a few controllers hold 100,000 disks and
    // stay within a pc machine's 32 PCI slots.
    let controllers = n / 16_000 + 1;
    for c in 0..controllers {
        s.push_str(&format!(
            "<controller type='scsi' index='{c}' model='virtio-scsi'/>\n"
        ));
    }
    for i in 0..n {
        let c = i % controllers;
        let (t, u) = ((i / controllers) / 128, (i / controllers) % 128);
        s.push_str(&format!(
            "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/var/lib/images/d{i}.img'/>\
             <target dev='sd{}' bus='scsi'/><address type='drive' controller='{c}' bus='0' target='{t}' unit='{u}'/></disk>\n",
            disk_letters(i)
        ));
    }
    // Hostdevs at explicit addresses on targets the disks leave free, and a few without an
    // address for the free-unit search (libvirt's rule puts 7 on each new controller, each of
    // which needs a PCI slot, so only a handful).
    for i in 0..n / 4 {
        let c = i % controllers;
        let k = i / controllers;
        let addr = if i < 21 {
            String::new()
        } else {
            format!(
                "<address type='drive' controller='{c}' bus='0' target='{}' unit='{}'/>",
                128 + k / 128,
                k % 128
            )
        };
        s.push_str(&format!(
            "<hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host{}'/><address bus='0' target='{}' unit='{}'/></source>{addr}</hostdev>\n",
            i / 65536,
            (i / 256) % 256,
            i % 256
        ));
    }
    s.push_str("</devices></domain>\n");
    s
}

fn main() {
    let sizes: Vec<usize> = match std::env::args().nth(1).and_then(|a| a.parse().ok()) {
        Some(n) => vec![n],
        None => vec![1_000, 10_000, 100_000],
    };
    println!(
        "{:>8} {:>8} {:>12} {:>12} {:>12} {:>12} {:>10}",
        "devices", "MiB", "parse", "validate", "fmt", "convert", "µs/device"
    );
    for n in sizes {
        let xml = domain(n);
        let runs = if n >= 100_000 { 3 } else { 5 };
        let (mut p, mut v, mut f, mut c) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            let t = Instant::now();
            let parsed = domxml::codec::parse_bytes(xml.as_bytes(), Limits::default())
                .expect("bench domain parses");
            p.push(t.elapsed());
            let t = Instant::now();
            let diags = domxml::validate::validate(&parsed.definition);
            v.push(t.elapsed());
            assert!(
                diags.is_empty(),
                "bench domain is invalid: {:?}",
                &diags[..diags.len().min(3)]
            );
            let t = Instant::now();
            let out = domxml::codec::write_document(&parsed);
            f.push(t.elapsed());
            assert!(out.len() > xml.len() / 2);
            let t = Instant::now();
            let conv = domxml::convert_str(&xml, &domxml::Options::default())
                .expect("bench domain converts");
            c.push(t.elapsed());
            assert!(conv.args.argv().len() > n);
        }
        let (p, v, f, c) = (median(p), median(v), median(f), median(c));
        let devices = n + n / 4;
        println!(
            "{devices:>8} {:>8.1} {:>12?} {:>12?} {:>12?} {:>12?} {:>10.2}",
            xml.len() as f64 / (1 << 20) as f64,
            p,
            v,
            f,
            c,
            (p + v + f + c).as_secs_f64() * 1e6 / devices as f64
        );
    }
}
