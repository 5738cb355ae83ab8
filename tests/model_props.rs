//! A generated model written to XML parses back equal: the writer and the reader agree on
//! every field, including values that need escaping.

use domxml::codec::{parse_str, write_definition};
use domxml::model::*;
use proptest::option::of as maybe;
use proptest::prelude::*;

/// Text that needs escaping now and then, as users write it.
fn text() -> BoxedStrategy<String> {
    "[a-zA-Z0-9_./:&<>'\" -]{1,16}".boxed()
}

fn ident() -> BoxedStrategy<String> {
    "[a-z][a-z0-9_-]{0,10}".boxed()
}

fn hex(max: u32) -> BoxedStrategy<Hex> {
    (0..=max).prop_map(Hex).boxed()
}

fn pci() -> BoxedStrategy<PciAddress> {
    (
        maybe(hex(0xffff)),
        maybe(hex(0xff)),
        maybe(hex(0x1f)),
        maybe(hex(7)),
        maybe(prop_oneof![Just(OnOff::On), Just(OnOff::Off)]),
    )
        .prop_map(|(domain, bus, slot, function, multifunction)| PciAddress {
            domain,
            bus,
            slot,
            function,
            multifunction,
        })
        .boxed()
}

fn address() -> BoxedStrategy<DeviceAddress> {
    prop_oneof![
        (
            maybe(0u32..100),
            maybe(0u32..100),
            maybe(0u32..300),
            maybe(0u32..20000)
        )
            .prop_map(|(controller, bus, target, unit)| {
                DeviceAddress::Drive(
                    DriveAddress {
                        controller,
                        bus,
                        target,
                        unit,
                    },
                    Extra::default(),
                )
            }),
        pci().prop_map(|p| DeviceAddress::Pci(p, Extra::default())),
    ]
    .boxed()
}

fn adapter() -> BoxedStrategy<Adapter> {
    prop_oneof![
        (0u32..64).prop_map(|n| Adapter {
            name: Some(format!("scsi_host{n}")),
            ..Default::default()
        }),
        (0u16..4, 0u8..=255, 0u8..32, 0u8..8, maybe(0u32..100000)).prop_map(|(d, b, s, f, u)| {
            Adapter {
                parent: Some(format!("pci_{d:04x}_{b:02x}_{s:02x}_{f:x}")),
                unique_id: u.map(|u| u.to_string()),
                ..Default::default()
            }
        }),
        (pci(), 0u32..100).prop_map(|(a, u)| Adapter {
            kind: Some(AdapterType::ScsiHost),
            parentaddr: Some(ParentAddr {
                unique_id: Some(u.to_string()),
                address: Some(a),
                ..Default::default()
            }),
            ..Default::default()
        }),
        (
            "[0-9a-f]{16}",
            "[0-9a-f]{16}",
            maybe(Just("scsi_host5".to_string())),
            maybe(prop_oneof![Just(YesNo::Yes), Just(YesNo::No)])
        )
            .prop_map(|(wwnn, wwpn, parent, managed)| Adapter {
                kind: Some(AdapterType::FcHost),
                wwnn: Some(wwnn),
                wwpn: Some(wwpn),
                parent,
                managed,
                ..Default::default()
            }),
    ]
    .boxed()
}

