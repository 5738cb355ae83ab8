//! Conversion time must grow linearly with the number of devices: ten times the disks may
//! not cost anywhere near a hundred times the time (the bound below allows 30×, so noise does
//! not fail it while a quadratic step would).

use domxml::emit::{convert_str, FixedSg, Options};
use std::time::{Duration, Instant};

fn disk_name(mut i: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'a' + (i % 26) as u8);
        if i < 26 {
            break;
        }
        i = i / 26 - 1;
    }
    s.reverse();
    format!("sd{}", String::from_utf8(s).unwrap())
}

/// One virtio-scsi controller with `n` disks at explicit addresses, plus `n/100` iSCSI hostdevs
/// placed by the free-unit search.
fn domain(n: usize) -> String {
    let mut x = String::from(
        "<domain type='qemu'><name>big</name><memory>131072</memory><devices>\
         <controller type='usb' model='none'/><controller type='scsi' index='0' model='virtio-scsi'/>\
         <controller type='scsi' index='1' model='virtio-scsi'/>",
    );
    for i in 0..n {
        x.push_str(&format!(
            "<disk type='file' device='disk'><source file='/img/{i}.img'/><target dev='{}' bus='scsi'/>\
             <address type='drive' controller='0' bus='0' target='{}' unit='{}'/></disk>",
            disk_name(i),
            i / 16000,
            i % 16000
        ));
    }
    for i in 0..n / 100 {
        x.push_str(&format!(
            "<hostdev mode='subsystem' type='scsi'><source protocol='iscsi' name='iqn.2000-01.org.ex:t{i}/0'>\
             <host name='ex.org'/></source></hostdev>"
        ));
    }
    x.push_str("</devices></domain>");
    x
}

fn best_of(runs: usize, xml: &str) -> Duration {
    let opts = Options::default();
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            let c = convert_str(xml, &opts, &FixedSg).expect("converts");
            assert!(c.args.argv().len() > 100);
            t.elapsed()
        })
        .min()
        .unwrap()
}

#[test]
fn ten_times_the_devices_takes_about_ten_times_as_long() {
    let small = domain(1_000);
    let large = domain(10_000);
    let t_small = best_of(3, &small);
    let t_large = best_of(1, &large);
    let ratio = t_large.as_secs_f64() / t_small.as_secs_f64();
    println!("1,000 disks: {t_small:?}; 10,000 disks: {t_large:?}; ratio {ratio:.1}");
    assert!(ratio < 30.0, "conversion is superlinear: ratio {ratio:.1}");
}
