//! `kiln doctor`: which sandbox protections this machine actually provides.

use kiln_sandbox::{Protection, ProtectionStatus};

use super::Exit;

/// Prints one line per protection; exit 0 whatever is missing (a missing
/// protection is information, not an error of this command).
pub fn run() -> Exit {
    println!("kiln sandbox protections on this machine:");
    for protection in kiln_sandbox::probe() {
        println!("{}", describe(&protection));
    }
    Exit::Ok
}

fn describe(protection: &Protection) -> String {
    match &protection.status {
        ProtectionStatus::Active { via } => format!("  active       {}: {via}", protection.name),
        ProtectionStatus::Unavailable { reason } => {
            format!("  UNAVAILABLE  {}: {reason}", protection.name)
        }
    }
}

/// The one-line warning a front end shows before sandboxed runs when
/// protections are missing, or `None` when all are in force.
pub fn missing_protections_warning(protections: &[Protection]) -> Option<String> {
    let missing: Vec<&str> = protections
        .iter()
        .filter(|protection| !protection.is_active())
        .map(|protection| protection.name)
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "warning: the sandbox runs without: {} (see `kiln doctor`)",
            missing.join(", ")
        )
    })
}

/// One short status-bar phrase: how many protections are in force, and which are not.
pub fn protections_summary(protections: &[Protection]) -> String {
    let missing: Vec<&str> = protections
        .iter()
        .filter(|protection| !protection.is_active())
        .map(|protection| protection.name)
        .collect();
    if missing.is_empty() {
        format!("sandbox: all {} protections", protections.len())
    } else {
        format!(
            "sandbox: {} of {} protections (off: {})",
            protections.len() - missing.len(),
            protections.len(),
            missing.join(", ")
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn protection(name: &'static str, status: ProtectionStatus) -> Protection {
        Protection { name, status }
    }

    #[test]
    fn warning_names_only_the_missing_protections() {
        let active = ProtectionStatus::Active { via: "x".into() };
        let off = ProtectionStatus::Unavailable {
            reason: "no kernel support".into(),
        };
        assert_eq!(
            missing_protections_warning(&[protection("output cap", active.clone())]),
            None
        );
        assert_eq!(
            missing_protections_warning(&[
                protection("no network", off.clone()),
                protection("output cap", active),
                protection("process limit", off.clone()),
            ])
            .unwrap(),
            "warning: the sandbox runs without: no network, process limit (see `kiln doctor`)"
        );
        assert_eq!(
            protections_summary(&[
                protection("no network", off.clone()),
                protection("output cap", ProtectionStatus::Active { via: "x".into() }),
            ]),
            "sandbox: 1 of 2 protections (off: no network)"
        );
        assert_eq!(
            describe(&protection("no network", off)),
            "  UNAVAILABLE  no network: no kernel support"
        );
    }
}
