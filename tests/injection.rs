//! Injection properties at scale: hostile values (`,` `'` `"` spaces, newlines, tabs, `$(…)`,
//! backticks, `=`, `;`, `\`, braces, non-ASCII) placed in every field that reaches the command
//! line — image paths, block devices, CD-ROM media, iSCSI target names and portals, the domain
//! name, the runtime directory and the secrets directory. For each value, in both syntaxes:
//!
//! * JSON arguments are JSON objects and carry the value exactly (JSON escapes everything);
//! * legacy keyval arguments read back, with QEMU's `,,` rule, to exactly the value;
//! * the shell layout, split by `sh` itself, is exactly the argv, and runs nothing.
//!
//! Values XML cannot carry (NUL, other control characters, invalid UTF-8) or that a field may
//! not hold (a `/` in a secret's file name, a serial outside libvirt's set) are refused with a
//! located error instead. At least 100,000 values are checked per run.

mod common;

use domxml::emit::{parse_shell, to_shell, QemuVersion};
use domxml::{convert_str, Error, Options};
use std::process::Command;

/// Deterministic generator (xorshift64*), so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const PIECES: &[&str] = &[
    ",",
    ",,",
    "'",
    "\"",
    " ",
    "\n",
    "\t",
    "$(touch PWNED)",
    "`touch PWNED`",
    "=",
    ";",
    "\\",
    "{",
    "}",
    "[",
    "]",
    "é",
    "雪",
    "a",
    "b",
    "-",
    "_",
    ".",
    "..",
    "x=y,z",
    "&",
    "|",
    ">",
    "<",
    "*",
    "?",
    "#",
    "~",
    "%s",
    "\r",
];

/// A hostile value for a path: starts with `/`, never empty.
fn hostile(rng: &mut Rng) -> String {
    let mut s = String::from("/");
    for _ in 0..1 + rng.below(6) {
        s.push_str(PIECES[rng.below(PIECES.len())]);
    }
    s
}

/// XML attribute escaping (what a user's tool would write).
fn attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('\'', "&apos;")
        .replace('"', "&quot;")
        .replace('\n', "&#10;")
        .replace('\t', "&#9;")
        .replace('\r', "&#13;")
}

fn text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('\r', "&#13;")
}

/// QEMU's keyval reading of `k1=v1,k2=v2` (`,,` is a literal comma): the value of `key`.
fn keyval(arg: &str, key: &str) -> Option<String> {
    common::keyval(arg, "")
        .get(key)
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

struct Case {
    xml: String,
    /// (JSON key or keyval key, expected value) that must appear on some argument.
    expect: Vec<(&'static str, String)>,
    opts: Options,
}

const PER_DOMAIN: usize = 50;

fn generate(rng: &mut Rng, version: QemuVersion) -> Case {
    let mut devices = String::from("<controller type='scsi' index='0' model='virtio-scsi'/>");
    let mut expect = Vec::new();
    let (file_key, target_key) = if version >= QemuVersion::BLOCKDEV {
        ("filename", "target")
    } else {
        ("file", "file.target")
    };
    for i in 0..PER_DOMAIN - 2 {
        let v = hostile(rng);
        let (c, u) = (i / 16 + 1, i % 16);
        let target = domxml::assign::disk_name("sd", i as u32);
        let addr =
            format!("<address type='drive' controller='{c}' bus='0' target='0' unit='{u}'/>");
        match i % 4 {
            0 => devices.push_str(&format!(
                "<disk type='file' device='disk'><source file='{}'/><target dev='{target}' bus='scsi'/>{addr}</disk>",
                attr(&v)
            )),
            1 => devices.push_str(&format!(
                "<disk type='block' device='lun'><source dev='{}'/><target dev='{target}' bus='scsi'/>{addr}</disk>",
                attr(&v)
            )),
            2 => devices.push_str(&format!(
                "<disk type='file' device='cdrom'><source file='{}'/><target dev='{target}' bus='scsi'/><readonly/>{addr}</disk>",
                attr(&v)
            )),
            _ => {
                // An iSCSI target name (IQN part) and portal host.
                let iqn = format!("iqn.2026-01.test:{}", &v[1..]);
                let host = format!("h{}", &v[1..]);
                devices.push_str(&format!(
                    "<disk type='network' device='disk'><source protocol='iscsi' name='{}/0'><host name='{}' port='3260'/></source><target dev='{target}' bus='scsi'/>{addr}</disk>",
                    attr(&iqn),
                    attr(&host)
                ));
                expect.push((target_key, iqn));
                continue;
            }
        }
        expect.push((file_key, v));
    }
    for c in 1..=(PER_DOMAIN - 2).div_ceil(16) {
        devices.push_str(&format!(
            "<controller type='scsi' index='{c}' model='virtio-scsi'/>"
        ));
    }
    let name = hostile(rng)[1..].to_string() + "n";
    let run_dir = hostile(rng);
    expect.push(("guest", name.clone()));
    let xml = format!(
        "<domain type='qemu'><name>{}</name><devices>{devices}</devices></domain>",
        text(&name)
    );
    Case {
        xml,
        expect,
        opts: Options::for_qemu(version).run_dir(&run_dir),
    }
}

/// Every value of each of `keys` on the argv, JSON or keyval, read once per argument.
fn values_of(argv: &[String], keys: &[&str]) -> std::collections::HashMap<String, Vec<String>> {
    let mut out: std::collections::HashMap<String, Vec<String>> = Default::default();
    for a in argv {
        if a.starts_with('{') {
            let v: serde_json::Value =
                serde_json::from_str(a).unwrap_or_else(|e| panic!("not JSON ({e}): {a}"));
            let obj = v
                .as_object()
                .unwrap_or_else(|| panic!("not a JSON object: {a}"));
            for k in keys {
                if let Some(s) = obj.get(*k).and_then(|x| x.as_str()) {
                    out.entry(k.to_string()).or_default().push(s.to_string());
                }
            }
        } else {
            for k in keys {
                if let Some(s) = keyval(a, k) {
                    out.entry(k.to_string()).or_default().push(s);
                }
            }
        }
    }
    out
}

/// Let `sh` split many shell layouts at once; returns each one's words.
fn split_by_sh(texts: &[String], cwd: &std::path::Path) -> Vec<Vec<String>> {
    let mut script = String::new();
    for t in texts {
        script.push_str("set -- ");
        script.push_str(t);
        script.push_str("for a in \"$@\"; do printf '%s\\0' \"$a\"; done; printf '\\001\\0'\n");
    }
    // The script goes in on standard input: a batch is larger than an argument may be.
    let mut child = Command::new("sh")
        .current_dir(cwd)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("sh");
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        stdin.write_all(script.as_bytes()).expect("write script");
    });
    let out = child.wait_with_output().expect("sh");
    writer.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = String::from_utf8(out.stdout).unwrap();
    let mut groups = vec![Vec::new()];
    for w in s.split_terminator('\0') {
        if w == "\u{1}" {
            groups.push(Vec::new());
        } else {
            groups.last_mut().unwrap().push(w.to_string());
        }
    }
    groups.pop();
    groups
}

