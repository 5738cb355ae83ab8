//! The argv builder: every argument goes in through a typed method that escapes as it goes,
//! so a built [`QemuArgs`] is always a valid QEMU command line whatever paths or names the
//! XML held.

use std::borrow::Cow;
use std::fmt;
use std::fmt::Write as _;

/// A property value. Kept typed so one property list can be written both as JSON (numbers and
/// booleans unquoted, as libvirt writes them) and as legacy `key=value` (booleans `on`/`off`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    /// A string.
    Str(String),
    /// An unsigned number.
    Num(u64),
    /// A boolean.
    Bool(bool),
    /// A nested object (JSON only, e.g. the `cache` of a `-blockdev`).
    Obj(Props),
}

/// An ordered property list. Order is libvirt's emission order, which makes our output read
/// the same as libvirt's `.args` files. Keys are almost always literals, so they are borrowed
/// (`Cow::Borrowed`) rather than allocated: a domain with 100,000 disks builds millions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Props(pub Vec<(Cow<'static, str>, Val)>);

impl Props {
    /// An empty list.
    pub fn new() -> Self {
        // Most devices have a handful of properties: one allocation, not three growing ones.
        Props(Vec::with_capacity(8))
    }

    /// Append a string property.
    pub fn s(mut self, k: &'static str, v: impl Into<String>) -> Self {
        self.0.push((Cow::Borrowed(k), Val::Str(v.into())));
        self
    }

    /// Append a string property when present.
    pub fn os(self, k: &'static str, v: Option<impl Into<String>>) -> Self {
        match v {
            Some(v) => self.s(k, v),
            None => self,
        }
    }

    /// Append a number.
    pub fn n(mut self, k: &'static str, v: u64) -> Self {
        self.0.push((Cow::Borrowed(k), Val::Num(v)));
        self
    }

    /// Append a number when present.
    pub fn on(self, k: &'static str, v: Option<u64>) -> Self {
        match v {
            Some(v) => self.n(k, v),
            None => self,
        }
    }

    /// Append a boolean.
    pub fn b(mut self, k: &'static str, v: bool) -> Self {
        self.0.push((Cow::Borrowed(k), Val::Bool(v)));
        self
    }

    /// Append a nested object.
    pub fn obj(mut self, k: &'static str, v: Props) -> Self {
        self.0.push((Cow::Borrowed(k), Val::Obj(v)));
        self
    }

    /// Append every property of another list.
    pub fn extend(mut self, other: Props) -> Self {
        self.0.extend(other.0);
        self
    }

    /// The value of a key.
    pub fn get(&self, k: &str) -> Option<&Val> {
        self.0.iter().find(|(key, _)| key == k).map(|(_, v)| v)
    }

    /// Compact JSON in list order (`{"driver":"lsi","id":"scsi0"}`).
    pub fn to_json(&self) -> String {
        // Sized up front: a `-blockdev` grows past 200 bytes, and growing it there by
        // doubling costs more than writing it (10,000 disks make 30,000 of them).
        let mut out = String::with_capacity(self.json_len());
        self.write_json(&mut out);
        out
    }

    /// The length of the compact JSON when no value needs an escape (the usual case); a
    /// bound on numbers' digits.
    fn json_len(&self) -> usize {
        let mut len = 2 + self.0.len().saturating_sub(1);
        for (k, v) in &self.0 {
            len += k.len()
                + 3
                + match v {
                    Val::Str(s) => s.len() + 2,
                    Val::Num(_) => 20,
                    Val::Bool(b) => 4 + usize::from(!*b),
                    Val::Obj(p) => p.json_len(),
                };
        }
        len
    }

