//! Reading the model from XML and writing it back.
//!
//! Reading goes bytes → [`crate::xml`] tree (positions, bounds) → model. Each element family
//! has a `read_*` and a `write_*` side by side so the two stay symmetric. Writing produces
//! libvirt's layout: its element and attribute order, two-space indentation, single quotes,
//! PCI numbers in hex; content domxml does not model follows the known content.

mod address;
mod controller;
mod devices;
mod disk;
mod domain;
mod hostdev;
mod names;
mod reader;

pub(crate) use reader::did_you_mean;

use crate::diag::{codes, Diagnostic};
use crate::model::Definition;
use crate::xml::{self, Limits, Node, SourceMap, TreeErrorKind};
use reader::{Ctx, R};

/// A document that was read: the model, the warnings found on the way, and what is needed to
/// locate later diagnostics and to write the document back whole.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The model.
    pub definition: Definition,
    /// Warnings (unknown content).
    pub warnings: Vec<Diagnostic>,
    /// Positions by element path.
    pub source_map: SourceMap,
    /// The XML declaration, if any.
    pub declaration: Option<String>,
    /// Comments before the root.
    pub prolog: Vec<Node>,
    /// Comments after the root.
    pub epilog: Vec<Node>,
}

/// Read a domain or pool definition. On failure, every error found is returned (warnings
/// too), each with a position.
///
/// From 4,096 devices, `<devices>` is read on up to one scoped thread per core (at most 8),
/// all joined before this returns; the result is the same as on one thread.
pub fn parse_bytes(bytes: &[u8], limits: Limits) -> Result<Parsed, Vec<Diagnostic>> {
    parse_lent(bytes, limits).map(Lent::kept)
}

/// [`parse_bytes`] for a caller that will locate no later diagnostic (one that formats the
/// document, or resolves it): the same result with an empty `source_map`. Keeping a source
/// map means keeping a copy of the text (20 MB for 100,000 disks); this makes none.
///
/// ```
/// let src = b"<domain type='qemu'><name>g</name></domain>";
/// let p = domxml::codec::parse_bytes_without_map(src, Default::default()).unwrap();
/// assert_eq!(p.source_map.lookup("/domain/name"), None);
/// assert_eq!(p.definition, domxml::codec::parse_bytes(src, Default::default()).unwrap().definition);
/// ```
pub fn parse_bytes_without_map(bytes: &[u8], limits: Limits) -> Result<Parsed, Vec<Diagnostic>> {
    parse_lent(bytes, limits).map(|lent| lent.parsed)
}

/// A document that was read, its tree still reading the caller's text: what a caller that
/// locates diagnostics now and keeps no [`SourceMap`] needs (`convert`, `fmt`), without a
/// copy of the text (20 MB for 100,000 disks).
pub(crate) struct Lent<'s> {
    /// Everything but the source map, which is empty.
    pub(crate) parsed: Parsed,
    /// The document's tree.
    pub(crate) tree: xml::Tree<'s>,
}

impl Lent<'_> {
    /// The document with its source map (the tree, owning a copy of the text).
    pub(crate) fn kept(self) -> Parsed {
        let mut parsed = self.parsed;
        parsed.source_map = SourceMap::new(std::sync::Arc::new(self.tree.into_owned()));
        parsed
    }
}

/// [`parse_bytes`] without the source map's copy of the text.
pub(crate) fn parse_lent(bytes: &[u8], limits: Limits) -> Result<Lent<'_>, Vec<Diagnostic>> {
    let doc = xml::parse_document(bytes, limits).map_err(|e| {
        let code = match e.kind {
            TreeErrorKind::Syntax => codes::E001,
            TreeErrorKind::Bound => codes::E006,
            TreeErrorKind::Entity => codes::E007,
        };
        let mut d = Diagnostic::new(code, "", e.message).at(e.pos);
        d.hint = e.hint;
        vec![d]
    })?;
    let tree = doc.tree;
    let root = tree.root();
    if let Some(devices) = root.elements().find(|e| e.name() == "devices") {
        let n = devices.elements().count();
        if n > limits.max_devices {
            let d = Diagnostic::new(
                codes::E006,
                format!("/{}/devices", root.name()),
                format!(
                    "<devices> has {n} devices, over the limit of {}",
                    limits.max_devices
                ),
            )
            .at(devices.pos())
            .hint("raise the bound with --max-devices if this file is genuine");
            return Err(vec![d]);
        }
    }
    let cx = Ctx::default();
    let r = R::new(&cx, root);
    let definition = match root.name() {
        "domain" => domain::read_domain(r).map(|d| Definition::Domain(Box::new(d))),
        "pool" => Some(Definition::Pool(Box::new(domain::read_pool(r)))),
        other => {
            drop(r);
            let mut d = Diagnostic::new(
                codes::E002,
                format!("/{other}"),
                format!(
                    "the root element is <{other}>; domxml reads <domain> and <pool> definitions"
                ),
            )
            .at(root.pos());
            if let Some(s) = did_you_mean(other, ["domain", "pool"]) {
                d = d.hint(format!("did you mean <{s}>?"));
            } else {
                d = d.hint("pass a libvirt domain (virsh dumpxml) or storage pool (virsh pool-dumpxml) definition");
            }
            cx.push(d);
            None
        }
    };
    let diags = cx.diags.into_inner();
    match definition {
        Some(definition) if !diags.iter().any(Diagnostic::is_error) => Ok(Lent {
            parsed: Parsed {
                definition,
                warnings: diags,
                source_map: SourceMap::default(),
                declaration: doc.declaration,
                prolog: doc.prolog,
                epilog: doc.epilog,
            },
            tree,
        }),
        _ => {
            let mut diags = diags;
            diags.sort_by_key(|d| (std::cmp::Reverse(d.severity), d.pos.map(|p| p.offset)));
            Err(diags)
        }
    }
}

