//! Records the version of hyper that cargo resolved, so that `-version`
//! reports the crate actually linked rather than a number written by hand.
//! Cargo writes Cargo.lock before it runs build scripts.

use std::{env, fs, path::PathBuf};

fn main() {
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let lock = dir.join("Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    let text = fs::read_to_string(&lock).unwrap_or_default();
    let version = locked_version(&text, "hyper").unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=MATRIX_HYPER_VERSION={version}");
}

/// Returns the version of the package `name` in a Cargo.lock's text: the
/// `version = "..."` line that follows its `name = "..."` line.
fn locked_version(lock: &str, name: &str) -> Option<String> {
    let want = format!("name = \"{name}\"");
    let mut lines = lock.lines().map(str::trim);
    while let Some(line) = lines.next() {
        if line == want {
            let v = lines.next()?.strip_prefix("version = \"")?;
            return Some(v.trim_end_matches('"').to_string());
        }
    }
    None
}
