//! libvirt through the `virt` crate (feature `libvirt`; the crate is LGPL-2.1, so a build
//! with the feature links LGPL code): a [`Connection`] to any libvirt URI and a
//! [`LibvirtDomain`] that is the lifecycle manager's [`Backend`].
//!
//! libvirt errors keep libvirt's code and message. Timeouts, RPC and connection errors are
//! ambiguous (the call may have happened); "device not found" on a detach means it is gone.
//! The `virt` crate has no domain-event API, so a detach is confirmed by the device leaving
//! the live XML, polled up to the manager's deadline.

use super::backend::{Backend, BackendError, ErrorClass};
use super::plan::Targets;
use crate::model::Domain;
use std::sync::Once;
use std::time::{Duration, Instant};
pub use virt;
use virt::connect::Connect;

/// A failed libvirt call, with the domain and operation it concerned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LibvirtError {
    /// Opening the connection failed.
    #[error("cannot connect to libvirt at '{uri}': {message} (libvirt error {code}); check the URI and that libvirt (or its daemon) is running")]
    Connect {
        /// The URI.
        uri: String,
        /// libvirt's error code.
        code: i32,
        /// libvirt's message.
        message: String,
    },
    /// A call on a domain failed.
    #[error("{op} of domain '{domain}' failed: {message} (libvirt error {code})")]
    Call {
        /// The domain.
        domain: String,
        /// The operation.
        op: &'static str,
        /// libvirt's error code.
        code: i32,
        /// libvirt's message.
        message: String,
    },
    /// libvirt's XML for the domain does not parse.
    #[error("the XML libvirt gives for domain '{domain}' does not parse: {message}")]
    Xml {
        /// The domain.
        domain: String,
        /// What is wrong.
        message: String,
    },
}

impl LibvirtError {
    fn call(domain: &str, op: &'static str, e: &virt::error::Error) -> Self {
        LibvirtError::Call {
            domain: domain.to_string(),
            op,
            code: e.code().to_raw() as i32,
            message: e.message().to_string(),
        }
    }
}

static EVENT_LOOP: Once = Once::new();

