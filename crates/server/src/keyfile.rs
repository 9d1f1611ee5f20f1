//! The embedded mode's key file: generated once (mode 0600) in the data directory and reused
//! by every later start, so a restart never makes stored tokens unreadable.

use std::fs::OpenOptions;
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tether_core::secret::EncryptionKey;

use crate::config::parse_keys;
use crate::crypto;
use crate::error::{ServerError, ServerResult};

/// What a key file holds, for its messages.
#[derive(Debug, Clone, Copy)]
pub struct KeyFileKind {
    /// `encryption key`, `development JWT secret`.
    pub what: &'static str,
    /// The setting that replaces the file.
    pub setting: &'static str,
    /// What a new key would break.
    pub loss: &'static str,
    /// Why the file must be kept.
    pub keep: &'static str,
}

/// The embedded mode's token encryption key.
pub const ENCRYPTION_KEY: KeyFileKind = KeyFileKind {
    what: "encryption key",
    setting: "TETHER_ENCRYPTION_KEYS",
    loss: "tokens stored with the old one would become unreadable",
    keep: "back this file up with the database, without it stored tokens cannot be read",
};

/// The embedded mode's secret for `tether dev-token` user JWTs.
pub const DEV_JWT_SECRET: KeyFileKind = KeyFileKind {
    what: "development JWT secret",
    setting: "TETHER_JWT_SECRET",
    loss: "user tokens made with `tether dev-token` would stop working",
    keep: "user tokens made with `tether dev-token` are signed with it",
};

/// Reads the key file, creating it with a new key when it does not exist yet. A file that
/// exists but cannot be read or parsed is an error: never generate a key over it.
pub fn load_or_create(path: &Path, kind: KeyFileKind) -> ServerResult<Vec<EncryptionKey>> {
    if let Some(keys) = read(path, kind)? {
        return Ok(keys);
    }
    create(path, kind)?;
    // Read back what is on disk: if another process won the race, its key is the key.
    read(path, kind)?.ok_or_else(|| {
        ServerError::KeyFile(format!(
            "the {} file {} vanished",
            kind.what,
            path.display()
        ))
    })
}

/// The keys in the file, or `None` when it does not exist.
pub fn read(path: &Path, kind: KeyFileKind) -> ServerResult<Option<Vec<EncryptionKey>>> {
    let refuse = |problem: String| {
        ServerError::KeyFile(format!(
            "the {} file {} {problem}; refusing to start rather than generate a new key ({}): \
             restore the file or set {}",
            kind.what,
            path.display(),
            kind.loss,
            kind.setting
        ))
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(refuse(format!("cannot be read ({e})"))),
    };
    if text.trim().is_empty() {
        return Err(refuse("is empty".to_owned()));
    }
    let keys = parse_keys(&text, "key file").map_err(|e| refuse(format!("is invalid ({e})")))?;
    warn_if_readable_by_others(path, kind);
    Ok(Some(keys))
}

/// Writes a new key to a private temporary file, then links it into place: the link fails if
/// the file appeared meanwhile, so two starts never overwrite each other and nobody ever reads
/// a half-written key.
fn create(path: &Path, kind: KeyFileKind) -> ServerResult<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        crate::database::create_private_dir(dir)?;
    }
    let temp = temp_path(path);
    let written = write_new(&temp, &crypto::generate_key());
    let linked = written.and_then(|()| std::fs::hard_link(&temp, path));
    let _ = std::fs::remove_file(&temp);
    match linked {
        Ok(()) => {
            tracing::warn!(
                path = %path.display(),
                "generated a new {}: {}",
                kind.what,
                kind.keep
            );
            Ok(())
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(ServerError::KeyFile(format!(
            "cannot create the {} file {}: {e}",
            kind.what,
            path.display()
        ))),
    }
}

fn write_new(path: &Path, key: &EncryptionKey) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(format!("{}\n", key.expose_secret()).as_bytes())?;
    file.sync_all()
}

fn temp_path(path: &Path) -> PathBuf {
    let name = format!(
        ".{}.{}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("tether.key"),
        std::process::id()
    );
    path.with_file_name(name)
}

fn warn_if_readable_by_others(path: &Path, kind: KeyFileKind) {
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            path = %path.display(),
            "the {} file is readable by other users: chmod 600 it",
            kind.what
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_generated_once_private_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("tether.key");
        let first = load_or_create(&path, ENCRYPTION_KEY).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let second = load_or_create(&path, ENCRYPTION_KEY).unwrap();
        assert_eq!(first, second);
        assert_eq!(first.len(), 1);
    }

    #[test]
    fn a_damaged_key_file_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tether.key");
        std::fs::write(&path, "garbage\n").unwrap();
        let message = load_or_create(&path, ENCRYPTION_KEY)
            .unwrap_err()
            .to_string();
        assert!(message.contains("refusing to start"), "{message}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "garbage\n");
        std::fs::write(&path, "").unwrap();
        assert!(
            load_or_create(&path, ENCRYPTION_KEY)
                .unwrap_err()
                .to_string()
                .contains("is empty")
        );
    }

    #[test]
    fn a_key_file_may_hold_several_keys_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tether.key");
        let (new, old) = (crypto::generate_key(), crypto::generate_key());
        let text = format!("{}\n{}\n", new.expose_secret(), old.expose_secret());
        std::fs::write(&path, text).unwrap();
        assert_eq!(
            load_or_create(&path, ENCRYPTION_KEY).unwrap(),
            vec![new, old]
        );
    }
}
