//! The lifecycle manager over the fault-injecting fake: one test per gap (a)–(h) of the
//! device-lifecycle study (each would fail on the design it criticises), the manager's other
//! promises, and a fault-injection run over generated plans.

use domxml::apply::backend::Backend;
use domxml::apply::exec::{as_written, execute, open, Options};
use domxml::apply::fake::{FakeDomain, Fault};
use domxml::apply::lifecycle::{
    AttachError, AttachState, Config, Lifecycle, ReleaseError, Request, ReserveError, Resource,
};
use domxml::apply::plan::{diff, Targets};
use domxml::model::{Device, Domain};
use std::time::{Duration, Instant};

fn domain(xml: &str) -> Domain {
    let c = domxml::check_str(xml);
    assert!(c.is_valid(false), "{:?}", c.diagnostics);
    c.domain().unwrap().clone()
}

fn device(xml: &str) -> Device {
    let d = domain(&format!(
        "<domain type='qemu'><name>x</name><devices>{xml}</devices></domain>"
    ));
    d.devices.items[0].clone()
}

const BASE: &str = "<domain type='qemu'><name>vm</name><devices>\
  <controller type='scsi' index='0' model='virtio-scsi'/>\
  <disk type='file' device='disk'><source file='/img/boot.img'/><target dev='sda' bus='scsi'/>\
  <address type='drive' controller='0' bus='0' target='0' unit='0'/></disk>\
  </devices></domain>";

fn cfg() -> Config {
    Config {
        detach_deadline: Duration::from_millis(200),
        poll: Duration::from_millis(20),
    }
}

fn manager(fake: FakeDomain) -> Lifecycle<FakeDomain> {
    let mut m = Lifecycle::new(fake, cfg());
    m.pin_existing().unwrap();
    m
}

fn disk(file: &str, dev: &str) -> Device {
    device(&format!(
        "<disk type='file' device='disk'><source file='{file}'/><target dev='{dev}' bus='scsi'/></disk>"
    ))
}

fn req(d: Device) -> Request {
    Request::new(d, Targets::BOTH).unwrap()
}

fn calls(m: &mut Lifecycle<FakeDomain>, what: &str) -> usize {
    m.backend()
        .log
        .iter()
        .filter(|l| l.starts_with(what))
        .count()
}

fn has(m: &mut Lifecycle<FakeDomain>, dev: &str) -> bool {
    let d = m.backend().live.clone().unwrap();
    let found = d.devices.disks().any(|(_, x)| x.dev() == Some(dev));
    found
}

// ---- (a) a failed follow-up must not make the release fail forever ----

#[test]
fn gap_a_attach_whose_follow_up_fails_is_cleaned_up_by_release() {
    // Call 2 (after pinning's two reads) is the attach; call 3 the confirming read fails.
    let fake = FakeDomain::new(domain(BASE), true).fail_at(3, Fault::Definite);
    let mut m = manager(fake);
    let id = m.reserve(req(disk("/img/a.img", "sdb"))).unwrap();
    let e = m.attach(id).unwrap_err();
    assert!(matches!(e, AttachError::FollowUp { .. }), "{e}");
    assert_eq!(
        m.attachment_of(id).unwrap().state,
        AttachState::CleanupPending
    );
    m.release(id).unwrap();
    assert!(!has(&mut m, "sdb"));
    assert_eq!(m.attachments().count(), 0);
    m.check_invariants().unwrap();
}

// ---- (b) reserve then release without attach frees the slot ----

#[test]
fn gap_b_release_without_attach_frees_the_slot_with_no_call() {
    let mut m = manager(FakeDomain::new(domain(BASE), true));
    let before = m.backend().calls;
    let id = m.reserve(req(disk("/img/a.img", "sdb"))).unwrap();
    m.release(id).unwrap();
    assert_eq!(m.backend().calls, before, "no libvirt call");
    assert_eq!(m.attachments().count(), 0);
    // The slot is reusable at once.
    let id2 = m.reserve(req(disk("/img/other.img", "sdb"))).unwrap();
    m.attach(id2).unwrap();
    m.check_invariants().unwrap();
}

// ---- (c) attach failure with two reservations: the slot stays until both are released ----

