//! A plan for people (Terraform's layout: `+`, `-`, `~`, `-/+`, each with its reasons, then
//! the libvirt calls in order) and as JSON (`schemas/plan.schema.json`).

use super::plan::{Action, Plan};
use serde_json::{json, Value};
use std::fmt::Write as _;

/// The plan as text. `desired` names the desired definition in messages.
pub fn human(plan: &Plan, desired: &str) -> String {
    let mut s = String::new();
    if plan.is_empty() {
        let _ = writeln!(
            s,
            "No changes. Domain '{}' already has the managed devices of {desired}.",
            plan.domain
        );
        return s;
    }
    let _ = writeln!(
        s,
        "Domain '{}': {} change{} to reach {desired}:\n",
        plan.domain,
        plan.changes.len(),
        if plan.changes.len() == 1 { "" } else { "s" }
    );
    for c in &plan.changes {
        let what = match c.action {
            Action::Attach => "attach",
            Action::Detach => "detach",
            Action::Update => "update in place",
            Action::Replace => "detach and attach again",
        };
        let _ = writeln!(
            s,
            "  {:<3} {}  ({what}; {})",
            c.action.symbol(),
            c.key,
            c.targets
        );
        for r in &c.reasons {
            let _ = writeln!(s, "        {r}");
        }
    }
    let _ = writeln!(s, "\nSteps:");
    for (i, op) in plan.ops.iter().enumerate() {
        let _ = writeln!(
            s,
            "  {:>2}. {}({})  {}",
            i + 1,
            op.call.function(),
            op.targets
                .flag_names()
                .iter()
                .map(|f| f.trim_start_matches("VIR_DOMAIN_AFFECT_"))
                .collect::<Vec<_>>()
                .join("|"),
            op.key
        );
    }
    let _ = writeln!(
        s,
        "\nPlan: {} to attach, {} to detach, {} to update in place, {} to replace.",
        plan.count(Action::Attach),
        plan.count(Action::Detach),
        plan.count(Action::Update),
        plan.count(Action::Replace)
    );
    s
}

/// The plan as a JSON value (`schemas/plan.schema.json`).
pub fn to_json(plan: &Plan) -> Value {
    let changes: Vec<Value> = plan
        .changes
        .iter()
        .map(|c| {
            json!({
                "action": c.action,
                "symbol": c.action.symbol(),
                "device": c.key.to_string(),
                "key": c.key,
                "targets": c.targets,
                "reasons": c.reasons,
            })
        })
        .collect();
    let steps: Vec<Value> = plan
        .ops
        .iter()
        .map(|op| {
            json!({
                "call": op.call.function(),
                "flags": op.targets.flag_names(),
                "device": op.key.to_string(),
                "xml": op.xml(),
            })
        })
        .collect();
    json!({
        "domain": plan.domain,
        "changes": changes,
        "steps": steps,
        "summary": {
            "attach": plan.count(Action::Attach),
            "detach": plan.count(Action::Detach),
            "update": plan.count(Action::Update),
            "replace": plan.count(Action::Replace),
        }
    })
}

/// The plan for a domain that does not exist yet: its managed devices, then the define
/// (and start) call that creates it.
pub fn human_define(plan: &Plan, desired: &str, start: bool) -> String {
    let mut s = format!(
        "Domain '{}' does not exist: it is defined from {desired} with {} managed device{}:\n\n",
        plan.domain,
        plan.changes.len(),
        if plan.changes.len() == 1 { "" } else { "s" }
    );
    for c in &plan.changes {
        let _ = writeln!(s, "  {:<3} {}", c.action.symbol(), c.key);
    }
    let _ = writeln!(s, "\nSteps:\n   1. virDomainDefineXML");
    if start {
        let _ = writeln!(s, "   2. virDomainCreate");
    }
    s
}
