//! Atomic writes: everything is written under a temporary name in the same folder and
//! renamed into place, so a crash never leaves a half-written file or folder behind.
//!
//! Nothing here deletes what mrixai did not write. A folder is replaced only when the caller
//! allows it ([`OutDir::replace`]) *and* every entry of the old folder matches a pattern of
//! what the command writes. Anything else is a foreign file, and the write is refused before
//! it starts (and checked again, by the same rule, just before the swap).
//!
//! Temporary entries are named `.NAME.tmp-PID` (and `.NAME.old-PID` during a swap). Those of
//! the running process are removed on error, on drop and by [`remove_live_temps`] (which a
//! binary calls from its SIGINT/SIGTERM handler); those left by a process that no longer runs
//! (`kill -9`, power loss) are removed by the next write to the same path.

use crate::{Error, Result};
use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Temporary paths the running process is writing now.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn register(path: &Path) {
    if let Ok(mut live) = LIVE.lock() {
        live.push(path.to_path_buf());
    }
}

fn unregister(path: &Path) {
    if let Ok(mut live) = LIVE.lock() {
        live.retain(|p| p != path);
    }
}

/// Removes every temporary file and folder the running process is writing now. Meant for a
/// signal handler just before the process exits; returns the paths removed.
pub fn remove_live_temps() -> Vec<PathBuf> {
    let paths = match LIVE.lock() {
        Ok(mut live) => std::mem::take(&mut *live),
        Err(_) => return Vec::new(),
    };
    paths
        .into_iter()
        .filter(|p| remove_any(p).is_ok())
        .collect()
}

fn remove_any(path: &Path) -> std::io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn sibling(path: &Path, kind: &str) -> PathBuf {
    let tmp = format!(".{}.{kind}-{}", file_name(path), std::process::id());
    path.with_file_name(tmp)
}

/// Whether process `pid` still runs. Where that cannot be known (no `/proc`), it is assumed
/// to run, so nothing of a live process is ever removed.
fn process_alive(pid: u32) -> bool {
    let proc_root = Path::new("/proc");
    !proc_root.join("self").exists() || proc_root.join(pid.to_string()).exists()
}

/// Removes the temporary siblings of `path` (`.NAME.tmp-PID`, `.NAME.old-PID`) left by
/// processes that no longer run, and returns what it removed. Each removal is reported on
/// stderr, since the user may wonder where the space went.
pub fn remove_stale_temps(path: &Path) -> Vec<PathBuf> {
    let name = file_name(path);
    let parent = match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(p) => p.to_path_buf(),
        None => PathBuf::from("."),
    };
    let Ok(entries) = fs::read_dir(&parent) else {
        return Vec::new();
    };
    let own = std::process::id();
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let entry_name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = stale_pid(&entry_name, &name) else {
            continue;
        };
        if pid == own || process_alive(pid) {
            continue;
        }
        let p = entry.path();
        if remove_any(&p).is_ok() {
            eprintln!(
                "mrixai: removed {}, left behind by process {pid} that no longer runs",
                p.display()
            );
            removed.push(p);
        }
    }
    removed
}

/// The PID in `entry` when it is a temporary sibling of `name`.
fn stale_pid(entry: &str, name: &str) -> Option<u32> {
    let rest = entry.strip_prefix('.')?.strip_prefix(name)?;
    let pid = rest
        .strip_prefix(".tmp-")
        .or_else(|| rest.strip_prefix(".old-"))?;
    pid.parse().ok()
}

fn ensure_parent(path: &Path) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    Ok(())
}

/// Writes a file atomically: `write` fills a buffered writer on a temporary sibling,
/// which is flushed, synced and renamed onto `path` only if `write` succeeds.
///
/// `path` must not be a folder: a folder is never replaced by a file.
pub fn write_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    if path.is_dir() {
        return Err(Error::invalid(format!(
            "{}: is a folder; give a file name",
            path.display()
        )));
    }
    ensure_parent(path)?;
    remove_stale_temps(path);
    let tmp = sibling(path, "tmp");
    register(&tmp);
    let result = (|| -> std::io::Result<()> {
        let file = fs::File::create(&tmp)?;
        let mut w = BufWriter::new(file);
        write(&mut w)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(())
    })();
    let result = match result {
        Ok(()) => fs::rename(&tmp, path).map_err(|e| Error::io(path, e)),
        Err(e) => Err(Error::io(path, e)),
    };
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    unregister(&tmp);
    result
}

