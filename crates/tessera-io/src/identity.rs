//! Whether two paths name the same file, however they are spelled.
//!
//! An output is written under a temporary name and renamed over its target, so an output
//! that is also an input replaces the input with a file holding only the output (every
//! other variable lost), and two outputs that are one file keep only the second. Both are
//! refused before any work. Comparing path strings is not enough: `./F.nc`, a symlink to
//! `F.nc`, a hard link, or `F.nc` reached through a symlinked directory are all `F.nc`.
//! So an existing file is identified by device and inode, and a path that does not exist
//! yet by the canonical path of its directory plus its name (where the rename will put
//! it), and a symlink, even a dangling one, also by where it points (where a write
//! through it lands); two paths are one file when any of these match.

use crate::array::graph::DArray;
use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// What identifies the file a path names.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Identity {
    /// Device and inode of the existing file (through symlinks).
    inode: Option<(u64, u64)>,
    /// The canonical directory joined with the name: where a rename onto the path lands;
    /// then, when the path is a symlink (dangling or not), the same for each path it
    /// points on to, where a write through the link lands.
    places: Vec<PathBuf>,
}

/// Symlinks followed from one path at most (the kernel's own limit is 40).
const MAX_LINKS: usize = 40;

fn identify(path: &Path) -> Identity {
    let inode = std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()));
    let mut places = vec![canonical_place(path)];
    let mut at = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        let Ok(target) = std::fs::read_link(&at) else {
            break;
        };
        at = match at.parent() {
            Some(dir) if target.is_relative() => dir.join(target),
            _ => target,
        };
        places.push(canonical_place(&at));
    }
    Identity { inode, places }
}

/// Where a file written at `path` lands: the canonical path of its directory (symlinks
/// and `..` resolved) joined with its name; the absolute path when the directory does
/// not exist.
pub fn canonical_place(path: &Path) -> PathBuf {
    let absolute = || std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    match path.file_name() {
        Some(name) => {
            let dir = match path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            match std::fs::canonicalize(dir) {
                Ok(d) => d.join(name),
                Err(_) => absolute(),
            }
        }
        None => absolute(),
    }
}

impl Identity {
    fn same(&self, other: &Identity) -> bool {
        (self.inode.is_some() && self.inode == other.inode)
            || self.places.iter().any(|p| other.places.contains(p))
    }
}

/// True when `a` and `b` name the same file (see the module docs).
pub fn same_file(a: &Path, b: &Path) -> bool {
    identify(a).same(&identify(b))
}

/// A file a command reads or writes, with how the user named it (`--open x`,
/// `outputs[1].file`), for error messages.
#[derive(Debug, Clone)]
pub struct Role {
    /// How the user named it.
    pub label: String,
    /// The path as given (or as resolved, for job files).
    pub path: PathBuf,
}

impl Role {
    /// A role.
    pub fn new(label: impl Into<String>, path: impl Into<PathBuf>) -> Role {
        Role {
            label: label.into(),
            path: path.into(),
        }
    }
}

/// An output that is the same file as an input or as an earlier output.
#[derive(Debug, Clone)]
pub struct Clash {
    /// Index of the output in the list given to [`find_clash`].
    pub output: usize,
    /// How the user named that output.
    pub label: String,
    /// The output's path, the other role and its path, and why it is refused (without the
    /// output's label, which job errors already give as the key).
    pub message: String,
}

impl std::fmt::Display for Clash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.label, self.message)
    }
}

