//! Checks of output variable names, made before any work starts.
//!
//! A name the file format refuses used to fail only when the writer created the variable,
//! after the whole computation ("NetCDF: Name contains illegal characters"), or worse,
//! was accepted as something else (`a/b` in HDF5 is a group and a dataset). The rules are
//! netCDF-C's own (`NC_check_name`), so a name passes here exactly when the library
//! would take it and give back intact: not empty, at most 255 bytes, first character an ASCII letter, digit or
//! `_` or any non-ASCII character, then no ASCII control characters and no `/`, and no
//! trailing space. (The NetCDF User Guide discourages names starting with a digit or
//! `_`, but the library accepts them, and so do we.) HDF5 outputs take a dataset path
//! `/group/dataset`: every part must be a non-empty name without control characters.

use crate::quote::quote;
use std::path::Path;

/// Longest NetCDF name in bytes we write: one less than netCDF-C's `NC_MAX_NAME` (256).
/// The library takes a 256-byte name, but it does not come back intact: `ncdump` prints it
/// with stray bytes and reading it back fails, since readers size their buffers for
/// `NC_MAX_NAME` bytes including the terminating NUL.
pub const NC_MAX_NAME: usize = 255;

/// What is wrong with `name` as a NetCDF variable name, or `None` if netCDF-C accepts it.
pub fn netcdf_name_problem(name: &str) -> Option<String> {
    let Some(first) = name.chars().next() else {
        return Some("it is empty".into());
    };
    if name.len() > NC_MAX_NAME {
        return Some(format!(
            "it is {} bytes long (at most {NC_MAX_NAME})",
            name.len()
        ));
    }
    if first.is_ascii() && !(first.is_ascii_alphanumeric() || first == '_') {
        return Some(format!(
            "it starts with {first:?} (a name starts with a letter, a digit, '_' or a non-ASCII character)"
        ));
    }
    if name.contains('/') {
        return Some("'/' is not allowed (it separates groups)".into());
    }
    if let Some(c) = name.chars().find(|c| c.is_ascii_control()) {
        return Some(format!("it contains the control character {c:?}"));
    }
    if name.ends_with(|c: char| c.is_ascii_whitespace()) {
        return Some("it ends with a space".into());
    }
    None
}

/// What is wrong with `path` as an HDF5 dataset path (`tas`, `/group/tas`), or `None`.
pub fn hdf5_path_problem(path: &str) -> Option<String> {
    let inner = path.strip_prefix('/').unwrap_or(path);
    if inner.is_empty() {
        return Some("it names no dataset".into());
    }
    for part in inner.split('/') {
        if part.is_empty() {
            return Some("it has an empty part ('//' or a trailing '/')".into());
        }
        if part == "." || part == ".." {
            return Some(format!("'{part}' is not a dataset or group name"));
        }
        if let Some(c) = part.chars().find(|c| c.is_control()) {
            return Some(format!("it contains the control character {c:?}"));
        }
    }
    None
}

/// Checks the variable name of an output file by the file's format (HDF5 for `.h5`,
/// `.hdf5`, `.he5`, NetCDF otherwise); the error names the variable, the file and the
/// problem.
pub fn check_output_variable(file: &Path, var: &str) -> Result<(), String> {
    let hdf5 = file
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "h5" | "hdf5" | "he5"));
    let (problem, what) = if hdf5 {
        (hdf5_path_problem(var), "an HDF5 dataset path")
    } else {
        (netcdf_name_problem(var), "a NetCDF variable name")
    };
    match problem {
        None => Ok(()),
        Some(p) => Err(format!(
            "{} is not {what} for {}: {p}",
            quote(var),
            crate::quote::path(file)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue #13 item 10: names netCDF-C accepts and refuses (cases from its rules).
    #[test]
    fn netcdf_rules() {
        for ok in [
            "tas",
            "_FillValue",
            "2m_temperature",
            "a.b-c+d@e",
            "with space",
            "température",
            "日本",
            "x~y!z",
            &"a".repeat(NC_MAX_NAME),
        ] {
            assert_eq!(netcdf_name_problem(ok), None, "{ok}");
        }
        for bad in [
            "a/b",
            "-x",
            " x",
            "x ",
            "x\t",
            "a\nb",
            "a\u{7f}b",
            ".hidden",
            "+1",
            &"a".repeat(NC_MAX_NAME + 1),
        ] {
            assert!(netcdf_name_problem(bad).is_some(), "{bad:?}");
        }
        let e = check_output_variable(Path::new("out.nc"), "a/b").unwrap_err();
        assert!(
            e.contains("'a/b'") && e.contains("out.nc") && e.contains("'/'"),
            "{e}"
        );
        assert!(check_output_variable(Path::new("out.nc"), "").is_err());
    }

    #[test]
    fn hdf5_paths() {
        for ok in ["tas", "/tas", "/group/tas", "a b", "a.b"] {
            assert!(check_output_variable(Path::new("o.h5"), ok).is_ok(), "{ok}");
        }
        for bad in ["", "/", "a//b", "a/", "/./x", "a\u{1}"] {
            assert!(
                check_output_variable(Path::new("o.H5"), bad).is_err(),
                "{bad:?}"
            );
        }
    }
}
