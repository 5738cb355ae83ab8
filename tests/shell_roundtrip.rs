//! `--format shell` must paste into a shell as exactly the argv domxml built: `sh` itself
//! splits the text and the words must come back byte for byte, with no command substitution
//! run on the way.

use domxml::emit::{to_argv_json, to_shell, Caps, QemuVersion};
use domxml::{convert_str, Options};
use std::process::Command;

fn fixture(name: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/domains")
        .join(name);
    std::fs::read_to_string(p).unwrap()
}

/// Let `sh` split the shell text and print each word NUL-terminated.
fn words_by_sh(text: &str, cwd: &std::path::Path) -> Vec<String> {
    let script = format!("set -- {text}\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done\n");
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(cwd)
        .output()
        .expect("sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = String::from_utf8(out.stdout).unwrap();
    s.split_terminator('\0').map(str::to_string).collect()
}

#[test]
fn shell_output_round_trips_through_sh_in_both_syntaxes() {
    let t = tempfile::tempdir().unwrap();
    let xml = fixture("hostile-paths.xml").replace("@DIR@", "/srv/it&apos;s $(dir)");
    for v in [QemuVersion::new(7, 2), QemuVersion::new(4, 0)] {
        let opts = Options::default()
            .caps(Caps::of(v))
            .run_dir("/run/a dir/$(x)");
        let args = convert_str(&xml, &opts).unwrap().args;
        let words = words_by_sh(&to_shell(&args), t.path());
        assert_eq!(words, args.argv(), "QEMU {v}");
    }
    assert!(
        std::fs::read_dir(t.path()).unwrap().next().is_none(),
        "the shell ran something: {:?}",
        std::fs::read_dir(t.path()).unwrap().collect::<Vec<_>>()
    );
}

#[test]
fn argv_json_is_an_array_of_the_same_words() {
    let xml = fixture("hostile-paths.xml");
    let args = convert_str(&xml, &Options::default()).unwrap().args;
    let v: Vec<String> = serde_json::from_str(&to_argv_json(&args)).unwrap();
    assert_eq!(v, args.argv());
    assert_eq!(v[0], "/usr/bin/qemu-system-x86_64");
}
