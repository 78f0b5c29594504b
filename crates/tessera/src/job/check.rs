//! Reads a job file and checks everything that can be checked before any work starts:
//! keys, names, references between arrays, cycles, inputs, output paths and runtime
//! settings. Every error starts with `FILE:LINE:` and names the key, so a user can go
//! straight to the problem. The checks are deterministic, so every MPI rank reaches the
//! same verdict without talking to the others.

use super::spec::{GenerateSpec, InputSpec, JobFile, OutputSpec, RuntimeSpec, SizeSpec};
use super::{ArrayDef, Input, InputSource, Job, Output, OutputTarget, Runtime};
use crate::error::{Error, Result};
use crate::expr::ast::Span;
use crate::expr::eval::is_builtin_name;
use crate::expr::parser::parse;
use crate::io::identity::{find_clash, Role};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use toml::Spanned;

/// Output file extensions the writer knows.
const OUTPUT_EXTENSIONS: &[&str] = &["nc", "nc4", "netcdf", "h5", "hdf5", "he5"];

/// Reads and checks the job file at `path`.
pub fn load(path: &Path) -> Result<Job> {
    let shown = crate::quote::path(path);
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Job(format!("{shown}: cannot read the job file: {e}")))?;
    let abs = std::path::absolute(path)
        .map_err(|e| Error::Job(format!("{shown}: cannot resolve the path: {e}")))?;
    let dir = abs
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    let file: JobFile = toml::from_str(&text).map_err(|e| {
        // FILE:LINE: message, then TOML's own excerpt with a caret.
        let at = match e.span() {
            Some(r) => {
                let upto = &text[..r.start.min(text.len())];
                format!("{shown}:{}", upto.matches('\n').count() + 1)
            }
            None => shown.clone(),
        };
        Error::Job(format!(
            "{at}: {}\n{}",
            e.message(),
            e.to_string().trim_end()
        ))
    })?;
    Checker {
        shown: &shown,
        newlines: text.match_indices('\n').map(|(i, _)| i).collect(),
        dir: &dir,
    }
    .job(file, abs.clone())
}

struct Checker<'a> {
    shown: &'a str,
    /// Byte offsets of the job file's newlines, for line numbers (counting them again
    /// for every key made checking a job of many arrays quadratic).
    newlines: Vec<usize>,
    dir: &'a Path,
}

