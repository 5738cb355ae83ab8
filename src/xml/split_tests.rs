//! Tests of `split`: a document read in pieces is the document read in one pass, whatever
//! the layout, and whatever is wrong with it.

use super::super::build::room_for;
use super::super::read::{parse_with, Limits};
use super::*;
use std::cell::Cell;

thread_local! {
    /// How many pieces the last document read in pieces on this thread was read in.
    pub(super) static PIECES: Cell<usize> = const { Cell::new(0) };
}

/// The document (or the error) as a string holding everything the reader produced: nodes,
/// attributes, made strings, prolog and epilog, or the error's kind, message and position.
fn read(text: &str, plan: Plan, limits: Limits) -> String {
    format!("{:#?}", parse_with(text.as_bytes(), limits, plan))
}

/// Read `text` in about `pieces` pieces; returns how many pieces were used (0 when it was
/// read in one pass) after checking that the result is the one-pass result.
fn agrees(text: &str, pieces: usize) -> usize {
    agrees_within(text, pieces, Limits::default())
}

fn agrees_within(text: &str, pieces: usize, limits: Limits) -> usize {
    let one = read(text, Plan::ONE_PASS, limits);
    PIECES.with(|p| p.set(0));
    let split = read(text, Plan::in_pieces(pieces), limits);
    assert!(
        one == split,
        "{pieces} pieces read differently:\n{text}\n--- one pass:\n{one}\n--- pieces:\n{split}"
    );
    PIECES.with(|p| p.get())
}

/// A domain the way `virsh dumpxml` lays one out, with what the reader has to take care of:
/// references in values and text, comments, CDATA, a processing instruction, empty and
/// nested elements, a device with text after it.
fn domain(disks: usize) -> String {
    let mut s = String::from(
        "<?xml version='1.0'?>\n<!-- before -->\n<domain type='qemu'>\n  <name>a&amp;b</name>\n  <devices>\n",
    );
    for i in 0..disks {
        s += &format!(
            "    <disk type='block' device='lun'>\n      <source dev='/dev/sd{i}&#x41;'/>\n      <target dev='sd{i}' bus='scsi'/>\n      <address type='drive' controller='0' bus='0' target='0' unit='{i}'/>\n    </disk>\n"
        );
        match i % 5 {
            1 => s += "    <!-- a comment\n      <disk> inside it -->\n",
            2 => s += "    <controller type='scsi' model='virtio-scsi'><![CDATA[\n      <x>]]>text&lt;</controller>\n",
            3 => s += "    <?pi \n      <y?>\n",
            _ => {}
        }
    }
    s += "  </devices>\n  <seclabel type='none'/>\n</domain>\n<!-- after -->\n";
    s
}

#[test]
fn a_domain_read_in_pieces_is_the_domain_read_in_one_pass() {
    let text = domain(60);
    for n in [2, 3, 5, 17, 64, 1_000] {
        let pieces = agrees(&text, n);
        assert!(pieces > 1, "{n} pieces asked, {pieces} read");
    }
}

#[test]
fn a_document_without_devices_or_indentation_is_read_in_one_pass() {
    assert_eq!(agrees("<pool><name>x</name></pool>", 8), 0);
    let flat = domain(20).replace('\n', "");
    assert_eq!(agrees(&flat, 8), 0);
    // Every line at one indentation: the cuts fall inside disks, and the pieces fail.
    // `</devices>` in a comment after the real one.
    agrees(
        &domain(20).replacen("<!-- after -->", "<!-- </devices> -->", 1),
        8,
    );
    let level: String = domain(20)
        .lines()
        .map(|l| format!("{}\n", l.trim()))
        .collect();
    assert_eq!(agrees(&level, 8), 0);
}

#[test]
fn cuts_inside_comments_cdata_and_values_fall_back_to_one_pass() {
    let mut s = String::from("<domain>\n  <devices>\n    <disk/>\n");
    for _ in 0..20 {
        s += "    <!-- x\n    <disk/>\n    <disk/> -->\n";
        s += "    <a><![CDATA[\n    <disk/>\n    ]]></a>\n";
        s += "    <b v='\n    <disk/>\n    '/>\n";
    }
    s += "  </devices>\n</domain>\n";
    for n in [2, 9, 100] {
        agrees(&s, n);
    }
}

#[test]
fn malformed_documents_fail_with_the_one_pass_message() {
    let good = domain(12);
    let cases = [
        // An element of one disk closed as another.
        good.replacen("</disk>", "</disc>", 5),
        // A disk never closed.
        good.replacen("    </disk>\n", "", 7),
        // An end tag with nothing open in its piece.
        good.replacen("    <disk type='block' device='lun'>\n", "", 6),
        // The same attribute twice, deep in the list.
        good.replacen("unit='9'", "unit='9' unit='9'", 1),
        // An entity no one declared.
        good.replacen("sd8&#x41;", "sd8&nope;", 1),
        // `</devices>` closing too early, and a second one later.
        good.replacen("  </devices>\n", "  </devices>\n  </devices>\n", 1),
        // The root closed under another name, in the tail.
        good.replacen("</domain>", "</domian>", 1),
        // Text and a second root after the root.
        format!("{good}x"),
        format!("{good}<domain/>"),
        // Truncated inside a disk, and inside the tail.
        good[..good.len() / 2].to_string(),
        good[..good.len() - 12].to_string(),
    ];
    for (k, case) in cases.iter().enumerate() {
        for n in [2, 7, 300] {
            let one = parse_with(case.as_bytes(), Limits::default(), Plan::ONE_PASS);
            assert!(one.is_err(), "case {k} is malformed");
            agrees(case, n);
        }
    }
}

