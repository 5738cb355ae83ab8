//! Disk backends: the `-blockdev` chain (storage node, then a format node for non-raw images)
//! or the legacy `-drive`, with libiscsi sources, `-object secret` for their credentials and
//! `pr-manager-helper` objects for persistent reservations
//! (`qemuBuildDiskSourceCommandLine`, `qemuBlockStorageSourceGetBackendProps`).

use super::{Cx, Out};
use crate::diag::codes;
use crate::emit::{EmitError, Props, Val};
use crate::model::{Disk, DiskType, NetHost, SourceAuth, SourceKind, YesNo};

/// (cache.direct, cache.no-flush, write-cache) of a libvirt cache mode
/// (`qemuDomainDiskCachemodeFlags`).
pub(super) fn cache_flags(mode: &str) -> Option<(bool, bool, bool)> {
    Some(match mode {
        "none" => (true, false, true),
        "writeback" => (false, false, true),
        "writethrough" => (false, false, false),
        "directsync" => (true, false, false),
        "unsafe" => (false, true, true),
        _ => return None,
    })
}

/// The backend of a disk with storage node number `n`; returns what the device's `drive`
/// points at.
pub(super) fn backend(
    cx: &Cx<'_>,
    out: &mut Out,
    path: &str,
    disk: &Disk,
    n: u64,
    alias: &str,
    readonly: bool,
) -> Result<String, EmitError> {
    let caps = &cx.opts.caps;
    let src = disk.source.as_ref();
    let storage_name = node_name(n, "storage");
    let mut storage = match disk.source_kind() {
        SourceKind::File { path } => Props::new().s("driver", "file").s("filename", path),
        // libvirt uses host_device for block CD-ROMs too (test disk-scsi-disk-vpd).
        SourceKind::Block { dev } => Props::new().s("driver", "host_device").s("filename", dev),
        SourceKind::Network {
            protocol: "iscsi",
            name,
            hosts,
            auth,
            initiator_iqn,
        } => iscsi(
            cx,
            out,
            path,
            name.unwrap_or_default(),
            hosts,
            auth,
            initiator_iqn,
            &storage_name,
            Some("auth"),
        )?,
        _ => {
            return Err(EmitError::new(
                codes::E104,
                path,
                format!(
                    "disk type '{}'{} is not emitted by domxml",
                    disk.kind.unwrap_or(DiskType::File),
                    src.and_then(|s| s.protocol.as_ref())
                        .map(|p| format!(" (protocol '{p}')"))
                        .unwrap_or_default()
                ),
            )
            .with_hint("use a file, block or iSCSI source"))
        }
    };
    // Persistent reservations: a managed helper is shared; an unmanaged one gets its own
    // object just before this disk's backend.
    if let Some(r) = src.and_then(|s| s.reservations.as_ref()) {
        let id = if r.managed == Some(YesNo::Yes) {
            "pr-helper0".to_string()
        } else {
            let id = format!("pr-helper-{storage_name}");
            let sock = r
                .source
                .as_ref()
                .and_then(|s| s.path.clone())
                .ok_or_else(|| {
                    EmitError::new(
                        codes::E111,
                        path,
                        "<reservations managed='no'> needs <source type='unix' path=…>",
                    )
                })?;
            out.object(
                Props::new()
                    .s("qom-type", "pr-manager-helper")
                    .s("id", id.clone())
                    .s("path", sock),
            );
            id
        };
        storage = storage.s("pr-manager", id);
    }
    let drv = disk.driver.as_ref();
    let format = drv
        .and_then(|d| d.format.clone())
        .unwrap_or_else(|| "raw".into());
    // A shared, writable disk without a cache mode gets cache='none' (libvirt's disk
    // post-parse), so that every host sharing it sees the same data.
    let cache_mode = drv
        .and_then(|d| d.cache.clone())
        .or_else(|| (disk.shareable && !readonly).then(|| "none".to_string()));
    let cache = cache_mode.as_deref().and_then(cache_flags);
    let unmap = drv.and_then(|d| d.discard.as_deref()) == Some("unmap");

    if !caps.blockdev() {
        // Legacy: one -drive with the source, `if=none`, id `drive-<alias>`.
        let id = format!("drive-{alias}");
        let mut dp = legacy_file_props(&storage);
        dp = dp.s("format", format).s("if", "none").s("id", id.clone());
        if readonly {
            dp = dp.s("readonly", "on");
        }
        if let (Some(c), Some(_)) = (&cache_mode, cache) {
            dp = dp.s("cache", c.clone());
        }
        if unmap {
            dp = dp.s("discard", "unmap");
        }
        out.drive(&dp);
        return Ok(id);
    }

    let cache_obj =
        cache.map(|(direct, no_flush, _)| Props::new().b("direct", direct).b("no-flush", no_flush));
    storage = storage.s("node-name", storage_name.clone());
    if let Some(c) = &cache_obj {
        storage = storage.obj("cache", c.clone());
    }
    if format == "raw" {
        storage = storage.b("read-only", readonly);
        if unmap {
            storage = storage.s("discard", "unmap");
        }
        out.blockdev(&storage);
        return Ok(storage_name);
    }
    // Under a format layer the storage node lets the format decide: it is opened read-only on
    // demand and passes discards through.
    storage = storage.b("auto-read-only", true).s("discard", "unmap");
    out.blockdev(&storage);
    let fmt_name = node_name(n, "format");
    let mut f = Props::new()
        .s("node-name", fmt_name.clone())
        .b("read-only", readonly);
    if unmap {
        f = f.s("discard", "unmap");
    }
    if let Some(c) = cache_obj {
        f = f.obj("cache", c);
    }
    f = f.s("driver", format).s("file", storage_name);
    out.blockdev(&f);
    Ok(fmt_name)
}