impl Checker<'_> {
    /// `FILE:LINE` of a byte offset in the job file.
    fn at(&self, offset: usize) -> String {
        let line = self.newlines.partition_point(|&p| p < offset) + 1;
        format!("{}:{line}", self.shown)
    }

    fn err<T>(&self, offset: usize, key: &str, msg: impl std::fmt::Display) -> Result<T> {
        Err(Error::Job(format!("{}: {key}: {msg}", self.at(offset))))
    }

    /// A path from the job file, relative to the job file's directory.
    fn resolve(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.dir.join(p)
        }
    }

    fn job(&self, f: JobFile, path: PathBuf) -> Result<Job> {
        let runtime = self.runtime(&f.runtime)?;
        let mut inputs = Vec::new();
        for (name, spec) in &f.inputs {
            self.check_name(spec.span().start, &format!("inputs.{name}"), name)?;
            inputs.push(self.input(name, spec)?);
        }
        for (name, e) in &f.arrays {
            let key = format!("arrays.{name}");
            self.check_name(e.span().start, &key, name)?;
            if f.inputs.contains_key(name) {
                return self.err(e.span().start, &key, format!("'{name}' is also an input"));
            }
        }
        let known: HashSet<&str> = f
            .inputs
            .keys()
            .chain(f.arrays.keys())
            .map(String::as_str)
            .collect();
        let mut uses: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (name, e) in &f.arrays {
            let refs = self.references(e, &format!("arrays.{name}"), &known)?;
            uses.insert(name.as_str(), refs);
        }
        if f.outputs.is_empty() {
            return Err(Error::Job(format!(
                "{}: no [[outputs]]: the job would compute nothing (add e.g. [[outputs]] array = \"NAME\" file = \"out.nc\")",
                self.shown
            )));
        }
        let mut outputs = Vec::new();
        for (i, o) in f.outputs.iter().enumerate() {
            outputs.push(self.output(i, o, &known)?);
        }
        self.no_output_is_an_input(&f, &inputs, &outputs)?;
        let order = self.order(&f, &uses, &outputs)?;
        self.no_cycles_among_all(&f, &uses)?;
        let mut users: HashMap<&str, usize> = HashMap::new();
        let needed_uses = order.iter().filter_map(|n| uses.get(n));
        for refs in needed_uses.chain(outputs.iter().map(|o| &o.uses)) {
            for r in refs {
                *users.entry(r.as_str()).or_default() += 1;
            }
        }
        let needed: HashSet<&str> = order.iter().copied().collect();
        let arrays = order
            .iter()
            .map(|&name| {
                let e = &f.arrays[name];
                ArrayDef {
                    name: name.to_string(),
                    expr: e.get_ref().clone(),
                    uses: uses.get(name).cloned().unwrap_or_default(),
                    users: users.get(name).copied().unwrap_or(0),
                    at: self.at(e.span().start),
                }
            })
            .collect();
        let unused = f
            .arrays
            .keys()
            .filter(|k| !needed.contains(k.as_str()))
            .cloned()
            .collect();
        let name = f.job.name.clone().unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "job".into())
        });
        Ok(Job {
            dir: self.dir.to_path_buf(),
            path,
            name,
            description: f.job.description.clone(),
            runtime,
            inputs,
            arrays,
            outputs,
            unused,
        })
    }

    /// An output that is the same file as an input or another output (however spelled:
    /// see [`crate::io::identity`]) would destroy it; refused before any work.
    fn no_output_is_an_input(
        &self,
        f: &JobFile,
        inputs: &[Input],
        outputs: &[Output],
    ) -> Result<()> {
        let ins: Vec<Role> = inputs
            .iter()
            .map(|i| Role::new(format!("inputs.{}.file", i.name), &i.file))
            .collect();
        let files: Vec<(usize, Role)> = outputs
            .iter()
            .filter_map(|o| match &o.target {
                OutputTarget::File { path, .. } => Some((
                    o.index,
                    Role::new(format!("outputs[{}].file", o.index), path),
                )),
                OutputTarget::Print { .. } => None,
            })
            .collect();
        let outs: Vec<Role> = files.iter().map(|(_, r)| r.clone()).collect();
        match find_clash(&ins, &outs) {
            Some(c) => {
                let i = files[c.output].0;
                self.err(f.outputs[i].span().start, &c.label, c.message)
            }
            None => Ok(()),
        }
    }

    fn check_name(&self, offset: usize, key: &str, name: &str) -> Result<()> {
        let ident = !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        if !ident {
            return self.err(
                offset,
                key,
                format!(
                    "{} is not a valid name (letters, digits and _, not starting with a digit)",
                    crate::quote::quote(name)
                ),
            );
        }
        if is_builtin_name(name) || matches!(name, "True" | "False" | "None") {
            return self.err(
                offset,
                key,
                format!("'{name}' is a built-in name of the expression language; choose another"),
            );
        }
        Ok(())
    }

    fn input(&self, name: &str, spec: &Spanned<InputSpec>) -> Result<Input> {
        let key = format!("inputs.{name}");
        let off = spec.span().start;
        let s = spec.get_ref();
        let file = self.resolve(&s.file);
        if let Some(g) = &s.generate {
            self.check_generate(off, &key, g)?;
        } else if !file.is_file() {
            return self.err(
                off,
                &format!("{key}.file"),
                format!("{} does not exist", crate::quote::path(&file)),
            );
        }
        let npy = file.extension().is_some_and(|e| e == "npy");
        let source = if npy {
            if s.variable.is_some() || s.chunks.is_some() || s.decode.is_some() {
                return self.err(
                    off,
                    &key,
                    "a .npy input takes no variable, chunks or decode",
                );
            }
            InputSource::Npy
        } else {
            let variable = s.variable.clone().ok_or_else(|| {
                Error::Job(format!(
                    "{}: {key}: name the variable to read, e.g. variable = \"tas\" (or \"/group/dataset\" in HDF5)",
                    self.at(off)
                ))
            })?;
            let chunks = match &s.chunks {
                None => None,
                Some(v) => Some(chunks_literal(v).ok_or_else(|| {
                    Error::Job(format!(
                        "{}: {key}.chunks: expected an integer, a list of integers, a table such as {{ time = 365 }} or \"auto\", got {v}",
                        self.at(off)
                    ))
                })?),
            };
            InputSource::Variable {
                variable,
                chunks,
                decode: s.decode.unwrap_or(true),
            }
        };
        Ok(Input {
            name: name.to_string(),
            file,
            source,
            generate: s.generate.clone(),
            at: self.at(off),
        })
    }

    fn check_generate(&self, off: usize, key: &str, g: &GenerateSpec) -> Result<()> {
        if g.kind != "climate" {
            return self.err(
                off,
                &format!("{key}.generate.kind"),
                format!("unknown generator '{}' (known: climate)", g.kind),
            );
        }
        Ok(())
    }

    /// The job names an expression uses; an unknown name is an error with a caret.
    fn references(
        &self,
        e: &Spanned<String>,
        key: &str,
        known: &HashSet<&str>,
    ) -> Result<Vec<String>> {
        let src = e.get_ref();
        let tree = parse(src).map_err(|pe| {
            Error::Job(format!(
                "{}: {key}: {}",
                self.at(e.span().start),
                pe.render(src)
            ))
        })?;
        let mut refs: Vec<String> = Vec::new();
        for (n, span) in tree.names() {
            if known.contains(n.as_str()) {
                if !refs.contains(&n) {
                    refs.push(n);
                }
            } else if !is_builtin_name(&n) {
                let mut names: Vec<&str> = known.iter().copied().collect();
                names.sort();
                return Err(Error::Job(format!(
                    "{}: {key}: {}",
                    self.at(e.span().start),
                    crate::expr::parser::ParseError {
                        span: Span {
                            start: span.start,
                            end: span.end,
                        },
                        message: format!(
                            "'{n}' is not defined (inputs and arrays: {})",
                            names.join(", ")
                        ),
                    }
                    .render(src)
                )));
            }
        }
        Ok(refs)
    }

    fn output(&self, i: usize, o: &Spanned<OutputSpec>, known: &HashSet<&str>) -> Result<Output> {
        let key = format!("outputs[{i}]");
        let off = o.span().start;
        let s = o.get_ref();
        let expr = Spanned::new(o.span(), s.array.clone());
        let uses = self.references(&expr, &format!("{key}.array"), known)?;
        let target = match &s.file {
            Some(f) => {
                if s.format.is_some() {
                    return self.err(
                        off,
                        &key,
                        "format is for printed outputs; a file output has none",
                    );
                }
                let path = self.resolve(f);
                let ext = path
                    .extension()
                    .and_then(|e| e.to_str())
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                if !OUTPUT_EXTENSIONS.contains(&ext.as_str()) {
                    return self.err(
                        off,
                        &format!("{key}.file"),
                        format!(
                            "{}: unknown output format (use .nc for NetCDF-4 or .h5 for HDF5)",
                            crate::quote::path(&path)
                        ),
                    );
                }
                match path.parent() {
                    Some(d) if d.is_dir() => {}
                    Some(d) => {
                        return self.err(
                            off,
                            &format!("{key}.file"),
                            format!(
                                "the directory {} of {} does not exist",
                                crate::quote::path(d),
                                crate::quote::path(&path)
                            ),
                        )
                    }
                    None => {}
                }
                if let Some(l) = s.deflate {
                    if !(1..=9).contains(&l) {
                        return self.err(
                            off,
                            &format!("{key}.deflate"),
                            format!("level {l} is not in 1-9"),
                        );
                    }
                }
                let variable =
                    match &s.variable {
                        Some(v) if !v.is_empty() => v.clone(),
                        Some(_) => return self.err(off, &format!("{key}.variable"), "is empty"),
                        None if known.contains(s.array.trim()) => s.array.trim().to_string(),
                        None => return self.err(
                            off,
                            &format!("{key}.variable"),
                            "name the variable to write (the array is an expression, not a name)",
                        ),
                    };
                if let Err(m) = crate::io::names::check_output_variable(&path, &variable) {
                    return self.err(off, &format!("{key}.variable"), m);
                }
                OutputTarget::File {
                    path,
                    variable,
                    deflate: s.deflate,
                }
            }
            None => {
                if s.variable.is_some() || s.deflate.is_some() {
                    return self.err(off, &key, "variable and deflate need a file");
                }
                let json = match s.format.as_deref() {
                    None | Some("text") => false,
                    Some("json") => true,
                    Some(other) => {
                        return self.err(
                            off,
                            &format!("{key}.format"),
                            format!("'{other}' is not a format (text, json)"),
                        )
                    }
                };
                OutputTarget::Print { json }
            }
        };
        Ok(Output {
            index: i,
            expr: s.array.clone(),
            uses,
            target,
            at: self.at(off),
        })
    }

    /// The arrays the outputs need, each after the ones it uses; a cycle is an error.
    fn order<'f>(
        &self,
        f: &'f JobFile,
        uses: &BTreeMap<&str, Vec<String>>,
        outputs: &[Output],
    ) -> Result<Vec<&'f str>> {
        let mut state = Walk {
            f,
            uses,
            done: HashSet::new(),
            path: Vec::new(),
            order: Vec::new(),
        };
        for o in outputs {
            for root in &o.uses {
                if let Some((name, _)) = f.arrays.get_key_value(root.as_str()) {
                    state.visit(self, name)?;
                }
            }
        }
        Ok(state.order)
    }

    /// Arrays no output uses are not computed, but a cycle among them is still a mistake.
    fn no_cycles_among_all(&self, f: &JobFile, uses: &BTreeMap<&str, Vec<String>>) -> Result<()> {
        let mut walk = Walk {
            f,
            uses,
            done: HashSet::new(),
            path: Vec::new(),
            order: Vec::new(),
        };
        for name in f.arrays.keys() {
            walk.visit(self, name)?;
        }
        Ok(())
    }

    fn runtime(&self, r: &RuntimeSpec) -> Result<Runtime> {
        let mut out = Runtime {
            overwrite: r.overwrite.unwrap_or(false),
            ..Default::default()
        };
        if let Some(w) = &r.workers {
            if *w.get_ref() == 0 {
                return self.err(w.span().start, "runtime.workers", "must be at least 1");
            }
            out.workers = Some(*w.get_ref());
        }
        out.memory_limit = self.size(&r.memory_limit, "runtime.memory_limit", 1 << 20)?;
        out.chunk_target = self.size(&r.chunk_target, "runtime.chunk_target", 1 << 10)?;
        if let Some(d) = &r.spill_dir {
            let p = self.resolve(d.get_ref());
            if !p.is_dir() {
                return self.err(
                    d.span().start,
                    "runtime.spill_dir",
                    format!("{} is not a directory", crate::quote::path(&p)),
                );
            }
            out.spill_dir = Some(p);
        }
        if let Some(c) = &r.compression {
            out.compression = Some(
                crate::runtime::worker::parse_compression(c.get_ref())
                    .or_else(|m| self.err(c.span().start, "runtime.compression", m))?,
            );
        }
        if let Some(d) = &r.checkpoint {
            out.checkpoint = Some(self.resolve(d.get_ref()));
        }
        if let Some(h) = &r.heartbeat_timeout {
            let secs = *h.get_ref();
            crate::runtime::heartbeat::parse_timeout(&secs.to_string())
                .or_else(|m| self.err(h.span().start, "runtime.heartbeat_timeout", m))?;
            out.heartbeat_timeout = Some(secs);
        }
        Ok(out)
    }

    fn size(&self, s: &Option<Spanned<SizeSpec>>, key: &str, min: u64) -> Result<Option<u64>> {
        let Some(s) = s else { return Ok(None) };
        let bytes = match s.get_ref() {
            SizeSpec::Bytes(b) => *b,
            SizeSpec::Text(t) => {
                crate::runtime::size::parse_size(t).or_else(|m| self.err(s.span().start, key, m))?
            }
        };
        if bytes < min {
            return self.err(
                s.span().start,
                key,
                format!("{bytes} bytes is too small (at least {min})"),
            );
        }
        Ok(Some(bytes))
    }
}