    fn write_json(&self, out: &mut String) {
        out.push('{');
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            // Keys are QEMU property names (letters, digits, '-', '_', '.'): nothing to escape.
            if k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            {
                out.push('"');
                out.push_str(k);
                out.push('"');
            } else {
                write_json_string(out, k);
            }
            out.push(':');
            match v {
                Val::Str(s) => write_json_string(out, s),
                Val::Num(n) => crate::decimal::push_decimal(out, *n),
                Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
                Val::Obj(p) => p.write_json(out),
            }
        }
        out.push('}');
    }

    /// Legacy QEMU keyval (`lsi,id=scsi0,bus=pci.0`): the value of `lead` (usually `driver`) is
    /// written bare first; every value has `,` doubled so QEMU reads it back whole. Nested
    /// objects are flattened with dotted keys (`cache.direct=on`).
    pub fn to_keyval(&self, lead: Option<&str>) -> String {
        let mut parts = Vec::new();
        if let Some(l) = lead {
            if let Some(Val::Str(s)) = self.get(l) {
                parts.push(escape_keyval(s));
            }
        }
        self.push_keyval("", lead, &mut parts);
        parts.join(",")
    }

    fn push_keyval(&self, prefix: &str, lead: Option<&str>, parts: &mut Vec<String>) {
        for (k, v) in &self.0 {
            if prefix.is_empty() && Some(k.as_ref()) == lead {
                continue;
            }
            let key = format!("{prefix}{k}");
            match v {
                Val::Str(s) => parts.push(format!("{key}={}", escape_keyval(s))),
                Val::Num(n) => parts.push(format!("{key}={n}")),
                Val::Bool(b) => parts.push(format!("{key}={}", if *b { "on" } else { "off" })),
                Val::Obj(p) => p.push_keyval(&format!("{key}."), None, parts),
            }
        }
    }
}

/// A JSON string literal, escaped as serde_json escapes (`"` and `\\` by a backslash, the
/// short forms for `\b \f \n \r \t`, other control characters as `\u00XX`).
fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    // Most values (paths, names, aliases) need no escape: one branch-free pass over the
    // bytes says so, and they are copied whole.
    let escapes = s
        .bytes()
        .fold(false, |e, b| e | (b < 0x20) | (b == b'"') | (b == b'\\'));
    if !escapes {
        out.push_str(s);
        out.push('"');
        return;
    }
    let mut plain = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[plain..i]);
        if esc.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(esc);
        }
        plain = i + 1;
    }
    out.push_str(&s[plain..]);
    out.push('"');
}

/// Double every comma: QEMU's option parser reads `,,` as a literal comma inside a value.
pub fn escape_keyval(s: &str) -> String {
    s.replace(',', ",,")
}

/// A QEMU command line under construction: the emulator and its arguments, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuArgs {
    argv: Vec<String>,
    /// Index in `argv` where each line of the shell layout starts (an option and its value).
    line_starts: Vec<usize>,
}

impl QemuArgs {
    /// Start with the emulator binary.
    pub(crate) fn new(emulator: impl Into<String>) -> Self {
        QemuArgs {
            argv: vec![emulator.into()],
            line_starts: vec![0],
        }
    }

    /// No words at all, not even the emulator: a part of a command line, to be
    /// [`QemuArgs::append`]ed to a whole one.
    pub(crate) fn empty() -> Self {
        QemuArgs {
            argv: Vec::new(),
            line_starts: Vec::new(),
        }
    }

    /// Room for `words` more words on `lines` more lines (and the few options that come
    /// after them), so that appending the parts of a big list copies no word twice.
    pub(crate) fn reserve(&mut self, words: usize, lines: usize) {
        self.argv.reserve(words + 256);
        self.line_starts.reserve(lines + 128);
    }

    /// How many words and lines this holds.
    pub(crate) fn size(&self) -> (usize, usize) {
        (self.argv.len(), self.line_starts.len())
    }

    /// The words and lines of `part` (made by [`QemuArgs::empty`]) after these.
    pub(crate) fn append(&mut self, part: QemuArgs) {
        let base = self.argv.len();
        self.line_starts
            .extend(part.line_starts.iter().map(|&start| base + start));
        self.argv.extend(part.argv);
    }

    /// An option without a value (`-nodefaults`).
    pub(crate) fn flag(&mut self, name: &str) {
        self.line_starts.push(self.argv.len());
        self.argv.push(name.to_string());
    }

    /// An option with a value that QEMU does not parse as keyval (`-uuid`, `-cpu qemu64`).
    pub(crate) fn opt(&mut self, name: &str, value: impl Into<String>) {
        self.line_starts.push(self.argv.len());
        self.argv.push(name.to_string());
        self.argv.push(value.into());
    }

