//! `domxml apply` and `domxml plan --connect`: one host in this process; several hosts
//! (`--connect` repeated, `--hosts FILE`) each in a child process of its own, `--jobs` at a
//! time, so one host's failure (or crash) never stops the others.

use super::plan::{PlanFormat, TargetArgs};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `apply`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct ApplyArgs {
    /// A libvirt URI (`qemu:///system`, `qemu+ssh://host/system`, `qemu:///embed?root=DIR`,
    /// …); repeat it to apply to several hosts at once. Without it (and without --hosts),
    /// LIBVIRT_DEFAULT_URI or libvirt's default.
    #[arg(long, short = 'c', value_name = "URI")]
    pub connect: Vec<String>,
    /// A file with one libvirt URI per line (`#` starts a comment), for many hosts.
    #[arg(long, value_name = "FILE")]
    pub hosts: Option<PathBuf>,
    /// How many hosts to apply to at the same time.
    #[arg(long, short = 'j', value_name = "N", default_value_t = 4)]
    pub jobs: usize,
    #[command(flatten)]
    pub targets: TargetArgs,
    /// Start the domain afterwards (when it is new or shut off).
    #[arg(long)]
    pub start: bool,
    /// Do not ask before changing anything (on a terminal, apply shows the plan and asks).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Resolve stable SCSI adapters (parent/unique_id, parentaddr, fc_host, whole-host
    /// controllers) against the sysfs under DIR instead of the host's own (`/`).
    #[arg(long, value_name = "DIR")]
    pub sysfs_root: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
    pub format: PlanFormat,
    /// The desired domain XML.
    #[arg(value_name = "DESIRED")]
    pub desired: PathBuf,
}

/// One host: its URI and, from a hosts file, the sysfs to resolve its stable adapters with.
#[derive(Debug, Clone)]
struct Host {
    uri: String,
    sysfs_root: Option<PathBuf>,
}

/// The hosts named by `--connect` and `--hosts` (lines `URI [SYSFS-ROOT]`).
fn hosts(a: &ApplyArgs) -> Result<Vec<Host>, String> {
    let mut v: Vec<Host> = a
        .connect
        .iter()
        .map(|u| Host {
            uri: u.clone(),
            sysfs_root: None,
        })
        .collect();
    if let Some(f) = &a.hosts {
        let text =
            std::fs::read_to_string(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
        for line in text.lines() {
            let mut words = line.split('#').next().unwrap_or("").split_whitespace();
            if let Some(uri) = words.next() {
                v.push(Host {
                    uri: uri.to_string(),
                    sysfs_root: words.next().map(PathBuf::from),
                });
            }
        }
    }
    Ok(v)
}

#[cfg_attr(not(feature = "libvirt"), allow(dead_code))]
/// True for a URI that names another machine (`qemu+ssh://host/system`), whose sysfs is not
/// this one's.
fn is_remote(uri: &str) -> bool {
    uri.split_once("://")
        .map(|(_, rest)| rest.split('/').next().unwrap_or(""))
        .is_some_and(|host| !host.is_empty() && host != "localhost")
}

pub(crate) fn run(a: &ApplyArgs, limits: domxml::xml::Limits, plan_only: bool) -> ExitCode {
    let hs = match hosts(a) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("domxml: {e}");
            return ExitCode::from(2);
        }
    };
    if hs.len() > 1 {
        return fleet(a, &hs, limits, plan_only);
    }
    let mut a = a.clone();
    if let Some(r) = hs.first().and_then(|h| h.sysfs_root.clone()) {
        a.sysfs_root = Some(r);
    }
    single(&a, hs.first().map(|h| h.uri.as_str()), limits, plan_only)
}

#[cfg(not(feature = "libvirt"))]
fn single(_: &ApplyArgs, _: Option<&str>, _: domxml::xml::Limits, _: bool) -> ExitCode {
    eprintln!("{}", super::NO_LIBVIRT);
    ExitCode::from(2)
}

