//! Tests of `read`, kept apart so that the module stays readable at once.

use super::*;

#[test]
fn positions_point_at_elements_and_attributes() {
    let doc = parse_document(b"<a>\n  <b x='1'  yy=\"2\"/>\n</a>", Limits::default()).unwrap();
    let b = doc.tree.root().elements().next().unwrap();
    assert_eq!((b.pos().line, b.pos().column), (2, 3));
    assert_eq!((b.attr_at(0).pos().line, b.attr_at(0).pos().column), (2, 6));
    assert_eq!(
        (b.attr_at(1).pos().line, b.attr_at(1).pos().column),
        (2, 13)
    );
}

#[test]
fn doctype_is_refused() {
    let e = parse_document(
        b"<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>",
        Limits::default(),
    )
    .unwrap_err();
    assert_eq!(e.kind, TreeErrorKind::Entity);
}

#[test]
fn undefined_entity_is_refused() {
    let e = parse_document(b"<a>&x;</a>", Limits::default()).unwrap_err();
    assert_eq!(e.kind, TreeErrorKind::Entity);
}

#[test]
fn depth_bound_is_enforced() {
    let s = "<a>".repeat(100);
    let e = parse_document(
        s.as_bytes(),
        Limits {
            max_bytes: 1000,
            max_depth: 50,
            ..Limits::default()
        },
    )
    .unwrap_err();
    assert_eq!(e.kind, TreeErrorKind::Bound);
}

#[test]
fn truncated_input_names_the_open_element() {
    let e = parse_document(b"<domain><devices>", Limits::default()).unwrap_err();
    assert_eq!(e.kind, TreeErrorKind::Syntax);
    assert!(e.message.contains("<devices>"), "{}", e.message);
}

#[test]
fn second_root_is_refused() {
    assert!(parse_document(b"<a/><b/>", Limits::default()).is_err());
}

#[test]
fn attribute_values_are_normalised_and_line_ends_handled() {
    let doc = parse_document(
        b"<a v='x\r\ny\tz\nw' r='p&#10;q&#9;r&#13;'>t\r\nu\rv&#13;</a>",
        Limits::default(),
    )
    .unwrap();
    let root = doc.tree.root();
    assert_eq!(root.attr("v"), Some("x y z w"));
    assert_eq!(root.attr("r"), Some("p\nq\tr\r"));
    assert_eq!(root.text(), "t\nu\nv\r");
}

#[test]
fn characters_xml_forbids_are_refused() {
    for src in [
        &b"<a>\x1b</a>"[..],
        b"<a>&#x1B;</a>",
        b"<a>&#0;</a>",
        b"<a x='&#xFFFE;'/>",
        b"<a x='1'y='2'/>",
        b"<!-- \x07 --><a/>",
    ] {
        let e = parse_document(src, Limits::default()).unwrap_err();
        assert_eq!(
            e.kind,
            TreeErrorKind::Syntax,
            "{}",
            String::from_utf8_lossy(src)
        );
    }
}

#[test]
fn columns_count_characters_not_bytes() {
    let doc = parse_document("<a>\n<é x='1'/></a>".as_bytes(), Limits::default()).unwrap();
    let e = doc.tree.root().elements().next().unwrap();
    assert_eq!(e.attr_at(0).pos().column, 4);
}