#[test]
fn the_depth_bound_holds_inside_pieces() {
    let deep = "<a>".repeat(6) + &"</a>".repeat(6);
    let text = domain(10)
        .replacen("<seclabel", &format!("{deep}<seclabel"), 1)
        .replacen("    </disk>\n", &format!("    </disk>\n    {deep}\n"), 4);
    // Six levels inside a device reach depth 8: within a bound of 8, over one of 7.
    for (max_depth, pieces) in [(8, true), (7, false)] {
        let limits = Limits {
            max_depth,
            ..Limits::default()
        };
        for n in [3, 300] {
            assert_eq!(
                agrees_within(&text, n, limits) > 1,
                pieces,
                "max depth {max_depth}"
            );
        }
    }
}

/// A small generator, so that the mutations below are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn mutated_documents_read_the_same_in_pieces_and_in_one_pass() {
    let base = domain(8);
    let alphabet: &[&str] = &[
        "<",
        ">",
        "/",
        "!",
        "-",
        "[",
        "]",
        "'",
        "\"",
        "\n    ",
        "\n    <",
        " ",
        "&",
        ";",
        "?",
        "<!--",
        "-->",
        "<![CDATA[",
        "]]>",
        "</devices>",
        "<disk>",
        "</disk>",
        "=",
        "a",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut pieces_used = 0;
    for round in 0..1500 {
        let mut s = base.clone().into_bytes();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(s.len());
            match rng.below(3) {
                0 => {
                    s.remove(at);
                }
                1 => {
                    let ins = alphabet[rng.below(alphabet.len())];
                    s.splice(at..at, ins.bytes());
                }
                _ => {
                    let len = rng.below(40).min(s.len() - at);
                    let copy = s[at..at + len].to_vec();
                    let to = rng.below(s.len());
                    s.splice(to..to, copy);
                }
            }
        }
        let Ok(text) = String::from_utf8(s) else {
            continue;
        };
        let n = [2, 5, 400][round % 3];
        pieces_used += usize::from(agrees(&text, n) > 1);
    }
    // Both ways were tried: many mutations leave a well-formed document with its layout.
    assert!(
        pieces_used > 300,
        "only {pieces_used} of 1500 read in pieces"
    );
}

/// The arena's room, as `reserve` on an empty vector gives it (which is what the builder
/// does; `with_capacity` rounds small requests differently).
#[allow(clippy::reserve_after_initialization)]
fn room<T>(n: usize) -> usize {
    let mut v = Vec::<T>::new();
    v.reserve(n);
    v.capacity()
}

#[test]
fn the_arenas_are_allocated_once_for_every_fixture_in_one_pass_and_in_pieces() {
    let mut texts: Vec<(String, String)> = vec![("domain(300)".into(), domain(300))];
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");
    let mut stack = vec![std::path::PathBuf::from(dir)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            // Not through links: the sysfs fixtures hold a loop.
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "xml") {
                if let Ok(t) = std::fs::read_to_string(&p) {
                    texts.push((p.display().to_string(), t));
                }
            }
        }
    }
    assert!(texts.len() > 100, "{} documents", texts.len());
    let mut read_in_pieces = 0;
    for (name, text) in &texts {
        for plan in [Plan::ONE_PASS, Plan::in_pieces(4)] {
            PIECES.with(|p| p.set(0));
            let Ok(doc) = parse_with(text.as_bytes(), Limits::default(), plan) else {
                continue;
            };
            read_in_pieces += usize::from(PIECES.with(|p| p.get()) > 0);
            // What the document holds once its BOM is set aside, as `parse_with` reads it.
            let t = text.strip_prefix('\u{feff}').unwrap_or(text);
            let (nodes, attrs) = room_for(t);
            let tree = &doc.tree;
            assert!(
                tree.nodes.len() <= nodes,
                "{name}: {} nodes",
                tree.nodes.len()
            );
            assert!(
                tree.attrs.len() <= attrs,
                "{name}: {} attrs",
                tree.attrs.len()
            );
            // Had either grown, its capacity would be another.
            assert_eq!(tree.nodes.capacity(), room::<NodeData>(nodes), "{name}");
            assert_eq!(tree.attrs.capacity(), room::<AttrData>(attrs), "{name}");
        }
    }
    assert!(read_in_pieces > 10, "{read_in_pieces} read in pieces");
}