/// Read from a string with default limits.
///
/// ```
/// let p = domxml::codec::parse_str("<domain type='qemu'><name>g</name><bogus/></domain>").unwrap();
/// assert_eq!(p.warnings[0].code, domxml::codes::W001); // kept, and reported
/// assert!(domxml::codec::parse_str("<domain>").is_err());
/// ```
pub fn parse_str(s: &str) -> Result<Parsed, Vec<Diagnostic>> {
    parse_bytes(s.as_bytes(), Limits::default())
}

/// The model as an element tree.
pub fn to_element(def: &Definition) -> xml::Element {
    match def {
        Definition::Domain(d) => domain::write_domain(d),
        Definition::Pool(p) => domain::write_pool(p),
    }
}

/// A definition as canonical XML.
///
/// ```
/// let p = domxml::codec::parse_str("<domain type='qemu'><name>g</name></domain>").unwrap();
/// assert_eq!(domxml::codec::write_definition(&p.definition), "<domain type='qemu'>\n  <name>g</name>\n  <devices/>\n</domain>\n");
/// ```
pub fn write_definition(def: &Definition) -> String {
    match def {
        Definition::Domain(d) => write_domain(d),
        Definition::Pool(_) => xml::write_element(&to_element(def)),
    }
}

/// A domain as canonical XML.
pub fn write_domain(d: &crate::model::Domain) -> String {
    let mut out = String::new();
    domain::write_domain_into(&mut out, d);
    out
}

/// A parsed document written back canonically, declaration and outer comments included:
/// what `domxml fmt` prints. From 4,096 devices, `<devices>` is written on up to one scoped
/// thread per core, as [`parse_bytes`] reads it.
///
/// ```
/// let src = "<?xml version='1.0'?>\n<!-- vm -->\n<domain type='qemu' ><name>g</name></domain>\n";
/// let p = domxml::codec::parse_str(src).unwrap();
/// assert_eq!(
///     domxml::codec::write_document(&p),
///     "<?xml version='1.0'?>\n<!-- vm -->\n<domain type='qemu'>\n  <name>g</name>\n  <devices/>\n</domain>\n"
/// );
/// ```
pub fn write_document(parsed: &Parsed) -> String {
    if let Definition::Domain(d) = &parsed.definition {
        return xml::write_document_with(
            parsed.declaration.as_deref(),
            &parsed.prolog,
            &parsed.epilog,
            &mut |out| domain::write_domain_into(out, d),
        );
    }
    xml::write_document(&xml::Document {
        declaration: parsed.declaration.clone(),
        prolog: parsed.prolog.clone(),
        root: to_element(&parsed.definition),
        epilog: parsed.epilog.clone(),
    })
}

/// One device as an element, in canonical form (`None` for a comment between devices).
pub fn device_element(d: &crate::model::Device) -> Option<xml::Element> {
    use crate::model::Device;
    Some(match d {
        Device::Emulator(e) => xml::Element::new("emulator").with_text(e.clone()),
        Device::Disk(x) => disk::write_disk(x),
        Device::Controller(x) => controller::write_controller(x),
        Device::Hostdev(x) => hostdev::write_hostdev(x),
        Device::Other(x) => x.clone(),
        Device::Comment(_) => return None,
    })
}

/// One device as canonical XML: what `virDomainAttachDeviceFlags` takes.
pub fn write_device(d: &crate::model::Device) -> Option<String> {
    device_element(d).map(|e| xml::write_element(&e))
}