/// libvirt's block node name `libvirt-N-KIND` (every disk has one or two; no `format!`).
pub(super) fn node_name(n: u64, kind: &str) -> String {
    let mut s = String::with_capacity(16 + kind.len());
    s.push_str("libvirt-");
    crate::decimal::push_decimal(&mut s, n);
    s.push('-');
    s.push_str(kind);
    s
}

/// The `file…` keys of a legacy `-drive` for a backend: a local file or device becomes
/// `file=PATH` first, an iSCSI source keeps all its keys under `file.`.
pub(super) fn legacy_file_props(backend: &Props) -> Props {
    let mut dp = Props::new();
    if matches!(backend.get("driver"), Some(Val::Str(s)) if s == "iscsi") {
        for (k, v) in &backend.0 {
            dp.0.push((format!("file.{k}").into(), v.clone()));
        }
        return dp;
    }
    for (k, v) in &backend.0 {
        match k.as_ref() {
            "filename" => dp.0.insert(0, ("file".into(), v.clone())),
            "driver" => {}
            _ => dp.0.push((format!("file.{k}").into(), v.clone())),
        }
    }
    dp
}

/// libiscsi backend properties (`qemuBlockStorageSourceGetISCSIProps`); an `<auth>` secret
/// becomes a `-object secret` read from a file, never a value on the command line. Its id is
/// libvirt's (`qemuAliasForSecret`): `NODE-OBJ-secret0` (a disk's `libvirt-N-storage-auth-
/// secret0`), or `NODE-secret0` without `secret_obj` (a hostdev's `libvirt-N-backend-secret0`).
#[allow(clippy::too_many_arguments)]
pub(super) fn iscsi(
    cx: &Cx<'_>,
    out: &mut Out,
    path: &str,
    name: &str,
    hosts: &[NetHost],
    auth: Option<&SourceAuth>,
    initiator: Option<&str>,
    node: &str,
    secret_obj: Option<&str>,
) -> Result<Props, EmitError> {
    let (target, lun) = match name.rsplit_once('/') {
        Some((t, l)) => (
            t.to_string(),
            l.parse::<u64>().map_err(|_| {
                EmitError::new(
                    codes::E108,
                    path,
                    format!("iSCSI source name '{name}' ends in '/{l}', which is not a LUN number"),
                )
            })?,
        ),
        None => (name.to_string(), 0),
    };
    let host = hosts
        .first()
        .ok_or_else(|| EmitError::new(codes::E108, path, "the iSCSI source has no <host>"))?;
    let hname = host.name.clone().unwrap_or_default();
    let port = host.port.clone().unwrap_or_else(|| "3260".into());
    let portal = if hname.contains(':') {
        format!("[{hname}]:{port}")
    } else {
        format!("{hname}:{port}")
    };
    let mut p = Props::new()
        .s("driver", "iscsi")
        .s("portal", portal)
        .s("target", target)
        .n("lun", lun)
        .s("transport", "tcp");
    if let Some(a) = auth {
        let secret_id = match secret_obj {
            Some(obj) => format!("{node}-{obj}-secret0"),
            None => format!("{node}-secret0"),
        };
        secret(cx, out, path, &secret_id, a)?;
        p = p
            .s("user", a.username.clone().unwrap_or_default())
            .s("password-secret", secret_id);
    }
    Ok(p.os("initiator-name", initiator.map(str::to_string)))
}

/// `-object secret,file=DIR/NAME` for an `<auth>`: the value stays in a file.
fn secret(
    cx: &Cx<'_>,
    out: &mut Out,
    path: &str,
    id: &str,
    auth: &SourceAuth,
) -> Result<(), EmitError> {
    let name = auth
        .secret
        .as_ref()
        .and_then(|s| s.uuid.clone().or_else(|| s.usage.clone()))
        .ok_or_else(|| {
            EmitError::new(
                codes::E109,
                path,
                "<auth> has no <secret uuid=…> or usage=…",
            )
            .with_hint("name the secret: <secret type='iscsi' usage='NAME'/> or uuid='…'")
        })?;
    if name.contains('/') || name == ".." || name == "." {
        return Err(EmitError::new(
            codes::E109,
            path,
            format!("secret name '{name}' cannot be a file name in --secrets-dir"),
        ));
    }
    let file = cx.opts.secrets_dir.join(&name);
    if cx.opts.check_secrets && !file.is_file() {
        return Err(EmitError::new(
            codes::E110,
            path,
            format!("secret file {} does not exist", file.display()),
        )
        .with_hint(format!(
            "write the secret value (raw bytes, no newline) to {} or point --secrets-dir at the directory holding '{name}'",
            file.display()
        )));
    }
    out.object(
        Props::new()
            .s("qom-type", "secret")
            .s("id", id)
            .s("format", "raw")
            .s("file", file.to_string_lossy()),
    );
    Ok(())
}