#[cfg(feature = "libvirt")]
fn single(
    a: &ApplyArgs,
    uri: Option<&str>,
    limits: domxml::xml::Limits,
    plan_only: bool,
) -> ExitCode {
    use domxml::apply::online::{prepare, Done, Want};
    use domxml::apply::render;
    let desired = match super::plan::read_domain(&a.desired, limits) {
        Ok(d) => d,
        Err(code) => return code,
    };
    let shown = a.desired.display().to_string();
    let host = uri.unwrap_or("(default)").to_string();
    if domxml::resolve::needs_host(&desired) && a.sysfs_root.is_none() && uri.is_some_and(is_remote)
    {
        eprintln!(
            "domxml: {host}: {shown} names SCSI hosts by stable adapters, which must be resolved \
             against that host's sysfs, not this machine's: record it there with `domxml \
             sysfs-snapshot DIR` and pass --sysfs-root DIR (or `URI DIR` in a --hosts file)"
        );
        return ExitCode::from(2);
    }
    let want = Want {
        targets: (a.targets.live || a.targets.config).then(|| a.targets.or(Default::default())),
        start: a.start,
    };
    let json = a.format == PlanFormat::Json;
    let report = |done: Option<Done>, plan: Option<&domxml::apply::Plan>, err: Option<String>| {
        if json {
            let v = serde_json::json!({
                "host": host,
                "domain": desired.name,
                "done": done,
                "converged": err.is_none(),
                "error": err,
                "plan": plan.map(render::to_json),
            });
            println!("{v:#}");
        } else if let Some(e) = err {
            eprintln!("domxml: {host}: {e}");
        }
    };
    let p = match prepare(uri, &desired, a.sysfs_root.as_deref(), want) {
        Ok(p) => p,
        Err(e) => {
            let code = if matches!(
                e,
                domxml::apply::online::OnlineError::Libvirt(
                    domxml::apply::libvirt::LibvirtError::Connect { .. }
                )
            ) {
                2
            } else {
                1
            };
            report(None, None, Some(e.to_string()));
            return ExitCode::from(code);
        }
    };
    if !json {
        if p.define {
            print!("{}", render::human_define(&p.plan, &shown, p.start));
        } else if p.is_noop() || !p.plan.is_empty() {
            print!("{}", render::human(&p.plan, &shown));
        }
        if p.start && !p.define {
            println!("Then the domain is started.");
        }
    }
    if plan_only {
        if json {
            println!("{:#}", render::to_json(&p.plan));
        }
        return ExitCode::SUCCESS;
    }
    if p.is_noop() {
        report(Some(Done::Unchanged), Some(&p.plan), None);
        return ExitCode::SUCCESS;
    }
    if !a.yes && std::io::stdin().is_terminal() && !ask("Apply these changes?") {
        eprintln!("domxml: nothing was changed");
        return ExitCode::from(1);
    }
    let plan = p.plan.clone();
    match p.execute(Default::default(), Default::default()) {
        Ok(done) => {
            if !json {
                println!(
                    "Apply complete: {}.",
                    match done {
                        Done::Defined => "domain defined".to_string(),
                        Done::Changed => format!("{} device change(s)", plan.changes.len()),
                        Done::Unchanged => "nothing to change".to_string(),
                    }
                );
            }
            report(Some(done), Some(&plan), None);
            ExitCode::SUCCESS
        }
        Err(e) => {
            report(None, Some(&plan), Some(e.to_string()));
            ExitCode::from(1)
        }
    }
}