fn disk() -> BoxedStrategy<Disk> {
    let head = (
        maybe(proptest::sample::select(DiskType::ALL)),
        maybe(proptest::sample::select(DiskDevice::ALL)),
        maybe(prop_oneof![Just(YesNo::Yes), Just(YesNo::No)]),
        maybe(prop_oneof![
            Just("filtered".to_string()),
            Just("unfiltered".to_string())
        ]),
        maybe(
            (
                maybe(text()),
                maybe(prop_oneof![
                    Just("raw".to_string()),
                    Just("qcow2".to_string())
                ]),
                maybe(0u32..8),
            )
                .prop_map(|(name, format, iothread)| DiskDriver {
                    name,
                    format,
                    iothread,
                    ..Default::default()
                }),
        ),
    );
    let source = maybe(
        (
            maybe(text()),
            maybe(text()),
            maybe(ident()),
            proptest::collection::vec((maybe(text()), maybe("[0-9]{1,5}")), 0..3),
        )
            .prop_map(|(file, dev, protocol, hosts)| DiskSource {
                file,
                dev,
                protocol,
                hosts: hosts
                    .into_iter()
                    .map(|(name, port)| NetHost {
                        name,
                        port,
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }),
    );
    let target = maybe(
        (
            maybe("(sd|vd|hd)[a-z]{1,3}"),
            maybe(proptest::sample::select(DiskBus::ALL)),
            maybe(1u32..20000),
        )
            .prop_map(|(dev, bus, rotation_rate)| DiskTarget {
                dev,
                bus,
                rotation_rate,
                ..Default::default()
            }),
    );
    let tail = (
        any::<bool>(),
        any::<bool>(),
        maybe(text()),
        maybe("[0-9a-f]{16}"),
        maybe(text()),
        maybe(text()),
        maybe("ua-[a-z0-9]{1,8}"),
        maybe(address()),
        maybe(1u32..10),
    );
    (head, source, target, tail)
        .prop_map(
            |((kind, device, rawio, sgio, driver), source, target, tail)| {
                let (readonly, shareable, serial, wwn, vendor, product, alias, address, boot) =
                    tail;
                Disk {
                    kind,
                    device,
                    rawio,
                    sgio,
                    driver,
                    source,
                    target,
                    readonly,
                    shareable,
                    serial,
                    wwn,
                    vendor,
                    product,
                    alias,
                    address,
                    boot: boot.map(|o| {
                        Box::new(Boot {
                            order: Some(o),
                            ..Default::default()
                        })
                    }),
                    ..Default::default()
                }
            },
        )
        .boxed()
}

fn controller() -> BoxedStrategy<Controller> {
    (
        maybe(0u32..16),
        maybe(proptest::sample::select(ScsiModel::ALL)),
        maybe((
            maybe(1u32..16),
            maybe(1u32..200),
            maybe(1u32..4096),
            maybe(prop_oneof![Just(OnOff::On), Just(OnOff::Off)]),
            maybe(1u32..4),
        )),
        maybe(adapter()),
        maybe("ua-[a-z0-9]{1,8}"),
        maybe(pci()),
        virtio_options(),
    )
        .prop_map(|(index, model, driver, adapter, alias, pci, virtio)| {
            let mut c = Controller::new(ControllerType::Scsi);
            c.index = index;
            c.model = model.map(domxml::model::ControllerModel::Scsi);
            c.driver = driver.map(|(queues, cmd_per_lun, max_sectors, ioeventfd, iothread)| {
                ControllerDriver {
                    queues,
                    cmd_per_lun,
                    max_sectors,
                    ioeventfd,
                    iothread,
                    virtio,
                    ..Default::default()
                }
            });
            c.source = adapter.map(|a| ControllerSource {
                adapter: Some(a),
                ..Default::default()
            });
            c.alias = alias;
            c.address = pci.map(|p| DeviceAddress::Pci(p, Extra::default()));
            c
        })
        .boxed()
}

fn on_off() -> BoxedStrategy<OnOff> {
    prop_oneof![Just(OnOff::On), Just(OnOff::Off)].boxed()
}

fn virtio_options() -> BoxedStrategy<VirtioOptions> {
    (
        maybe(on_off()),
        maybe(on_off()),
        maybe(on_off()),
        maybe(on_off()),
    )
        .prop_map(|(iommu, ats, packed, page_per_vq)| VirtioOptions {
            iommu,
            ats,
            packed,
            page_per_vq,
        })
        .boxed()
}

/// A PCI controller with any model, `<model name>` and `<target>` content.
fn pci_controller() -> BoxedStrategy<Controller> {
    let target = (
        maybe(0u32..256),
        maybe(0u32..256),
        maybe(hex(0xff)),
        maybe(0u32..256),
        maybe(0u32..32),
        maybe(on_off()),
        maybe(0u32..8),
    )
        .prop_map(
            |(chassis_nr, chassis, port, bus_nr, index, hotplug, node)| PciTarget {
                chassis_nr,
                chassis,
                port,
                bus_nr,
                index,
                hotplug,
                node,
                extra: Extra::default(),
                child_extra: Default::default(),
            },
        );
    (
        maybe(0u32..32),
        maybe(proptest::sample::select(PciModel::ALL)),
        maybe(proptest::sample::select(PciModelName::ALL)),
        maybe(target),
        maybe("ua-[a-z0-9]{1,8}"),
        maybe(pci()),
    )
        .prop_map(|(index, model, name, target, alias, pci)| {
            let mut c = Controller::new(ControllerType::Pci);
            c.index = index;
            c.model = model.map(ControllerModel::Pci);
            if name.is_some() || target.is_some() {
                c.pci = Some(PciOptions {
                    model_name: name,
                    target,
                    ..Default::default()
                });
            }
            c.alias = alias;
            c.address = pci.map(|p| DeviceAddress::Pci(p, Extra::default()));
            c
        })
        .boxed()
}

fn hostdev() -> BoxedStrategy<Hostdev> {
    prop_oneof![
        (
            adapter(),
            0u32..8,
            0u32..256,
            0u64..20000,
            any::<bool>(),
            any::<bool>(),
            maybe(address())
        )
            .prop_map(|(a, bus, target, unit, ro, sh, addr)| {
                let mut h = Hostdev::new(HostdevType::Scsi);
                h.managed = Some(YesNo::No);
                h.source = Some(HostdevSource {
                    adapter: Some(a),
                    scsi_address: Some(ScsiSourceAddress {
                        bus: Some(bus),
                        target: Some(target),
                        unit: Some(unit),
                        ..Default::default()
                    }),
                    ..Default::default()
                });
                h.readonly = ro;
                h.shareable = sh;
                h.address = addr;
                h
            }),
        (text(), text(), maybe(text())).prop_map(|(name, host, user)| {
            let mut h = Hostdev::new(HostdevType::Scsi);
            h.source = Some(HostdevSource {
                protocol: Some("iscsi".into()),
                name: Some(name),
                hosts: vec![NetHost {
                    name: Some(host),
                    port: Some("3260".into()),
                    ..Default::default()
                }],
                auth: user.map(|u| SourceAuth {
                    username: Some(u),
                    secret: Some(SourceSecret {
                        kind: Some("iscsi".into()),
                        usage: Some("x".into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                initiator_iqn: Some("iqn.2020-01.example:init".into()),
                ..Default::default()
            });
            h
        }),
        ("[0-9a-f]{16}", maybe(1u32..5)).prop_map(|(w, boot)| {
            let mut h = Hostdev::new(HostdevType::ScsiHost);
            h.source = Some(HostdevSource {
                protocol: Some("vhost".into()),
                wwpn: Some(format!("naa.{w}")),
                ..Default::default()
            });
            h.boot = boot.map(|o| Boot {
                order: Some(o),
                ..Default::default()
            });
            h
        }),
        (pci(), maybe(pci())).prop_map(|(src, guest)| {
            let mut h = Hostdev::new(HostdevType::Pci);
            h.managed = Some(YesNo::Yes);
            h.driver_name = Some("vfio".into());
            h.driver_extra = Some(Extra::default());
            h.source = Some(HostdevSource {
                pci_address: Some(src),
                ..Default::default()
            });
            h.address = guest.map(|p| DeviceAddress::Pci(p, Extra::default()));
            h
        }),
    ]
    .boxed()
}

fn domain() -> BoxedStrategy<Domain> {
    let device = prop_oneof![
        disk().prop_map(|d| Device::Disk(Box::new(d))),
        controller().prop_map(|c| Device::Controller(Box::new(c))),
        pci_controller().prop_map(|c| Device::Controller(Box::new(c))),
        hostdev().prop_map(|h| Device::Hostdev(Box::new(h))),
        "[a-z/]{1,20}".prop_map(Device::Emulator),
    ];
    (
        proptest::sample::select(DomainType::ALL),
        maybe(text()),
        maybe(any::<u128>().prop_map(uuid::Uuid::from_u128)),
        maybe((
            1u64..1 << 40,
            maybe(proptest::sample::select(Memory::UNITS).prop_map(str::to_string)),
        )),
        maybe(1u32..256),
        maybe(0u32..16),
        maybe((
            maybe(prop_oneof![
                Just("x86_64".to_string()),
                Just("aarch64".to_string())
            ]),
            maybe(prop_oneof![Just("pc".to_string()), Just("q35".to_string())]),
        )),
        proptest::collection::vec(device, 0..12),
    )
        .prop_map(|(kind, name, uuid, memory, vcpu, iothreads, os, items)| {
            let mut d = Domain::new(kind);
            d.name = name;
            d.uuid = uuid;
            d.memory = memory.map(|(value, unit)| Memory {
                value,
                unit,
                extra: Extra::default(),
            });
            d.vcpu = vcpu.map(|count| Vcpu {
                count,
                placement: None,
                cpuset: None,
                current: None,
                extra: Extra::default(),
            });
            d.iothreads = iothreads;
            d.os = os.map(|(arch, machine)| Os {
                os_type: Some(OsType {
                    arch,
                    machine,
                    value: "hvm".into(),
                    extra: Extra::default(),
                }),
                ..Default::default()
            });
            d.devices = Devices {
                items,
                extra: Extra::default(),
            };
            d
        })
        .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn generated_domain_written_to_xml_parses_back_equal(d in domain()) {
        let def = Definition::Domain(Box::new(d));
        let xml = write_definition(&def);
        let back = parse_str(&xml).map_err(|e| TestCaseError::fail(format!("{e:?}\n{xml}")))?;
        prop_assert!(back.warnings.is_empty(), "writer produced unknown content: {:?}\n{}", back.warnings, xml);
        prop_assert_eq!(back.definition, def, "{}", xml);
    }

    /// The model is plain serde data: JSON (what a user snapshots with
    /// `insta::assert_json_snapshot!`) reads back as the same model.
    #[test]
    fn generated_domain_survives_a_json_round_trip(d in domain()) {
        let def = Definition::Domain(Box::new(d));
        let json = serde_json::to_string(&def).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back: Definition = serde_json::from_str(&json).map_err(|e| TestCaseError::fail(format!("{e}\n{json}")))?;
        prop_assert_eq!(back, def, "{}", json);
    }
}