    /// An option whose value is a keyval list, escaped (`-drive file=a,,b,if=none`).
    pub(crate) fn keyval(&mut self, name: &str, props: &Props, lead: Option<&str>) {
        self.opt(name, props.to_keyval(lead));
    }

    /// An option whose value is a JSON object (`-device '{"driver":…}'`).
    pub(crate) fn json(&mut self, name: &str, props: &Props) {
        self.opt(name, props.to_json());
    }

    /// The argv, emulator first.
    pub fn argv(&self) -> &[String] {
        &self.argv
    }

    /// The argv grouped as the shell layout prints it: the emulator, then each option with its
    /// value.
    pub fn lines(&self) -> Vec<&[String]> {
        let mut out = Vec::with_capacity(self.line_starts.len());
        for (i, &start) in self.line_starts.iter().enumerate() {
            let end = self
                .line_starts
                .get(i + 1)
                .copied()
                .unwrap_or(self.argv.len());
            out.push(&self.argv[start..end]);
        }
        out
    }

    /// Take the argv.
    pub fn into_argv(self) -> Vec<String> {
        self.argv
    }
}

/// Written as the argv array, emulator first.
impl serde::Serialize for QemuArgs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.argv.serialize(s)
    }
}

impl fmt::Display for QemuArgs {
    /// One argument per line, unquoted: for reading and for plain-text snapshots.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for a in &self.argv {
            writeln!(f, "{a}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_written_into_one_allocation_of_the_right_size() {
        let p = Props::new()
            .s("driver", "host_device")
            .s("filename", "/dev/disk/by-id/wwn-0x5000c500a1b2c3d4")
            .s("node-name", "libvirt-1-storage")
            .b("read-only", false)
            .obj("cache", Props::new().b("direct", true).b("no-flush", false))
            .s("discard", "unmap");
        let json = p.to_json();
        assert_eq!(json.len(), p.json_len(), "{json}");
        assert_eq!(json.capacity(), p.json_len(), "the string never grew");
        // Numbers are given room for any u64; escapes may grow the string once.
        let n = Props::new().n("bootindex", 1).n("max", u64::MAX);
        assert!(n.to_json().len() <= n.json_len());
        let e = Props::new().s("serial", "a\"b\\c\n");
        assert_eq!(e.to_json(), r#"{"serial":"a\"b\\c\n"}"#);
    }

    #[test]
    fn keyval_doubles_commas_in_values_only() {
        let p = Props::new()
            .s("driver", "scsi-hd")
            .s("drive", "a,b")
            .n("lun", 3)
            .b("share-rw", true);
        assert_eq!(
            p.to_keyval(Some("driver")),
            "scsi-hd,drive=a,,b,lun=3,share-rw=on"
        );
    }

    #[test]
    fn json_keeps_insertion_order_and_types() {
        let p = Props::new()
            .s("driver", "scsi-hd")
            .n("wwn", 5764824127192592812)
            .b("ro", false);
        assert_eq!(
            p.to_json(),
            r#"{"driver":"scsi-hd","wwn":5764824127192592812,"ro":false}"#
        );
    }

    #[test]
    fn json_escapes_quotes_and_backslashes() {
        let p = Props::new().s("filename", "/a\"b\\c");
        assert_eq!(p.to_json(), r#"{"filename":"/a\"b\\c"}"#);
    }

    #[test]
    fn json_strings_are_escaped_as_serde_json_escapes_them() {
        let mut all: String = (0u8..0x80).map(char::from).collect();
        all.push_str("é€𝄞\u{7f}\u{2028}");
        let mut cases: Vec<String> = ["", "plain", "/dev/disk/by-id/x", "\"", "a\\b", "\u{1b}[2J"]
            .map(String::from)
            .into();
        cases.push(all.clone());
        // Each character alone and inside plain text: the escape-free fast path and the
        // escaping one must agree with serde_json everywhere.
        for c in all.chars() {
            cases.push(c.to_string());
            cases.push(format!("drive-scsi0-0-0-{c}-tail"));
        }
        for s in &cases {
            let mut out = String::new();
            write_json_string(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn nested_objects_flatten_with_dots_in_keyval() {
        let p = Props::new().obj("cache", Props::new().b("direct", true));
        assert_eq!(p.to_keyval(None), "cache.direct=on");
    }
}
