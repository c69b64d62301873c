//! The shared build cache seen through an overlay of the sandbox's own (see [`Overlay`]).

use std::ffi::CString;
use std::io;
use std::path::{Path, PathBuf};

/// The shared build cache as a candidate's run sees it: an overlay whose lower layer is the
/// cache and whose upper layer is the sandbox's own. cargo reads every artefact the cache has and
/// writes new ones, but what a candidate writes (a planted build script, a doctored rlib) lands
/// in the upper layer and goes with the sandbox: a later run never executes it. A per-run copy
/// of the cache would cost seconds; checking the cache after each run cannot tell a planted file
/// from one of cargo's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Overlay {
    /// The cache, shown at its own path.
    pub(crate) shown: PathBuf,
    /// Empty directories of the sandbox, on the same filesystem as each other.
    pub(crate) upper: PathBuf,
    pub(crate) work: PathBuf,
}

impl Overlay {
    /// Whether `path` can be named in overlayfs's mount options: its parser splits on `,` and
    /// takes `:` as a layer separator, and a backslash is its escape.
    pub(crate) fn layerable(path: &Path) -> bool {
        path.to_str()
            .is_some_and(|text| !text.contains([',', ':', '\\']))
    }

    pub(crate) fn options(&self) -> io::Result<CString> {
        for path in [&self.shown, &self.upper, &self.work] {
            if !Overlay::layerable(path) {
                return Err(io::Error::other(format!(
                    "{} cannot be an overlay layer: its path holds ',', ':' or '\\' (or is not UTF-8)",
                    path.display()
                )));
            }
        }
        CString::new(format!(
            "lowerdir={},upperdir={},workdir={}",
            self.shown.display(),
            self.upper.display(),
            self.work.display()
        ))
        .map_err(|_| io::Error::other("an overlay path contains a NUL byte"))
    }
}
