//! Arbitrary bytes through parse → validate → convert (offline: SCSI hostdevs pass
//! `/dev/sg0`). Whatever the values in the XML, the command line must stay well formed:
//! every `-device`/`-blockdev`/`-object` JSON argument is one JSON object, and the shell layout
//! reads back (as `sh` would split it) to exactly the same argv.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = domxml::Limits {
        max_bytes: 1 << 16,
        max_depth: 32,
        ..domxml::Limits::default()
    };
    for version in [domxml::QemuVersion::DEFAULT, domxml::QemuVersion::new(4, 1)] {
        let opts = domxml::Options::for_qemu(version);
        let Ok(c) = domxml::convert_bytes(data, limits, &opts, domxml::Host::Offline) else {
            return;
        };
        let argv = c.args.argv();
        for w in argv.windows(2) {
            if matches!(w[0].as_str(), "-device" | "-blockdev" | "-object") && w[1].starts_with('{') {
                let v: serde_json::Value = serde_json::from_str(&w[1])
                    .unwrap_or_else(|e| panic!("{} is not JSON ({e}): {}", w[0], w[1]));
                assert!(v.is_object(), "{} is not a JSON object: {}", w[0], w[1]);
            }
        }
        let shell = domxml::emit::to_shell(&c.args);
        let back = domxml::emit::parse_shell(&shell).expect("the shell layout re-parses");
        assert_eq!(back, argv, "shell layout does not read back as the argv");
    }
});