#[test]
fn gap_c_failed_attach_shared_by_two_reservations_keeps_its_slot_until_both_release() {
    let fake = FakeDomain::new(domain(BASE), true).fail_at(2, Fault::Definite);
    let mut m = manager(fake);
    let r1 = m.reserve(req(disk("/img/a.img", "sdb"))).unwrap();
    let r2 = m.reserve(req(disk("/img/a.img", "sdb"))).unwrap();
    assert!(m.attach(r1).is_err());
    m.release(r1).unwrap();
    // The slot is still held for r2: another device cannot take it.
    let other = device("<disk type='file' device='disk'><source file='/img/b.img'/><target dev='sdc' bus='scsi'/><address type='drive' controller='0' bus='0' target='0' unit='1'/></disk>");
    let held = m.attachment_of(r2).unwrap().slots.clone();
    assert!(
        held.iter().any(|s| s.to_string().contains("0:0:0:1")),
        "{held:?}"
    );
    assert!(matches!(
        m.reserve(req(other.clone())),
        Err(ReserveError::SlotTaken { .. })
    ));
    // r2 must release too (the attachment failed, it is refused until then), with no panic.
    assert!(matches!(
        m.attach(r2),
        Err(AttachError::ReleaseFirst { .. })
    ));
    m.release(r2).unwrap();
    assert_eq!(
        calls(&mut m, "detach"),
        0,
        "nothing was attached: nothing to detach"
    );
    m.reserve(req(other)).unwrap();
    m.check_invariants().unwrap();
}

// ---- (d) references are an explicit set: a reservation never attached does not block ----

#[test]
fn gap_d_reference_of_a_reservation_that_never_attached_does_not_block_the_detach() {
    let mut m = manager(FakeDomain::new(domain(BASE), true));
    let r1 = m.reserve(req(disk("/img/a.img", "sdb"))).unwrap();
    let r2 = m.reserve(req(disk("/img/a.img", "sdb"))).unwrap();
    m.attach(r2).unwrap();
    m.release(r1).unwrap();
    assert!(has(&mut m, "sdb"), "r2 still uses it");
    m.release(r2).unwrap();
    assert!(!has(&mut m, "sdb"));
    assert_eq!(calls(&mut m, "detach"), 1);
    assert_eq!(m.attachments().count(), 0);
}

// ---- (e) ambiguous host errors are reconciled, not taken as definite ----

#[test]
fn gap_e_timeout_after_the_attach_happened_is_found_attached_and_detached_once() {
    let fake = FakeDomain::new(domain(BASE), true).fail_at(2, Fault::TimeoutAfter);
    let mut m = manager(fake);
    let id = m.reserve(req(disk("/img/a.img", "sdb"))).unwrap();
    m.attach(id).unwrap();
    assert_eq!(m.attachment_of(id).unwrap().state, AttachState::Attached);
    m.release(id).unwrap();
    assert_eq!(calls(&mut m, "detach"), 1);
    assert!(!has(&mut m, "sdb"));
}

#[test]
fn gap_e_timeout_with_the_domain_unreadable_is_cleaned_up_by_a_tolerant_detach() {
    // The attach times out after taking effect, and the read that would tell fails too.
    let fake = FakeDomain::new(domain(BASE), true)
        .fail_at(2, Fault::TimeoutAfter)
        .fail_at(3, Fault::Definite);
    let mut m = manager(fake);
    let id = m.reserve(req(disk("/img/a.img", "sdb"))).unwrap();
    assert!(m.attach(id).is_err());
    assert_eq!(
        m.attachment_of(id).unwrap().state,
        AttachState::CleanupPending
    );
    m.release(id).unwrap();
    assert!(!has(&mut m, "sdb"));
    let config = m.backend().config.clone();
    assert!(config.devices.disks().all(|(_, d)| d.dev() != Some("sdb")));
}

#[test]
fn gap_e_timeout_before_anything_happened_is_attach_failed_with_nothing_to_detach() {
    let fake = FakeDomain::new(domain(BASE), true).fail_at(2, Fault::TimeoutBefore);
    let mut m = manager(fake);
    let id = m.reserve(req(disk("/img/a.img", "sdb"))).unwrap();
    assert!(m.attach(id).is_err());
    assert_eq!(
        m.attachment_of(id).unwrap().state,
        AttachState::AttachFailed
    );
    m.release(id).unwrap();
    assert_eq!(calls(&mut m, "detach"), 0);
}

