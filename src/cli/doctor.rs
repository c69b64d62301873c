//! `kiln doctor`: which sandbox protections this machine actually provides.

use kiln_sandbox::{Protection, ProtectionStatus};

use crate::frontend::Exit;

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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn protection(name: &'static str, status: ProtectionStatus) -> Protection {
        Protection { name, status }
    }

    #[test]
    fn an_unavailable_protection_says_why() {
        let off = ProtectionStatus::Unavailable {
            reason: "no kernel support".into(),
        };
        assert_eq!(
            describe(&protection("no network", off)),
            "  UNAVAILABLE  no network: no kernel support"
        );
    }
}
