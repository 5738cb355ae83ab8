//! What XML 1.0 says about characters, applied as the reader meets them: which characters a
//! document may hold (§2.2), line ends (§2.11), attribute-value normalisation (§3.3.3),
//! references, and the whitespace between attributes (§3.1). Each rule is one libxml2 (and so
//! libvirt) applies: a document must read the same here as there.

use super::lines::LineIndex;
use super::read::{err, TreeError, TreeErrorKind};
use super::Pos;
use quick_xml::events::BytesStart;

/// XML 1.0 §2.2 `Char`: tab, newline, carriage return and every other character except the
/// C0 controls, the surrogates and U+FFFE/U+FFFF.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// How a character is named in a message: `U+001B`.
pub(super) fn char_name(c: char) -> String {
    format!("U+{:04X}", c as u32)
}

/// XML 1.0 §2.11 end-of-line handling: CR LF and a lone CR become LF. (A carriage return
/// written as `&#13;` is not touched: this runs before references are resolved.)
pub(super) fn eol(raw: &str) -> std::borrow::Cow<'_, str> {
    if !raw.contains('\r') {
        return raw.into();
    }
    raw.replace("\r\n", "\n").replace('\r', "\n").into()
}

/// XML 1.0 §3.3.3 attribute-value normalisation for CDATA attributes, after end-of-line
/// handling: every literal tab and newline becomes a space. References (`&#10;`, `&#9;`) are
/// resolved afterwards, so the characters they name are kept, as libxml2 (and so libvirt)
/// keeps them.
pub(super) fn normalise_attr(raw: &str) -> std::borrow::Cow<'_, str> {
    let v = eol(raw);
    if !v.contains(['\t', '\n']) {
        return v;
    }
    v.replace(['\t', '\n'], " ").into()
}

/// Resolve references in (end-of-line handled) text. An unknown entity is an entity error
/// (E007); a malformed reference, or one naming a character XML does not allow (`&#x1B;`,
/// `&#xFFFE;`), is not well-formed (E001), as libxml2 says.
pub(super) fn unescape(
    raw: &str,
    what: &str,
    entity_hint: &'static str,
) -> Result<String, (TreeErrorKind, String, &'static str)> {
    let v = quick_xml::escape::unescape(raw).map_err(|e| match e {
        quick_xml::escape::EscapeError::UnrecognizedEntity(..) => (
            TreeErrorKind::Entity,
            format!("unsupported entity or character reference{what}: {e}"),
            entity_hint,
        ),
        _ => (
            TreeErrorKind::Syntax,
            format!("malformed XML: bad character reference{what}: {e}"),
            "write a character reference as &#NNN; or &#xHHH; naming a character XML allows",
        ),
    })?;
    if let Some(c) = v.chars().find(|c| !is_xml_char(*c)) {
        return Err((
            TreeErrorKind::Syntax,
            format!(
                "malformed XML: a character reference{what} names {}, a character XML does not allow",
                char_name(c)
            ),
            "XML 1.0 allows no control character but tab, newline and carriage return, not even as a reference; remove it",
        ));
    }
    Ok(v.into_owned())
}

/// The first character XML 1.0 §2.2 does not allow, with its byte offset. In valid UTF-8 that
/// is a C0 control other than tab, newline and carriage return (one byte below 0x20), or
/// U+FFFE / U+FFFF (`EF BF BE`, `EF BF BF`): a scan of bytes, not a decoding of characters.
pub(super) fn first_forbidden_char(text: &str) -> Option<(usize, char)> {
    let b = text.as_bytes();
    // Blocks with no candidate byte (almost all) are passed over with a test the compiler
    // vectorises; a block with one is looked at byte by byte.
    const BLOCK: usize = 64;
    let candidate = |x: u8| (x < 0x20 && !matches!(x, b'\t' | b'\n' | b'\r')) || x == 0xEF;
    for (k, block) in b.chunks(BLOCK).enumerate() {
        if !block.iter().fold(false, |any, &x| any | candidate(x)) {
            continue;
        }
        for i in k * BLOCK..k * BLOCK + block.len() {
            let x = b[i];
            if (x < 0x20 && !matches!(x, b'\t' | b'\n' | b'\r'))
                || (x == 0xEF
                    && b.get(i + 1) == Some(&0xBF)
                    && matches!(b.get(i + 2), Some(0xBE | 0xBF)))
            {
                let c = text[i..].chars().next().unwrap_or('\0');
                if !is_xml_char(c) {
                    return Some((i, c));
                }
            }
        }
    }
    None
}