// ---- (f) teardown is fenced against new references ----

#[test]
fn gap_f_reserve_is_refused_while_a_failed_detach_is_pending() {
    let mut m = manager(FakeDomain::new(domain(BASE), true));
    let id = m.reserve(req(disk("/img/a.img", "sdb"))).unwrap();
    m.attach(id).unwrap();
    let n = m.backend().calls;
    m.backend().faults.insert(n, Fault::Definite);
    // The detach fails and the device is still there: cleanup pending.
    let e = m.release(id).unwrap_err();
    assert!(matches!(e, ReleaseError::Backend { .. }), "{e}");
    let again = m.reserve(req(disk("/img/a.img", "sdb")));
    assert!(
        matches!(
            again,
            Err(ReserveError::Busy {
                state: AttachState::CleanupPending,
                ..
            })
        ),
        "{again:?}"
    );
    m.release(id).unwrap();
    // Once cleaned up, a fresh attachment (new id) serves the next user.
    let id2 = m.reserve(req(disk("/img/a.img", "sdb"))).unwrap();
    m.attach(id2).unwrap();
    assert_eq!(calls(&mut m, "attach"), 2);
}

#[test]
fn gap_f_reserve_is_refused_while_a_removal_is_unconfirmed() {
    let mut m = manager(FakeDomain::new(domain(BASE), true));
    let id = m.reserve(req(disk("/img/a.img", "sdb"))).unwrap();
    m.attach(id).unwrap();
    let n = m.backend().calls;
    m.backend().faults.insert(n, Fault::StuckRemoval);
    let e = m.release(id).unwrap_err();
    assert!(matches!(e, ReleaseError::NotConfirmed { .. }), "{e}");
    assert!(matches!(
        m.reserve(req(disk("/img/a.img", "sdb"))),
        Err(ReserveError::Busy { .. })
    ));
    // The slot is not reused either until the removal is confirmed.
    let same_slot = device("<disk type='file' device='disk'><source file='/img/z.img'/><target dev='sdc' bus='scsi'/><address type='drive' controller='0' bus='0' target='0' unit='1'/></disk>");
    assert!(matches!(
        m.reserve(req(same_slot)),
        Err(ReserveError::SlotTaken { .. })
    ));
    m.release(id).unwrap();
    assert!(!has(&mut m, "sdb"));
}

// ---- (g) pre-existing devices are pinned, never reserved or attached twice ----

#[test]
fn gap_g_a_device_the_domain_had_is_pinned_and_never_attached_again() {
    let mut m = manager(FakeDomain::new(domain(BASE), true));
    let boot = disk("/img/boot.img", "sda");
    assert!(matches!(
        m.reserve(req(boot)),
        Err(ReserveError::Pinned { .. })
    ));
    let at_boot_slot = device("<disk type='file' device='disk'><source file='/img/n.img'/><target dev='sdq' bus='scsi'/><address type='drive' controller='0' bus='0' target='0' unit='0'/></disk>");
    assert!(matches!(
        m.reserve(req(at_boot_slot)),
        Err(ReserveError::SlotTaken { .. })
    ));
    assert_eq!(calls(&mut m, "attach"), 0);
    assert_eq!(m.backend().double_attaches, 0);
}

// ---- (h) accurate messages; paths compared canonically ----

#[test]
fn gap_h_paths_are_compared_canonically() {
    let mut m = manager(FakeDomain::new(domain(BASE), true));
    let r1 = m.reserve(req(disk("/img/x/../a.img", "sdb"))).unwrap();
    let r2 = m.reserve(req(disk("//img/./a.img", "sdb"))).unwrap();
    assert_eq!(
        m.attachment_of(r1).unwrap().id,
        m.attachment_of(r2).unwrap().id
    );
    assert_eq!(
        m.attachment_of(r1).unwrap().resource,
        Resource("file /img/a.img".into())
    );
}