/// Writes bytes to `path` atomically.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with(path, |w| w.write_all(bytes))
}

/// Serialises `value` as pretty JSON to `path` atomically.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::format(path, format!("cannot serialise JSON: {e}")))?;
    write_bytes(path, format!("{text}\n").as_bytes())
}

/// Checks, before any work, that the output file `path` named by the user can be written:
/// it does not exist, or `replace` (`--force`) is set and it is a file (a folder is never
/// replaced by a file).
pub fn check_out_file(path: &Path, replace: bool) -> Result<()> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(path, e)),
        Ok(m) if m.is_dir() => Err(Error::invalid(format!(
            "{}: is a folder; give a file name",
            path.display()
        ))),
        Ok(_) if replace => Ok(()),
        Ok(_) => Err(Error::invalid(format!(
            "{}: already exists (pass --force to replace it)",
            path.display()
        ))),
    }
}

/// An output folder named by the user, and whether an earlier output of the same command
/// there may be replaced (`--force`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutDir {
    /// The folder.
    pub path: PathBuf,
    /// Replace an existing folder that holds only what this command writes.
    pub replace: bool,
}

impl OutDir {
    /// An output folder that must not exist yet.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            replace: false,
        }
    }

    /// An output folder whose earlier output may be replaced.
    pub fn replacing(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            replace: true,
        }
    }

    /// Checks, before any work, that the folder can be written: it does not exist, or
    /// replacing is allowed and every entry in it matches a pattern of `owned` (relative
    /// paths, `*` for any run of characters within a name, e.g. `figures/*.svg`).
    pub fn check(&self, owned: &[&str]) -> Result<()> {
        let target = &self.path;
        let meta = match fs::symlink_metadata(target) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io(target, e)),
        };
        if !meta.is_dir() {
            return Err(Error::invalid(format!(
                "{}: exists and is not a folder; choose another output path",
                target.display()
            )));
        }
        if !self.replace {
            return Err(Error::invalid(format!(
                "{}: already exists (pass --force to replace what mrixai wrote there)",
                target.display()
            )));
        }
        refuse_foreign(target, &foreign(target, owned)?)
    }

    /// Starts building the folder under a temporary name (see [`AtomicDir`]).
    pub fn begin(&self, owned: &'static [&'static str]) -> Result<AtomicDir> {
        AtomicDir::new(self, owned)
    }
}

fn refuse_foreign(target: &Path, foreign: &[String]) -> Result<()> {
    if foreign.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = foreign.iter().take(5).map(String::as_str).collect();
    let more = if foreign.len() > shown.len() {
        format!(" and {} more", foreign.len() - shown.len())
    } else {
        String::new()
    };
    Err(Error::invalid(format!(
        "{}: holds files mrixai did not write there ({}{more}); nothing was changed — choose another output folder or move them away",
        target.display(),
        shown.join(", ")
    )))
}

/// Relative paths of every file and folder below `dir`, sorted.
fn tree(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let abs = dir.join(&rel);
        for entry in fs::read_dir(&abs)
            .map_err(|e| Error::io(&abs, e))?
            .flatten()
        {
            let r = rel.join(entry.file_name());
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if is_dir {
                stack.push(r.clone());
            }
            out.push(r);
        }
    }
    out.sort();
    Ok(out)
}

/// Whether relative path `rel` matches pattern `pat`: the same number of `/`-separated
/// components, each equal or matched by `*` wildcards (any run of characters).
pub fn matches_owned(pat: &str, rel: &Path) -> bool {
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let pats: Vec<&str> = pat.split('/').collect();
    pats.len() == parts.len() && pats.iter().zip(&parts).all(|(p, n)| glob(p, n))
}

fn glob(pat: &str, name: &str) -> bool {
    match pat.split_once('*') {
        None => pat == name,
        Some((head, tail)) => {
            let Some(rest) = name.strip_prefix(head) else {
                return false;
            };
            (0..=rest.len())
                .filter(|&i| rest.is_char_boundary(i))
                .any(|i| glob(tail, &rest[i..]))
        }
    }
}

