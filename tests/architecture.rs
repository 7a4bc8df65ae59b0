//! The layering holds in the source text: the UI only draws and sends commands (no
//! threads, no runtimes, no blocking waits of its own), and `core` only decides (no
//! adapters, no runner, no I/O).

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`, recursively, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// "file:line: `pattern` in: text" for every non-comment line under `src/<area>` that
/// contains one of `forbidden`.
fn offences(area: &str, forbidden: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = rust_files(&root.join("src").join(area));
    assert!(!files.is_empty(), "no sources found under src/{area}");
    let mut found = Vec::new();
    for file in files {
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let shown = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .display()
            .to_string();
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for pattern in forbidden.iter().filter(|p| line.contains(*p)) {
                found.push(format!(
                    "{shown}:{}: `{pattern}` in: {}",
                    n + 1,
                    line.trim()
                ));
            }
        }
    }
    found
}

#[test]
fn the_ui_starts_no_threads_runtimes_or_blocking_work() {
    let found = offences(
        "ui",
        &[
            "std::thread::spawn",
            "thread::Builder",
            "thread::spawn",
            "tokio::runtime",
            "Runtime::new",
            "block_on",
            "spawn_blocking",
        ],
    );
    assert!(
        found.is_empty(),
        "the UI must send commands to the runner instead:\n{}",
        found.join("\n")
    );
}

#[test]
fn core_uses_no_adapters_runner_ui_or_io() {
    let found = offences(
        "core",
        &[
            "crate::woo",
            "crate::warehouse",
            "crate::fiscal",
            "crate::ledger",
            "crate::runner",
            "crate::ui",
            "crate::sim",
            "tokio",
            "reqwest",
            "odbc_api",
            "rusqlite",
            "std::fs",
        ],
    );
    assert!(
        found.is_empty(),
        "core must stay free of I/O and of the layers around it:\n{}",
        found.join("\n")
    );
}

/// The fiscal emulator is written from the protocol documents, not from the client: it
/// must not reach into `crate::fiscal` (frame codec, command codes, field parsers, errors),
/// or a mistake shared by both would pass every test.
#[test]
fn the_fiscal_emulator_shares_no_code_with_the_client() {
    let found = offences(
        "sim/fiscal",
        &[
            "crate::fiscal",
            "skladlink::fiscal",
            "super::super::fiscal",
            "super::super::super::fiscal",
        ],
    );
    assert!(found.is_empty(), "{}", found.join("\n"));
}