/// A TOML `chunks` value as the expression literal `open(..., chunks=...)` takes.
fn chunks_literal(v: &toml::Value) -> Option<String> {
    use toml::Value as V;
    match v {
        V::Integer(n) => Some(n.to_string()),
        V::String(s) if s == "auto" => Some("\"auto\"".into()),
        V::Array(items) => {
            let parts: Option<Vec<String>> = items
                .iter()
                .map(|x| match x {
                    V::Integer(n) => Some(n.to_string()),
                    V::String(s) if s == "auto" => Some("\"auto\"".into()),
                    _ => None,
                })
                .collect();
            let parts = parts?;
            Some(if parts.len() == 1 {
                format!("({},)", parts[0])
            } else {
                format!("({})", parts.join(", "))
            })
        }
        V::Table(t) => {
            let parts: Option<Vec<String>> = t
                .iter()
                .map(|(k, x)| {
                    let ok = k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                    match x {
                        V::Integer(n) if ok => Some(format!("\"{k}\": {n}")),
                        V::String(s) if ok && s == "auto" => Some(format!("\"{k}\": \"auto\"")),
                        _ => None,
                    }
                })
                .collect();
            Some(format!("{{{}}}", parts?.join(", ")))
        }
        _ => None,
    }
}

/// Depth-first walk over the arrays' references, with an explicit stack (a job file may
/// chain any number of arrays); `path` is the chain being visited, to name a cycle.
struct Walk<'f, 'u> {
    f: &'f JobFile,
    uses: &'u BTreeMap<&'u str, Vec<String>>,
    done: HashSet<&'f str>,
    path: Vec<&'f str>,
    order: Vec<&'f str>,
}