#[test]
fn gap_h_a_failed_attachment_says_so_rather_than_already_attached() {
    let fake = FakeDomain::new(domain(BASE), true).fail_at(2, Fault::Definite);
    let mut m = manager(fake);
    let id = m.reserve(req(disk("/img/a.img", "sdb"))).unwrap();
    let _ = m.attach(id);
    let msg = m.attach(id).unwrap_err().to_string();
    assert!(
        msg.contains("AttachFailed") && msg.contains("release it first"),
        "{msg}"
    );
    assert!(!msg.contains("already attached"));
}

// ---- the manager's other promises ----

#[test]
fn same_lu_as_a_lun_disk_and_as_a_hostdev_is_a_conflict_not_a_share() {
    let mut m = manager(FakeDomain::new(domain(BASE), true));
    let lu = Resource("lu wwid naa.600140512345".into());
    let lun = device("<disk type='block' device='lun'><source dev='/dev/sdx'/><target dev='sdb' bus='scsi'/></disk>");
    let hd = device("<hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host3'/><address bus='0' target='0' unit='1'/></source></hostdev>");
    let mk = |d: Device| Request {
        device: d,
        resource: lu.clone(),
        targets: Targets::BOTH,
    };
    m.reserve(mk(lun)).unwrap();
    let e = m.reserve(mk(hd)).unwrap_err();
    assert!(matches!(e, ReserveError::Conflict { .. }), "{e}");
}

#[test]
fn same_file_with_different_settings_is_a_conflict_and_changes_nothing() {
    let mut m = manager(FakeDomain::new(domain(BASE), true));
    m.reserve(req(disk("/img/a.img", "sdb"))).unwrap();
    let before: Vec<_> = m
        .slots()
        .iter()
        .map(|(s, e)| (s.clone(), e.clone()))
        .collect();
    let ro = device("<disk type='file' device='disk'><source file='/img/a.img'/><target dev='sdb' bus='scsi'/><readonly/></disk>");
    assert!(matches!(
        m.reserve(req(ro)),
        Err(ReserveError::Conflict { .. })
    ));
    let after: Vec<_> = m
        .slots()
        .iter()
        .map(|(s, e)| (s.clone(), e.clone()))
        .collect();
    assert_eq!(before, after);
    assert_eq!(m.open_reservations(), 1);
}

#[test]
fn shared_device_is_attached_once_and_detached_only_by_the_last_release() {
    let mut m = manager(FakeDomain::new(domain(BASE), true));
    let r1 = m.reserve(req(disk("/img/a.img", "sdb"))).unwrap();
    let r2 = m.reserve(req(disk("/img/a.img", "sdb"))).unwrap();
    m.attach(r1).unwrap();
    m.attach(r2).unwrap();
    assert_eq!(calls(&mut m, "attach"), 1);
    m.release(r2).unwrap();
    assert_eq!(calls(&mut m, "detach"), 0);
    m.release(r1).unwrap();
    assert_eq!(calls(&mut m, "detach"), 1);
}

#[test]
fn retried_release_never_drops_a_reference_twice() {
    let mut m = manager(FakeDomain::new(domain(BASE), true));
    let r1 = m.reserve(req(disk("/img/a.img", "sdb"))).unwrap();
    let r2 = m.reserve(req(disk("/img/a.img", "sdb"))).unwrap();
    m.attach(r1).unwrap();
    // r1 drops its reference; releasing it again must not drop r2's.
    m.release(r1).unwrap();
    assert!(matches!(m.release(r1), Err(ReleaseError::NotFound(_))));
    assert_eq!(m.attachment_of(r2).unwrap().refs.len(), 1);
    assert!(has(&mut m, "sdb"));
    // A release that fails midway resumes without dropping anything again.
    let n = m.backend().calls;
    m.backend().faults.insert(n, Fault::Definite);
    assert!(m.release(r2).is_err());
    m.check_invariants().unwrap();
    m.release(r2).unwrap();
    assert!(!has(&mut m, "sdb"));
    m.check_invariants().unwrap();
}