/// Ask a yes/no question on the terminal.
fn ask(q: &str) -> bool {
    eprint!("{q} Only 'yes' is accepted: ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).is_ok() && line.trim() == "yes"
}

/// One host's outcome in a fleet run.
struct HostResult {
    host: String,
    ok: bool,
    value: serde_json::Value,
}

fn child_args(
    a: &ApplyArgs,
    host: &Host,
    limits: domxml::xml::Limits,
    plan_only: bool,
) -> Vec<String> {
    let mut v = vec![
        if plan_only { "plan" } else { "apply" }.to_string(),
        "--connect".into(),
        host.uri.clone(),
        "--max-bytes".into(),
        limits.max_bytes.to_string(),
        "--max-depth".into(),
        limits.max_depth.to_string(),
        "--format".into(),
        "json".into(),
    ];
    if !plan_only {
        v.push("--yes".into());
        if a.start {
            v.push("--start".into());
        }
    }
    if a.targets.live {
        v.push("--live".into());
    }
    if a.targets.config {
        v.push("--config".into());
    }
    if let Some(r) = host.sysfs_root.as_ref().or(a.sysfs_root.as_ref()) {
        v.push("--sysfs-root".into());
        v.push(r.display().to_string());
    }
    v.push(a.desired.display().to_string());
    v
}

fn run_children(
    a: &ApplyArgs,
    hs: &[Host],
    limits: domxml::xml::Limits,
    plan_only: bool,
) -> Vec<HostResult> {
    let exe = std::env::current_exe().unwrap_or_else(|_| "domxml".into());
    let bar = std::io::stderr().is_terminal().then(|| {
        let b = indicatif::ProgressBar::new(hs.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} hosts {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..a.jobs.clamp(1, hs.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(host) = hs.get(i) else { break };
                let out = std::process::Command::new(&exe)
                    .args(child_args(a, host, limits, plan_only))
                    .stdin(std::process::Stdio::null())
                    .output();
                let r = match out {
                    Ok(o) => {
                        let text = String::from_utf8_lossy(&o.stdout);
                        let value = serde_json::from_str(&text).unwrap_or_else(|_| {
                            serde_json::json!({
                                "host": host.uri,
                                "converged": false,
                                "error": String::from_utf8_lossy(&o.stderr).trim().to_string(),
                            })
                        });
                        HostResult {
                            host: host.uri.clone(),
                            ok: o.status.success(),
                            value,
                        }
                    }
                    Err(e) => HostResult {
                        host: host.uri.clone(),
                        ok: false,
                        value: serde_json::json!({"host": host.uri, "converged": false, "error": e.to_string()}),
                    },
                };
                if let Some(b) = &bar {
                    b.inc(1);
                    b.set_message(format!("({} {})", r.host, if r.ok { "ok" } else { "FAILED" }));
                }
                results.lock().expect("not poisoned").push((i, r));
            });
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let mut v = results.into_inner().expect("not poisoned");
    v.sort_by_key(|(i, _)| *i);
    v.into_iter().map(|(_, r)| r).collect()
}

fn fleet(a: &ApplyArgs, hs: &[Host], limits: domxml::xml::Limits, plan_only: bool) -> ExitCode {
    if !plan_only && !a.yes && std::io::stdin().is_terminal() {
        let plans = run_children(a, hs, limits, true);
        for r in &plans {
            let n = r.value["changes"].as_array().map_or(0, Vec::len);
            println!(
                "{}: {}",
                r.host,
                if r.ok {
                    format!("{n} change(s)")
                } else {
                    format!("cannot plan: {}", r.value["error"].as_str().unwrap_or(""))
                }
            );
        }
        if !ask(&format!("Apply to {} hosts?", hs.len())) {
            eprintln!("domxml: nothing was changed");
            return ExitCode::from(1);
        }
    }
    let results = run_children(a, hs, limits, plan_only);
    let failed = results.iter().filter(|r| !r.ok).count();
    if a.format == PlanFormat::Json {
        let v: Vec<&serde_json::Value> = results.iter().map(|r| &r.value).collect();
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        for r in &results {
            let what = if !r.ok {
                format!(
                    "FAILED: {}",
                    r.value["error"].as_str().unwrap_or("see its output")
                )
            } else if plan_only {
                format!(
                    "{} change(s) planned",
                    r.value["changes"].as_array().map_or(0, Vec::len)
                )
            } else {
                r.value["done"].as_str().unwrap_or("done").to_string()
            };
            println!("{:<3} {}: {what}", if r.ok { "ok" } else { "ERR" }, r.host);
        }
        println!(
            "{} of {} hosts {}.",
            results.len() - failed,
            results.len(),
            if plan_only { "planned" } else { "converged" }
        );
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

#[cfg(test)]
mod tests {
    use super::is_remote;

    #[test]
    fn remote_uris_are_those_naming_a_host() {
        assert!(is_remote("qemu+ssh://root@h1/system"));
        assert!(is_remote("qemu://h1.example/system"));
        assert!(!is_remote("qemu:///system"));
        assert!(!is_remote("qemu:///embed?root=/tmp/x"));
        assert!(!is_remote("qemu+unix:///system"));
        assert!(!is_remote("test:///default"));
    }
}