fn owned_by(owned: &[&str], rel: &Path) -> bool {
    owned.iter().any(|p| matches_owned(p, rel))
}

/// Entries below `dir` that match no `owned` pattern.
fn foreign(dir: &Path, owned: &[&str]) -> Result<Vec<String>> {
    Ok(tree(dir)?
        .into_iter()
        .filter(|rel| !owned_by(owned, rel))
        .map(|rel| rel.display().to_string())
        .collect())
}

/// A folder built under a temporary name and moved into place by [`AtomicDir::commit`].
/// Dropped without commit, the temporary folder is removed.
#[derive(Debug)]
pub struct AtomicDir {
    tmp: PathBuf,
    target: PathBuf,
    owned: &'static [&'static str],
    committed: bool,
}

impl AtomicDir {
    /// Starts building `out.path`, after [`OutDir::check`] with the patterns of what the
    /// command writes (`owned`).
    pub fn new(out: &OutDir, owned: &'static [&'static str]) -> Result<Self> {
        out.check(owned)?;
        let target = &out.path;
        ensure_parent(target)?;
        remove_stale_temps(target);
        let tmp = sibling(target, "tmp");
        remove_any(&tmp).map_err(|e| Error::io(&tmp, e))?;
        fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        register(&tmp);
        Ok(Self {
            tmp,
            target: target.clone(),
            owned,
            committed: false,
        })
    }

    /// The temporary folder to write into.
    pub fn path(&self) -> &Path {
        &self.tmp
    }

    /// Moves the finished folder onto its target. An existing target is replaced only when
    /// every entry in it still matches an owned pattern (checked again now, in case files
    /// appeared since [`OutDir::check`]); it is moved aside first and removed only once the
    /// new folder is in place.
    pub fn commit(mut self) -> Result<PathBuf> {
        let target = self.target.clone();
        if target.exists() {
            refuse_foreign(&target, &foreign(&target, self.owned)?)?;
            let old = sibling(&target, "old");
            register(&old);
            fs::rename(&target, &old).map_err(|e| Error::io(&target, e))?;
            if let Err(e) = fs::rename(&self.tmp, &target) {
                let _ = fs::rename(&old, &target);
                unregister(&old);
                return Err(Error::io(&target, e));
            }
            let _ = fs::remove_dir_all(&old);
            unregister(&old);
        } else {
            fs::rename(&self.tmp, &target).map_err(|e| Error::io(&target, e))?;
        }
        unregister(&self.tmp);
        self.committed = true;
        Ok(target)
    }
}