#[test]
fn detach_waits_for_a_slow_removal_and_a_retry_after_the_deadline_sends_no_second_detach() {
    let mut m = manager(FakeDomain::new(domain(BASE), true));
    let id = m.reserve(req(disk("/img/a.img", "sdb"))).unwrap();
    m.attach(id).unwrap();
    let n = m.backend().calls;
    // Gone after 40 reads; the deadline allows 10 polls of two reads (live and config).
    m.backend().faults.insert(n, Fault::SlowRemoval(40));
    assert!(matches!(
        m.release(id),
        Err(ReleaseError::NotConfirmed { .. })
    ));
    for _ in 0..20 {
        m.backend().read(true).unwrap();
    }
    m.release(id).unwrap();
    assert_eq!(calls(&mut m, "detach"), 1);
}

#[test]
fn adopting_a_pinned_device_detaches_it_and_frees_its_slots() {
    let mut m = manager(FakeDomain::new(domain(BASE), true));
    let key = domxml::apply::DeviceKey::Disk {
        target: "sda".into(),
    };
    let id = m.adopt(&key, Targets::BOTH).unwrap();
    m.release(id).unwrap();
    assert!(!has(&mut m, "sda"));
    assert_eq!(m.pinned().filter(|k| **k == key).count(), 0);
    m.reserve(req(disk("/img/new.img", "sda"))).unwrap();
    m.check_invariants().unwrap();
}

#[test]
fn auto_addresses_are_explicit_lowest_free_and_skip_pinned_slots() {
    let mut m = manager(FakeDomain::new(domain(BASE), true));
    // sdb's derived address 0:0:0:1 is free: it is used, and written in.
    let id = m.reserve(req(disk("/img/a.img", "sdb"))).unwrap();
    let a = m.attachment_of(id).unwrap();
    let xml = domxml::codec::write_device(&a.device).unwrap();
    assert!(
        xml.contains("<address type='drive' controller='0' bus='0' target='0' unit='1'/>"),
        "{xml}"
    );
    // sdh derives 1:0:0:0 (no such controller): the lowest free one on controller 0 is taken.
    let id = m.reserve(req(disk("/img/h.img", "sdh"))).unwrap();
    let xml = domxml::codec::write_device(&m.attachment_of(id).unwrap().device).unwrap();
    assert!(xml.contains("unit='2'"), "{xml}");
}

// ---- fault injection over generated plans ----

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn gen(rng: &mut Rng) -> Option<Domain> {
    let mut x = String::from(
        "<domain type='qemu'><name>gen</name><devices><controller type='scsi' index='0' model='virtio-scsi'/>",
    );
    let two = rng.below(3) == 0;
    if two {
        x.push_str("<controller type='scsi' index='1' model='virtio-scsi'/>");
    }
    let mut used = std::collections::BTreeSet::new();
    for n in 0..6u32 {
        if rng.below(2) == 0 {
            continue;
        }
        let dev = domxml::assign::disk_name("sd", n);
        let c = if two && rng.below(2) == 0 { 1 } else { 0 };
        let unit = rng.below(4) as u32;
        let addr = if used.insert((c, unit)) {
            format!("<address type='drive' controller='{c}' bus='0' target='0' unit='{unit}'/>")
        } else {
            continue;
        };
        let src = rng.below(3);
        x.push_str(&match rng.below(3) {
            0 => format!("<disk type='file' device='cdrom'><source file='/img/m{src}.iso'/><target dev='{dev}' bus='scsi'/><readonly/>{addr}</disk>"),
            _ => format!("<disk type='file' device='disk'><source file='/img/{dev}-{src}.img'/><target dev='{dev}' bus='scsi'/>{addr}</disk>"),
        });
    }
    for h in 0..2u32 {
        if rng.below(3) == 0 {
            let unit = 10 + h;
            x.push_str(&format!("<hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host{}'/><address bus='0' target='0' unit='{}'/></source><address type='drive' controller='0' bus='0' target='1' unit='{unit}'/></hostdev>", 2 + h, rng.below(2)));
        }
        if rng.below(3) == 0 {
            x.push_str(&format!("<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0x0000' bus='0x0{}' slot='0x00' function='0x{}'/></source></hostdev>", 3 + h, rng.below(2)));
        }
    }
    x.push_str("<interface type='user'/></devices></domain>");
    let c = domxml::check_str(&x);
    c.is_valid(false).then(|| c.domain().unwrap().clone())
}

