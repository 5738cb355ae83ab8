//! `<pool type='scsi'>` rules (reference §f.3).

use super::check_adapter;
use crate::diag::{codes, Diagnostic};
use crate::model::Pool;

pub(crate) fn check(p: &Pool) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if p.kind != "scsi" {
        return out;
    }
    let src = p.source.as_ref();
    match src.and_then(|s| s.adapter.as_ref()) {
        Some(a) => check_adapter(a, "/pool/source/adapter", &mut out),
        None => out.push(
            Diagnostic::new(codes::E091, "/pool/source", "missing storage pool source adapter")
                .hint("add <source><adapter name='scsi_hostN'/></source> or a stable form (parent='pci_…' unique_id='N', type='fc_host' …)"),
        ),
    }
    if let Some(addr) = src.and_then(|s| s.address.as_ref()) {
        if addr.target.is_none() {
            out.push(
                Diagnostic::new(
                    codes::E090,
                    "/pool/source/address",
                    "a pool <address type='scsi'> needs a 'target' (bus defaults to 0)",
                )
                .hint("add target='N', or drop the <address> to use every LU of the adapter"),
            );
        }
    }
    out
}