/// XML 1.0 §3.1: attributes are separated by whitespace. quick-xml reads
/// `controller='1'target='2'` as two attributes; libxml2 refuses it ("attributes construct
/// error"), and so must we, or the two readers see different documents.
pub(super) fn check_attribute_separation(
    e: &BytesStart<'_>,
    text: &str,
    name: &str,
) -> Result<(), TreeError> {
    let raw = e.attributes_raw();
    // From quote to matching quote (memchr): only what follows a closing quote is looked at.
    let mut i = 0;
    while let Some(open) = memchr::memchr2(b'\'', b'"', &raw[i..]) {
        let q = raw[i + open];
        let value = i + open + 1;
        // An unterminated value is quick-xml's error to report.
        let Some(len) = memchr::memchr(q, &raw[value..]) else {
            break;
        };
        let close = value + len;
        if let Some(&next) = raw.get(close + 1) {
            if !(next.is_ascii_whitespace() || next == b'/' || next == b'>') {
                let off = (raw[close + 1..].as_ptr() as usize)
                    .wrapping_sub(text.as_ptr() as usize)
                    .min(text.len());
                return Err(err(
                    TreeErrorKind::Syntax,
                    format!(
                        "malformed XML: attributes of <{name}> must be separated by whitespace"
                    ),
                    Some("put a space between an attribute's closing quote and the next attribute"),
                    LineIndex::new(text).pos(text, off),
                ));
            }
        }
        i = close + 1;
    }
    Ok(())
}

/// XML 1.0 §2.3 `NameStartChar`.
fn is_name_start(c: char) -> bool {
    matches!(c,
        ':' | 'A'..='Z' | '_' | 'a'..='z'
        | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
        | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}'
        | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}'
        | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}' | '\u{10000}'..='\u{EFFFF}')
}

/// XML 1.0 §2.3 `Name`: what an element or attribute may be called. quick-xml reads any run
/// of bytes up to a space, `/` or `>` as a name (`<clo<i`, `'vda'`); libxml2 refuses what is
/// not a `Name`, and written back such a name does not read as the same document (found by
/// fuzzing `fmt`).
pub(super) fn is_xml_name(s: &str) -> bool {
    // Nearly every name is ASCII: decide those a byte at a time.
    if let Some((&first, rest)) = s.as_bytes().split_first() {
        if s.is_ascii() {
            return (first.is_ascii_alphabetic() || matches!(first, b'_' | b':'))
                && rest
                    .iter()
                    .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b':' | b'-' | b'.'));
        }
    }
    let mut chars = s.chars();
    chars.next().is_some_and(is_name_start)
        && chars.all(|c| {
            is_name_start(c)
                || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
        })
}

/// The error for a name XML 1.0 §2.3 does not allow.
pub(super) fn not_a_name(what: &str, name: &str, pos: Pos) -> TreeError {
    err(
        TreeErrorKind::Syntax,
        format!(
            "malformed XML: {} is not a valid name for {what}",
            crate::diag::quote(name)
        ),
        Some("a name starts with a letter, '_' or ':' and goes on with letters, digits, '-', '.', '_' or ':'"),
        pos,
    )
}

/// One byte order mark may open a document (the reader strips it); a second one is the
/// character U+FEFF, text before the root, which libxml2 refuses. quick-xml would skip it
/// too, silently, and count its positions from after it: every offset into `text` would be
/// 3 bytes off (found by fuzzing: a declaration sliced at such an offset split a character).
pub(super) fn check_single_bom(text: &str) -> Result<(), TreeError> {
    if text.starts_with('\u{feff}') {
        return Err(err(
            TreeErrorKind::Syntax,
            "malformed XML: a second byte order mark (U+FEFF) before the root element",
            Some("remove the extra U+FEFF at the start (two UTF-8 files with byte order marks joined into one?)"),
            LineIndex::new(text).pos(text, 0),
        ));
    }
    Ok(())
}