impl<'f> Walk<'f, '_> {
    fn visit(&mut self, c: &Checker<'_>, root: &'f str) -> Result<()> {
        if self.done.contains(root) {
            return Ok(());
        }
        let mut on_path: HashSet<&'f str> = HashSet::from([root]);
        self.path.push(root);
        // (array, index of its next reference to visit)
        let mut stack: Vec<(&'f str, usize)> = vec![(root, 0)];
        while let Some((node, next)) = stack.last_mut() {
            let node: &'f str = node;
            let dep = self.uses.get(node).and_then(|d| d.get(*next));
            let Some(dep) = dep else {
                stack.pop();
                self.path.pop();
                on_path.remove(node);
                self.done.insert(node);
                self.order.push(node);
                continue;
            };
            *next += 1;
            let Some((name, _)) = self.f.arrays.get_key_value(dep.as_str()) else {
                continue;
            };
            let name = name.as_str();
            if self.done.contains(name) {
                continue;
            }
            if on_path.contains(name) {
                let start = self.path.iter().position(|n| *n == name).unwrap_or(0);
                let mut cycle: Vec<&str> = self.path[start..].to_vec();
                cycle.push(name);
                return c.err(
                    self.f.arrays[name].span().start,
                    &format!("arrays.{name}"),
                    format!(
                        "the arrays refer to each other in a cycle: {}",
                        cycle.join(" -> ")
                    ),
                );
            }
            on_path.insert(name);
            self.path.push(name);
            stack.push((name, 0));
        }
        Ok(())
    }
}
