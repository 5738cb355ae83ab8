//! The `domxml` binary: exit codes, output formats, stdin, completions.

#![cfg(feature = "cli")]

mod common;

use common::{root, xml_files};
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn domxml(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_domxml"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

fn domxml_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_domxml"))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn first_invalid() -> String {
    // A validator-level error (not a syntax error), so that the report carries a path.
    xml_files("fixtures/invalid")
        .into_iter()
        .find(|f| common::header(f, "expect").is_some_and(|c| c.as_str() >= "E010"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn validate_exits_0_on_valid_files() {
    let files: Vec<String> = xml_files("fixtures/domains")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let mut args = vec!["validate"];
    args.extend(files.iter().map(String::as_str));
    let o = domxml(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
}

#[test]
fn validate_exits_1_on_each_invalid_file() {
    for f in xml_files("fixtures/invalid") {
        let o = domxml(&["validate", &f.to_string_lossy()]);
        assert_eq!(o.status.code(), Some(1), "{}: {}", f.display(), stdout(&o));
    }
}

#[test]
fn validate_exits_2_on_a_missing_file() {
    let o = domxml(&["validate", "no/such/file.xml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no/such/file.xml"));
}

#[test]
fn the_summary_counts_unreadable_files_as_not_valid() {
    let good = xml_files("fixtures/domains")[0]
        .to_string_lossy()
        .into_owned();
    let o = domxml(&["validate", &good, "no/such/1.xml", "no/such/2.xml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stdout(&o).contains("1 of 3 files valid, 2 unreadable"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(domxml(&["validate"]).status.code(), Some(2));
    assert_eq!(domxml(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(
        domxml(&["validate", "--format", "xml", "x"]).status.code(),
        Some(2)
    );
}

#[test]
fn human_output_shows_the_line_with_a_caret_and_the_path() {
    let f = first_invalid();
    let out = stdout(&domxml(&["validate", &f]));
    let line_col = regex_lite_line_col(&out);
    assert!(line_col, "no file:line:col in {out}");
    assert!(
        out.contains("at /domain") || out.contains("at /pool"),
        "no element path in {out}"
    );
    assert!(out.contains('─') || out.contains('^'), "no caret in {out}");
}

fn regex_lite_line_col(s: &str) -> bool {
    s.lines().any(|l| {
        l.split(".xml:").nth(1).is_some_and(|rest| {
            let mut it = rest.trim_end_matches(']').split(':');
            matches!((it.next(), it.next()), (Some(a), Some(b)) if a.parse::<u32>().is_ok() && b.trim().parse::<u32>().is_ok())
        })
    })
}

#[test]
fn json_output_validates_against_the_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schemas/validate-report.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut args = vec!["validate".to_string(), "--format".into(), "json".into()];
    args.extend(
        xml_files("fixtures/invalid")
            .iter()
            .map(|p| p.to_string_lossy().into_owned()),
    );
    args.extend(
        xml_files("fixtures/domains")
            .iter()
            .map(|p| p.to_string_lossy().into_owned()),
    );
    let o = domxml(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let rows = report.as_array().unwrap();
    assert!(rows.len() >= xml_files("fixtures/invalid").len());
    assert!(rows
        .iter()
        .any(|r| r["line"].is_u64() && r["path"].as_str().unwrap().starts_with("/domain")));
}

#[test]
fn github_output_is_workflow_annotations() {
    let f = first_invalid();
    let out = stdout(&domxml(&["validate", "--format", "github", &f]));
    let line = out.lines().next().unwrap();
    assert!(line.starts_with("::error file="), "{line}");
    assert!(line.contains(",line=") && line.contains(",col="), "{line}");
}

#[test]
fn stdin_is_read_for_dash() {
    let good = std::fs::read(&xml_files("fixtures/domains")[0]).unwrap();
    assert_eq!(
        domxml_stdin(&["validate", "-"], &good).status.code(),
        Some(0)
    );
    let o = domxml_stdin(
        &["validate", "--format", "json", "-"],
        b"<domain type='qemu'><devices><disk/></devices>",
    );
    assert_eq!(o.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report[0]["file"], "-");
    assert_eq!(report[0]["code"], "E001");
}

#[test]
fn strict_turns_warnings_into_failure() {
    let doc =
        b"<domain type='qemu'><name>g</name><devices><contoller type='scsi'/></devices></domain>";
    assert_eq!(domxml_stdin(&["validate", "-"], doc).status.code(), Some(0));
    let o = domxml_stdin(&["validate", "--strict", "-"], doc);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("did you mean <controller>?"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn fmt_prints_canonical_xml_and_check_detects_drift() {
    let messy = b"<domain type=\"qemu\"><name>g</name><devices><hostdev mode=\"subsystem\" type=\"pci\"><source><address bus=\"3\" slot=\"0\" function=\"0\" domain=\"0\"/></source></hostdev></devices></domain>";
    let o = domxml_stdin(&["fmt", "-"], messy);
    assert_eq!(o.status.code(), Some(0));
    let canon = stdout(&o);
    assert!(
        canon.contains("<address domain='0x0000' bus='0x03' slot='0x00' function='0x0'/>"),
        "{canon}"
    );
    assert_eq!(
        domxml_stdin(&["fmt", "--check", "-"], messy).status.code(),
        Some(1)
    );
    assert_eq!(
        domxml_stdin(&["fmt", "--check", "-"], canon.as_bytes())
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn fmt_formats_documents_that_fail_validation() {
    let bad = b"<domain type='qemu'><devices><controller type='scsi' index='0' model='lsilogic'/><disk type='file' device='disk'><source file='/a'/><target dev='sda' bus='scsi'/><address type='drive' controller='0' bus='0' target='3' unit='0'/></disk></devices></domain>";
    assert_eq!(domxml_stdin(&["validate", "-"], bad).status.code(), Some(1));
    let o = domxml_stdin(&["fmt", "-"], bad);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("target='3'"));
}

#[test]
fn fmt_refuses_what_does_not_parse() {
    let o = domxml_stdin(&["fmt", "-"], b"<domain type='qemu'><name>");
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
}

#[test]
fn fmt_in_place_rewrites_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("d.xml");
    std::fs::write(&p, "<domain type=\"qemu\"><name>g</name></domain>").unwrap();
    assert_eq!(
        domxml(&["fmt", "-i", &p.to_string_lossy()]).status.code(),
        Some(0)
    );
    assert_eq!(
        std::fs::read_to_string(&p).unwrap(),
        "<domain type='qemu'>\n  <name>g</name>\n  <devices/>\n</domain>\n"
    );
}

#[test]
fn completions_version_and_help_work() {
    let o = domxml(&["completions", "bash"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("domxml"));
    let v = stdout(&domxml(&["--version"]));
    assert!(v.contains(env!("CARGO_PKG_VERSION")), "{v}");
    for sub in ["validate", "fmt", "completions"] {
        let o = domxml(&[sub, "--help"]);
        assert_eq!(o.status.code(), Some(0), "{sub} --help");
    }
}
