//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The crate root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `*.xml` files directly in a folder under the crate root, sorted.
pub fn xml_files(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "xml"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// libvirt's conformance vectors, when `../shared` is beside the checkout.
pub fn corpus_dir() -> Option<PathBuf> {
    let d = root().join("../shared/conformance/libvirt");
    d.is_dir().then_some(d)
}

/// Every input XML of the corpus (top level, legacy/, storagepool/), sorted.
pub fn corpus_inputs() -> Vec<PathBuf> {
    let Some(d) = corpus_dir() else {
        return Vec::new();
    };
    let mut v = Vec::new();
    for sub in ["", "legacy", "storagepool"] {
        if let Ok(rd) = std::fs::read_dir(d.join(sub)) {
            v.extend(
                rd.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "xml")),
            );
        }
    }
    v.sort();
    v
}

/// Print why a test did nothing, so a skip is visible in the output.
pub fn skip(why: &str) {
    eprintln!("SKIPPED: {why}");
}

/// The value of a leading `<!-- key: VALUE -->` comment.
pub fn header(path: &Path, key: &str) -> Option<String> {
    let text = String::from_utf8_lossy(&std::fs::read(path).ok()?).into_owned();
    let needle = format!("<!-- {key}:");
    let start = text.find(&needle)? + needle.len();
    let end = text[start..].find("-->")? + start;
    Some(text[start..end].trim().to_string())
}

/// A file's name for messages.
pub fn name(p: &Path) -> String {
    p.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}
