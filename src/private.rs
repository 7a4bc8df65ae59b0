//! Files and folders holding customers' data (names, phones, addresses in the ledger, the
//! log, the settings) are private to the user: on Unix folders are 0700 and files 0600.
//! Elsewhere the per-user profile folders already keep them private.

use std::path::Path;

/// Makes every file and folder this process creates from now on private to the user
/// (umask 077 on Unix), then closes up what earlier versions left open under
/// `config_dir`.
pub fn make_process_private(config_dir: &Path) {
    #[cfg(unix)]
    // SAFETY: umask only sets the process's file-creation mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
    secure_tree(config_dir);
}

/// Creates `dir` (and its parents) and makes it private to the user.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    make_dir_private(dir)
}

/// Creates `path` empty when it does not exist, private to the user; an existing file
/// keeps its content and is made private.
pub fn touch_private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    drop(options.open(path)?);
    make_private(path)
}

/// Makes an existing file private to the user (0600 on Unix).
pub fn make_private(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if path.exists() {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Makes an existing folder private to the user (0700 on Unix).
pub fn make_dir_private(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Makes the configuration folder, its data folder and every file in them private (run
/// once at start-up, so files written by earlier versions with 0644 are closed too).
pub fn secure_tree(config_dir: &Path) {
    fn walk(dir: &Path) {
        let _ = make_dir_private(dir);
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => walk(&path),
                Ok(t) if t.is_file() => {
                    let _ = make_private(&path);
                }
                _ => {}
            }
        }
    }
    if config_dir.is_dir() {
        walk(config_dir);
    }
}
