//! An explanation as a person reads it: one block per message, aligned, the verdict last.

use std::io::{self, Write};

use super::explanation::Explanation;

/// Writes one message's block, followed by a blank line.
pub fn write(out: &mut dyn Write, x: &Explanation) -> io::Result<()> {
    writeln!(
        out,
        "line {}: {} {}",
        x.line,
        x.message_name.unwrap_or("(malformed)"),
        x.request_id.as_deref().unwrap_or("(no requestId)")
    )?;
    if let Some(party) = &x.party {
        writeln!(out, "  acts as    {} — {}", party.name, party.why)?;
    }
    match (&x.workflow, &x.template) {
        (Some(workflow), Some(template)) => {
            writeln!(out, "  workflow   {workflow} (template {template})")?
        }
        (Some(workflow), None) => writeln!(out, "  workflow   {workflow}")?,
        _ => {}
    }
    match (x.command, &x.choice) {
        (Some("create"), _) => writeln!(
            out,
            "  create     linear id {}",
            x.linear_id.as_deref().unwrap_or("?")
        )?,
        (Some("exercise"), Some(choice)) => writeln!(
            out,
            "  exercise   choice {choice} (function {})",
            x.function.as_deref().unwrap_or("?")
        )?,
        (Some("read"), _) => writeln!(
            out,
            "  read       linear id {}",
            x.linear_id.as_deref().unwrap_or("?")
        )?,
        _ => {
            if let Some(function) = &x.function {
                writeln!(out, "  function   {function}")?;
            }
            if let Some(linear_id) = &x.linear_id {
                writeln!(out, "  linear id  {linear_id}")?;
            }
        }
    }
    if let Some(target) = &x.target {
        writeln!(out, "  on         {target}")?;
    }
    if !x.arguments.is_empty() {
        writeln!(out, "  arguments")?;
        let field_width = x.arguments.iter().map(|a| a.field.len()).max().unwrap_or(0);
        let type_width = x
            .arguments
            .iter()
            .map(|a| a.param_type.len())
            .max()
            .unwrap_or(0);
        for a in &x.arguments {
            writeln!(
                out,
                "    {:field_width$}  {:type_width$}  {}  ← {}",
                a.field, a.param_type, a.value, a.source
            )?;
        }
    }
    if !x.guards.is_empty() {
        writeln!(out, "  guards")?;
        for g in &x.guards {
            let holds = match g.holds {
                Some(true) => "holds",
                Some(false) => "FAILS",
                None => "cannot be evaluated",
            };
            writeln!(out, "    {:11} {} — {holds}", g.kind, g.rule)?;
        }
    }
    if !x.effects.is_empty() {
        writeln!(out, "  effects")?;
        for e in &x.effects {
            writeln!(out, "    {e}")?;
        }
    }
    let o = &x.outcome;
    match o.result {
        "failure" => {
            write!(
                out,
                "  → Failure {} {}",
                o.error_code.unwrap_or_default(),
                o.error_kind.unwrap_or_default()
            )?;
            if let Some(field) = &o.error_field {
                write!(out, " ({field})")?;
            }
            if let Some(ledger_error) = &o.ledger_error {
                write!(out, " [{ledger_error}]")?;
            }
            writeln!(out, ": {}", o.message.as_deref().unwrap_or_default())?;
        }
        "commit" => writeln!(out, "  → commits")?,
        "answer" => writeln!(out, "  → answers with the contract's current state")?,
        "replay" => writeln!(out, "  → replays the recorded outcome")?,
        other => writeln!(out, "  → {other}")?,
    }
    for note in &x.notes {
        writeln!(out, "  note: {note}")?;
    }
    writeln!(out)
}
