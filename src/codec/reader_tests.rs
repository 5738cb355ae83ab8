//! Tests of `reader`, kept apart so that the module stays readable at once.

use super::*;

#[test]
fn near_misses_are_suggested() {
    assert_eq!(
        did_you_mean("contoller", ["controller", "disk"]),
        Some("controller")
    );
    assert_eq!(
        did_you_mean("unique-id", ["unique_id", "name"]),
        Some("unique_id")
    );
    assert_eq!(did_you_mean("frobnicate", ["controller", "disk"]), None);
}

/// The name bits only ever skip a search for a name that is absent: every attribute and
/// child is found, whatever bits the names share, and an absent one is not.
#[test]
fn every_present_name_is_found_and_absent_ones_are_not() {
    let names: Vec<String> = (0..200).map(|i| format!("n{i}x")).collect();
    let attrs: String = names.iter().map(|n| format!(" {n}='v'")).collect();
    let kids: String = names.iter().map(|n| format!("<{n}/>")).collect();
    let text = format!("<e{attrs}>{kids}</e>");
    let doc = crate::xml::parse_document(text.as_bytes(), crate::xml::Limits::default()).unwrap();
    let cx = Ctx::default();
    let r = R::new(&cx, doc.tree.root());
    for n in &names {
        let n: &'static str = Box::leak(n.clone().into_boxed_str());
        assert!(r.attr_raw(n).is_some(), "attribute {n}");
        assert!(r.child(n).is_some(), "child {n}");
    }
    for absent in ["n200x", "x", "", "n1", "N0x"] {
        assert!(r.attr_raw(absent).is_none(), "{absent}");
        assert!(r.child(absent).is_none(), "{absent}");
    }
    assert!(r.finish().is_empty());
}