#[test]
fn hostile_values_reach_qemu_exactly_in_every_syntax_and_through_sh() {
    let seed = std::env::var("DOMXML_INJECTION_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_1234_u64);
    let domains: usize = std::env::var("DOMXML_INJECTION_DOMAINS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2100);
    let mut rng = Rng(seed | 1);
    let cwd = tempfile::tempdir().unwrap();
    let mut checked = 0usize;
    let mut batch: Vec<(String, Vec<String>)> = Vec::new();
    for n in 0..domains {
        let version = if n % 2 == 0 {
            QemuVersion::DEFAULT
        } else {
            QemuVersion::new(4, 1)
        };
        let case = generate(&mut rng, version);
        let c = convert_str(&case.xml, &case.opts)
            .unwrap_or_else(|e| panic!("case {n} (seed {seed}): {e}\n{}", case.xml));
        let argv = c.args.argv();
        let mut keys: Vec<&str> = case.expect.iter().map(|(k, _)| *k).collect();
        keys.dedup();
        let got = values_of(argv, &keys);
        for (key, want) in &case.expect {
            let vals = got.get(*key).map(Vec::as_slice).unwrap_or_default();
            assert!(
                vals.contains(want),
                "case {n}: {key}={want:?} not on the argv: {vals:?}"
            );
            checked += 1;
        }
        let shell = to_shell(&c.args);
        assert_eq!(parse_shell(&shell).unwrap(), argv, "case {n}: parse_shell");
        batch.push((shell, argv.to_vec()));
        if batch.len() == 150 || n + 1 == domains {
            let texts: Vec<String> = batch.iter().map(|(t, _)| t.clone()).collect();
            let words = split_by_sh(&texts, cwd.path());
            assert_eq!(words.len(), batch.len());
            for ((_, argv), w) in batch.iter().zip(&words) {
                assert_eq!(w, argv, "sh split differs");
            }
            batch.clear();
        }
    }
    assert!(
        std::fs::read_dir(cwd.path()).unwrap().next().is_none(),
        "the shell ran something"
    );
    println!("{checked} hostile values checked in {domains} domains (seed {seed})");
    assert!(
        checked >= 100_000 || domains < 2100,
        "only {checked} values"
    );
}

#[test]
fn values_xml_or_qemu_cannot_carry_are_refused_with_a_located_error() {
    let refused = |xml: &str, code: &str| match convert_str(xml, &Options::default()) {
        Err(e) => {
            let codes: Vec<&str> = e.diagnostics().iter().map(|d| d.code.as_str()).collect();
            assert!(codes.contains(&code), "{codes:?} for {xml}");
            assert!(e.diagnostics().iter().all(|d| d.pos.is_some()), "{xml}");
        }
        Ok(c) => panic!("accepted: {xml}\n{:?}", c.args.argv()),
    };
    let disk = |file: &str| {
        format!("<domain type='qemu'><devices><disk type='file'><source file='{file}'/><target dev='sda' bus='scsi'/></disk></devices></domain>")
    };
    refused(&disk("/a\u{0}b"), "E001");
    refused(&disk("/a&#0;b"), "E001");
    refused(&disk("/a\u{1b}[31mb"), "E001");
    refused(&disk("/a&#x1B;b"), "E001");
    match domxml::convert_bytes(
        &[disk("/a").as_bytes(), b"\xff"].concat(),
        domxml::Limits::default(),
        &Options::default(),
        domxml::Host::Offline,
    ) {
        Err(Error::Invalid(d)) => assert_eq!(d[0].code.as_str(), "E001"),
        other => panic!("invalid UTF-8 accepted: {other:?}"),
    }
    // A secret names a file in --secrets-dir: no path separators.
    refused(
        "<domain type='qemu'><devices><disk type='network'><source protocol='iscsi' name='iqn.x/0'>\
         <host name='h'/><auth username='u'><secret type='iscsi' usage='../../etc/shadow'/></auth></source>\
         <target dev='sda' bus='scsi'/></disk></devices></domain>",
        "E109",
    );
    // A serial outside libvirt's character set.
    refused(
        "<domain type='qemu'><devices><disk type='file'><source file='/a'/><target dev='sda' bus='scsi'/>\
         <serial>a,b$(x)</serial></disk></devices></domain>",
        "E043",
    );
}