impl Drop for AtomicDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.tmp);
            unregister(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use mrixai_testkit::Scratch;

    #[test]
    fn failed_write_leaves_nothing() {
        let dir = Scratch::new("atomic");
        let path = dir.join("a.txt");
        let err = write_with(&path, |w| {
            w.write_all(b"half")?;
            Err(std::io::Error::other("boom"))
        });
        assert!(err.is_err());
        assert!(!path.exists());
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
        write_bytes(&path, b"whole").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"whole");
        assert!(
            write_bytes(&dir, b"x").is_err(),
            "a folder is not replaced by a file"
        );
    }

    #[test]
    fn out_file_exists_only_with_force() {
        let dir = Scratch::new("outfile");
        let path = dir.join("a.npy");
        check_out_file(&path, false).unwrap();
        write_bytes(&path, b"user data").unwrap();
        let e = check_out_file(&path, false).unwrap_err().to_string();
        assert!(e.contains("a.npy") && e.contains("--force"), "{e}");
        check_out_file(&path, true).unwrap();
        let e = check_out_file(&dir, true).unwrap_err().to_string();
        assert!(e.contains("is a folder"), "{e}");
        assert_eq!(fs::read(&path).unwrap(), b"user data");
    }

    const OWNED: &[&str] = &["x", "sub", "sub/a", "extra.json"];

    #[test]
    fn owned_patterns() {
        let m = |p: &str, r: &str| matches_owned(p, Path::new(r));
        assert!(m("figures/*.svg", "figures/a.svg"));
        assert!(m("*/images.npy", "train/images.npy"));
        assert!(!m("figures/*.svg", "figures/a.png"));
        assert!(!m("figures/*.svg", "figures/x/a.svg"));
        assert!(!m("figures", "figures/a.svg"));
        assert!(m("a*b*c", "aXbYbc") && !m("a*b*c", "aXc"));
    }

    #[test]
    fn uncommitted_dir_is_removed() {
        let base = Scratch::new("atomicdir");
        let target = base.join("ds");
        {
            let d = OutDir::new(&target).begin(OWNED).unwrap();
            fs::write(d.path().join("x"), b"1").unwrap();
        }
        assert!(!target.exists());
        assert_eq!(fs::read_dir(&base).unwrap().count(), 0, "no temp left");
        let d = OutDir::new(&target).begin(OWNED).unwrap();
        fs::write(d.path().join("x"), b"1").unwrap();
        d.commit().unwrap();
        assert!(target.join("x").exists());
        assert!(OutDir::new(&target).begin(OWNED).is_err());
    }

    fn build(target: &Path, extra: bool) -> Result<PathBuf> {
        let d = OutDir::replacing(target).begin(OWNED)?;
        fs::write(d.path().join("x"), b"new").unwrap();
        fs::create_dir_all(d.path().join("sub")).unwrap();
        fs::write(d.path().join("sub/a"), b"new").unwrap();
        if extra {
            fs::write(d.path().join("extra.json"), b"{}").unwrap();
        }
        d.commit()
    }

    #[test]
    fn replace_keeps_foreign_files_or_refuses() {
        let base = Scratch::new("atomicreplace");
        let target = base.join("out");
        build(&target, true).unwrap();
        // Own output, including an owned file the new output lacks, is replaced.
        build(&target, false).unwrap();
        assert_eq!(fs::read(target.join("x")).unwrap(), b"new");
        assert!(!target.join("extra.json").exists());
        // A foreign top-level file: refused before any work, nothing touched.
        fs::write(target.join("notes.txt"), b"mine").unwrap();
        let e = build(&target, false).unwrap_err().to_string();
        assert!(
            e.contains("notes.txt") && e.contains("did not write"),
            "{e}"
        );
        assert_eq!(fs::read(target.join("notes.txt")).unwrap(), b"mine");
        fs::remove_file(target.join("notes.txt")).unwrap();
        // A foreign file inside an owned folder: refused before any work, nothing touched.
        fs::write(target.join("sub/mine.txt"), b"mine").unwrap();
        let e = build(&target, false).unwrap_err().to_string();
        assert!(e.contains("mine.txt"), "{e}");
        assert_eq!(fs::read(target.join("sub/mine.txt")).unwrap(), b"mine");
        fs::remove_file(target.join("sub/mine.txt")).unwrap();
        // A foreign file that appears while the new folder is built: refused at the swap.
        let d = OutDir::replacing(&target).begin(OWNED).unwrap();
        fs::write(d.path().join("x"), b"newer").unwrap();
        fs::write(target.join("late.txt"), b"mine").unwrap();
        let e = d.commit().unwrap_err().to_string();
        assert!(e.contains("late.txt"), "{e}");
        assert_eq!(fs::read(target.join("late.txt")).unwrap(), b"mine");
        assert_eq!(fs::read(target.join("x")).unwrap(), b"new");
        assert_eq!(fs::read_dir(&base).unwrap().count(), 1, "no temp left");
        // A file where a folder should be is never replaced.
        let file = base.join("file");
        fs::write(&file, b"keep").unwrap();
        assert!(build(&file, false).is_err());
        assert_eq!(fs::read(&file).unwrap(), b"keep");
    }

    #[test]
    fn stale_temps_of_dead_processes_are_removed() {
        let base = Scratch::new("atomicstale");
        let target = base.join("out");
        // PID 0x7fff_fff0 exceeds Linux's pid_max, so it runs nowhere.
        let dead = base.join(format!(".out.tmp-{}", 0x7fff_fff0_u32));
        fs::create_dir_all(dead.join("inner")).unwrap();
        let dead_file = base.join(format!(".out.old-{}", 0x7fff_fff1_u32));
        fs::write(&dead_file, b"x").unwrap();
        let foreign = base.join(".out.tmp-notapid");
        fs::write(&foreign, b"x").unwrap();
        build(&target, false).unwrap();
        if Path::new("/proc/self").exists() {
            assert!(!dead.exists() && !dead_file.exists());
        }
        assert!(
            foreign.exists(),
            "only entries with a PID are temp siblings"
        );
    }
}