/// The first output that is the same file as any input or as an earlier output.
pub fn find_clash(inputs: &[Role], outputs: &[Role]) -> Option<Clash> {
    let ins: Vec<Identity> = inputs.iter().map(|r| identify(&r.path)).collect();
    let outs: Vec<Identity> = outputs.iter().map(|r| identify(&r.path)).collect();
    for (k, (o, oid)) in outputs.iter().zip(&outs).enumerate() {
        if let Some((i, _)) = ins.iter().enumerate().find(|(_, iid)| iid.same(oid)) {
            let i = &inputs[i];
            return Some(Clash {
                output: k,
                label: o.label.clone(),
                message: format!(
                    "{} is the same file as {} {}: writing it would replace the input, and \
                     everything else in it would be lost; write to another file",
                    o.path.display(),
                    i.label,
                    i.path.display()
                ),
            });
        }
        if let Some(j) = outs[..k].iter().position(|e| e.same(oid)) {
            let e = &outputs[j];
            return Some(Clash {
                output: k,
                label: o.label.clone(),
                message: format!(
                    "{} is the same file as {} {}: the second would replace the first; \
                     write one file per output",
                    o.path.display(),
                    e.label,
                    e.path.display()
                ),
            });
        }
    }
    None
}

/// The files the computation of `array` reads (each once, in the order found), e.g. by
/// `open()` calls inside an expression.
pub fn files_read_by(array: &DArray) -> Vec<PathBuf> {
    let mut seen = HashSet::new();
    let mut files: Vec<PathBuf> = Vec::new();
    let mut todo = vec![array.clone()];
    while let Some(a) = todo.pop() {
        let node = a.node();
        if !seen.insert(node.id) {
            continue;
        }
        if let crate::array::graph::Op::Read(spec) = &node.op {
            if !files.contains(&spec.path) {
                files.push(spec.path.clone());
            }
        }
        todo.extend(node.op.inputs().into_iter().cloned());
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory, removed at the end of the test.
    struct Tmp(PathBuf);
    impl Drop for Tmp {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    fn tmp(tag: &str) -> Tmp {
        let p = std::env::temp_dir().join(format!("tessera-identity-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(p.join("real")).expect("mkdir");
        Tmp(p)
    }

    #[test]
    fn aliases_of_one_file_are_the_same_file() {
        let t = tmp("aliases");
        let real = t.0.join("real");
        std::fs::write(real.join("f.nc"), b"x").expect("file");
        std::os::unix::fs::symlink(&real, t.0.join("via")).expect("dir link");
        std::os::unix::fs::symlink(real.join("f.nc"), t.0.join("link.nc")).expect("link");
        std::fs::hard_link(real.join("f.nc"), t.0.join("hard.nc")).expect("hard link");
        let f = real.join("f.nc");
        for alias in [
            real.join("./f.nc"),
            real.join("../real/f.nc"),
            t.0.join("via/f.nc"),
            t.0.join("link.nc"),
            t.0.join("hard.nc"),
        ] {
            assert!(same_file(&f, &alias), "{}", alias.display());
        }
        // Files that do not exist yet: by directory and name.
        assert!(same_file(&real.join("new.nc"), &t.0.join("via/new.nc")));
        assert!(!same_file(&real.join("new.nc"), &real.join("other.nc")));
        assert!(!same_file(&f, &real.join("new.nc")));
    }

    #[test]
    fn clashes_name_both_roles_and_spellings() {
        let t = tmp("clash");
        let f = t.0.join("real/f.nc");
        std::fs::write(&f, b"x").expect("file");
        std::os::unix::fs::symlink(t.0.join("real"), t.0.join("via")).expect("dir link");
        let inputs = [Role::new("--open x", &f)];
        let ok = [Role::new("--to", t.0.join("real/g.nc"))];
        assert!(find_clash(&inputs, &ok).is_none());
        let c = find_clash(&inputs, &[Role::new("--to", t.0.join("via/f.nc"))]).expect("clash");
        assert_eq!(c.output, 0);
        let text = c.to_string();
        assert!(
            text.starts_with("--to ") && text.contains("via/f.nc"),
            "{text}"
        );
        assert!(
            text.contains("--open x") && text.contains("real/f.nc"),
            "{text}"
        );
        let outs = [
            Role::new("outputs[0].file", t.0.join("real/g.nc")),
            Role::new("outputs[1].file", t.0.join("via/g.nc")),
        ];
        let c = find_clash(&[], &outs).expect("clash");
        assert_eq!(c.output, 1);
        let text = c.to_string();
        assert!(text.starts_with("outputs[1].file") && text.contains("outputs[0].file"));
    }
}