fn converged(m: &mut Lifecycle<FakeDomain>, want: &Domain) -> Result<(), String> {
    let live = m.backend().live.clone().unwrap();
    let config = m.backend().config.clone();
    let pl = diff(&live, want, Targets::LIVE).map_err(|e| e.to_string())?;
    let pc = diff(&config, want, Targets::CONFIG).map_err(|e| e.to_string())?;
    if !pl.is_empty() || !pc.is_empty() {
        return Err(format!(
            "not converged: live {:?} config {:?}",
            pl.changes
                .iter()
                .map(|c| c.key.to_string())
                .collect::<Vec<_>>(),
            pc.changes
                .iter()
                .map(|c| c.key.to_string())
                .collect::<Vec<_>>()
        ));
    }
    if m.backend().double_attaches > 0 {
        return Err("a device was attached twice".into());
    }
    m.check_invariants()?;
    if !m.releasing().is_empty() {
        return Err(format!("releases left pending: {:?}", m.releasing()));
    }
    for a in m.attachments() {
        if a.state != AttachState::Attached || a.refs.len() != 1 {
            return Err(format!(
                "{} left {:?} with {} refs",
                a.key,
                a.state,
                a.refs.len()
            ));
        }
    }
    if m.open_reservations() != m.attachments().count() {
        return Err("a reservation leaked".into());
    }
    Ok(())
}

#[test]
fn every_fault_at_every_step_of_generated_plans_converges_without_leaks() {
    let start = Instant::now();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let (mut schedules, mut plans, mut faults_hit) = (0usize, 0usize, 0usize);
    let mut failures = Vec::new();
    while plans < 10 {
        let (Some(a), Some(b)) = (gen(&mut rng), gen(&mut rng)) else {
            continue;
        };
        let plan = diff(&a, &b, Targets::BOTH).unwrap();
        if plan.is_empty() {
            continue;
        }
        plans += 1;
        // A fault-free run counts the calls: each is a place to inject a fault.
        let mut m = open(FakeDomain::new(a.clone(), true), cfg(), Options::default()).unwrap();
        execute(&plan, &mut m, Options::default(), &mut as_written).unwrap();
        converged(&mut m, &b).unwrap();
        let n = m.backend().calls;
        for at in 0..n {
            for f in Fault::ALL {
                schedules += 1;
                let fake = FakeDomain::new(a.clone(), true).fail_at(at, f);
                let r = open(fake, cfg(), Options::default())
                    .map_err(|e| e.to_string())
                    .and_then(|mut m| {
                        execute(&plan, &mut m, Options::default(), &mut as_written)
                            .map_err(|e| e.to_string())?;
                        if !m.backend().faults.is_empty() {
                            // The run ended before reaching call `at`: nothing was injected.
                            return Ok(());
                        }
                        faults_hit += 1;
                        converged(&mut m, &b)
                            .map_err(|e| format!("{e}\n  calls: {:#?}", m.backend().log))
                    });
                if let Err(e) = r {
                    failures.push(format!("plan {plans}, {f:?} at call {at}: {e}"));
                }
            }
        }
    }
    println!(
        "fault injection: {schedules} schedules ({faults_hit} with the fault hit) over {plans} plans in {:.2}s, {} failures",
        start.elapsed().as_secs_f64(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{}",
        failures
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
    assert!(schedules >= 1000, "only {schedules} schedules");
}

#[test]
fn a_device_only_in_the_persistent_definition_can_be_attached_live_but_not_again_there() {
    let mut fake = FakeDomain::new(domain(BASE), true);
    let sdg = device("<disk type='file' device='disk'><source file='/img/g.img'/><target dev='sdg' bus='scsi'/><address type='drive' controller='0' bus='0' target='0' unit='4'/></disk>");
    fake.config.devices.items.push(sdg.clone());
    let mut m = manager(fake);
    let to_config = Request::new(sdg.clone(), Targets::CONFIG).unwrap();
    assert!(matches!(
        m.reserve(to_config),
        Err(ReserveError::Pinned { .. })
    ));
    let id = m
        .reserve(Request::new(sdg, Targets::LIVE).unwrap())
        .unwrap();
    m.attach(id).unwrap();
    assert!(has(&mut m, "sdg"));
    m.check_invariants().unwrap();
}