/// Start libvirt's default event loop on a thread (the embedded drivers need one) and stop
/// libvirt printing every error on standard error. Once per process.
pub fn init() {
    EVENT_LOOP.call_once(|| {
        // The embedded drivers log warnings (e.g. "tainted: high-privileges") to standard
        // error, and errors the API returns anyway: send them nowhere unless the user chose
        // otherwise (LIBVIRT_LOG_OUTPUTS).
        if std::env::var_os("LIBVIRT_LOG_OUTPUTS").is_none() {
            std::env::set_var("LIBVIRT_LOG_OUTPUTS", "4:file:/dev/null");
        }
        virt::error::clear_error_callback();
        if virt::event::event_register_default_impl().is_ok() {
            std::thread::Builder::new()
                .name("libvirt-events".into())
                .spawn(|| loop {
                    if virt::event::event_run_default_impl().is_err() {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                })
                .ok();
        }
    });
}

/// How sure a libvirt error leaves us about what happened.
pub fn classify(code: i32, message: &str) -> ErrorClass {
    match code {
        // VIR_ERR_OPERATION_TIMEOUT, VIR_ERR_RPC, VIR_ERR_NO_CONNECT, VIR_ERR_SYSTEM_ERROR,
        // VIR_ERR_AGENT_UNRESPONSIVE: the call may or may not have taken effect.
        68 | 39 | 5 | 38 | 86 => ErrorClass::Ambiguous,
        // VIR_ERR_DEVICE_MISSING.
        99 => ErrorClass::NotFound,
        _ if message.contains("not found") && message.contains("device") => ErrorClass::NotFound,
        _ => ErrorClass::Definite,
    }
}

fn backend_error(e: &virt::error::Error) -> BackendError {
    let code = e.code().to_raw() as i32;
    BackendError {
        class: classify(code, e.message()),
        code: Some(code),
        message: e.message().to_string(),
    }
}

/// Whether `uri` opens a driver inside this process (`qemu:///embed?root=…`).
fn is_embedded(uri: &str) -> bool {
    uri.split(['?', '#'])
        .next()
        .is_some_and(|base| base.ends_with(":///embed"))
}

/// Wait until an embedded driver has reconnected to the domains already running in its root.
///
/// Opening `qemu:///embed` starts the QEMU driver in this process, and the driver reconnects
/// to each running domain on a thread of its own while the open returns. If the process
/// then exits before such a thread is done (a plan or a no-op apply takes a few
/// milliseconds), the C libraries' exit handlers free what that thread still reads (e.g.
/// libnuma's node masks) and the process dies with SIGSEGV after its work is done. The
/// reconnect holds the domain's job until it ends, so one call that needs the job per running
/// domain waits exactly as long as the reconnect. Errors are ignored: this only waits.
fn settle(conn: &Connect) {
    let active = virt::sys::VIR_CONNECT_LIST_DOMAINS_ACTIVE;
    if let Ok(domains) = conn.list_all_domains(active) {
        for dom in domains {
            let _ = dom.memory_stats(0);
        }
    }
}

/// A connection to libvirt.
pub struct Connection {
    conn: Connect,
    uri: String,
}

impl Connection {
    /// Open `uri` (`None`: `LIBVIRT_DEFAULT_URI` or libvirt's default).
    pub fn open(uri: Option<&str>) -> Result<Connection, LibvirtError> {
        init();
        let conn = Connect::open(uri).map_err(|e| LibvirtError::Connect {
            uri: uri.unwrap_or("(default)").to_string(),
            code: e.code().to_raw() as i32,
            message: e.message().to_string(),
        })?;
        let uri = conn
            .uri()
            .unwrap_or_else(|_| uri.unwrap_or_default().to_string());
        if is_embedded(&uri) {
            settle(&conn);
        }
        Ok(Connection { conn, uri })
    }

    /// The URI libvirt says it is connected to.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The domain with this name, if it exists.
    pub fn domain(&self, name: &str) -> Result<Option<LibvirtDomain>, LibvirtError> {
        match self.conn.lookup_domain_by_name(name) {
            Ok(dom) => Ok(Some(LibvirtDomain::new(dom, name))),
            // VIR_ERR_NO_DOMAIN
            Err(e) if e.code().to_raw() == 42 => Ok(None),
            Err(e) => Err(LibvirtError::call(name, "lookup", &e)),
        }
    }

    /// Define a domain from XML.
    pub fn define(&self, name: &str, xml: &str) -> Result<LibvirtDomain, LibvirtError> {
        self.conn
            .define_domain_xml(xml)
            .map(|d| LibvirtDomain::new(d, name))
            .map_err(|e| LibvirtError::call(name, "define", &e))
    }
}

/// One libvirt domain: the lifecycle manager's backend.
pub struct LibvirtDomain {
    dom: virt::domain::Domain,
    name: String,
    t0: Instant,
}

impl LibvirtDomain {
    fn new(dom: virt::domain::Domain, name: &str) -> Self {
        LibvirtDomain {
            dom,
            name: name.to_string(),
            t0: Instant::now(),
        }
    }

    /// The domain's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Start it.
    pub fn start(&self) -> Result<(), LibvirtError> {
        self.dom
            .create()
            .map_err(|e| LibvirtError::call(&self.name, "start", &e))
    }

    /// Stop it at once.
    pub fn destroy(&self) -> Result<(), LibvirtError> {
        self.dom
            .destroy()
            .map_err(|e| LibvirtError::call(&self.name, "destroy", &e))
    }

    /// Remove its persistent definition.
    pub fn undefine(&self) -> Result<(), LibvirtError> {
        self.dom
            .undefine()
            .map_err(|e| LibvirtError::call(&self.name, "undefine", &e))
    }

    /// Whether it runs.
    pub fn running(&self) -> Result<bool, LibvirtError> {
        self.dom
            .is_active()
            .map_err(|e| LibvirtError::call(&self.name, "is_active", &e))
    }

    /// Its XML: the running definition (`live`) or the persistent one.
    pub fn xml(&self, live: bool) -> Result<String, LibvirtError> {
        let flags = if live {
            0
        } else {
            virt::sys::VIR_DOMAIN_XML_INACTIVE
        };
        self.dom
            .xml_desc(flags)
            .map_err(|e| LibvirtError::call(&self.name, "dumpxml", &e))
    }

    /// Its definition, parsed.
    pub fn definition(&self, live: bool) -> Result<Domain, LibvirtError> {
        let xml = self.xml(live)?;
        match crate::codec::parse_str(&xml).map(|p| p.definition) {
            Ok(crate::Definition::Domain(d)) => Ok(*d),
            Ok(_) => Err(LibvirtError::Xml {
                domain: self.name.clone(),
                message: "not a <domain>".into(),
            }),
            Err(ds) => Err(LibvirtError::Xml {
                domain: self.name.clone(),
                message: ds
                    .iter()
                    .find(|d| d.is_error())
                    .map(|d| format!("{} {}: {}", d.code, d.path, d.message))
                    .unwrap_or_default(),
            }),
        }
    }

    /// Write domxml's metadata (`virDomainSetMetadata`, element type, namespace
    /// [`super::stable::NAMESPACE`]).
    pub fn set_metadata(&self, body: &str, targets: Targets) -> Result<(), LibvirtError> {
        self.dom
            .set_metadata(
                virt::sys::VIR_DOMAIN_METADATA_ELEMENT as i32,
                Some(body),
                Some(super::stable::PREFIX),
                Some(super::stable::NAMESPACE),
                targets.flags(),
            )
            .map_err(|e| LibvirtError::call(&self.name, "set metadata", &e))
    }

    /// A QMP command through libvirt's monitor (`virDomainQemuMonitorCommand`): for checks
    /// of what QEMU really has.
    pub fn qmp(&self, cmd: &str) -> Result<String, LibvirtError> {
        self.dom
            .qemu_monitor_command(cmd, 0)
            .map_err(|e| LibvirtError::call(&self.name, "qemu-monitor-command", &e))
    }
}

impl Backend for LibvirtDomain {
    fn attach(&mut self, xml: &str, t: Targets) -> Result<(), BackendError> {
        self.dom
            .attach_device_flags(xml, t.flags())
            .map_err(|e| backend_error(&e))
    }

    fn detach(&mut self, xml: &str, t: Targets) -> Result<(), BackendError> {
        self.dom
            .detach_device_flags(xml, t.flags())
            .map_err(|e| backend_error(&e))
    }

    fn update(&mut self, xml: &str, t: Targets) -> Result<(), BackendError> {
        self.dom
            .update_device_flags(xml, t.flags())
            .map_err(|e| backend_error(&e))
    }

    fn read(&mut self, live: bool) -> Result<Domain, BackendError> {
        self.definition(live).map_err(|e| match e {
            LibvirtError::Call { code, message, .. } => BackendError {
                class: classify(code, &message),
                code: Some(code),
                message,
            },
            e => BackendError::definite(e.to_string()),
        })
    }

    fn is_running(&mut self) -> Result<bool, BackendError> {
        self.dom.is_active().map_err(|e| backend_error(&e))
    }

    fn pause(&mut self, d: Duration) {
        std::thread::sleep(d);
    }

    fn elapsed(&self) -> Duration {
        self.t0.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::is_embedded;

    #[test]
    fn only_embed_uris_count_as_embedded_drivers() {
        assert!(is_embedded("qemu:///embed?root=/tmp/r"));
        assert!(is_embedded("qemu:///embed"));
        assert!(!is_embedded("qemu:///system"));
        assert!(!is_embedded("test:///default"));
        assert!(!is_embedded("qemu+ssh://host/system?x=/embed"));
        assert!(!is_embedded("qemu:///embedded?root=/r"));
    }
}
