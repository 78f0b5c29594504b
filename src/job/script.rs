//! Filling a batch-script template without letting a value become code.
//!
//! A job path such as `runs/$(rm -rf ~)/x.toml` is data, wherever a template puts it: in a
//! plain command word, inside `"..."` (where bash still runs `$(...)` and backticks), inside
//! `'...'`, or on an `#SBATCH` line (read by sbatch, not by the shell, where a line break
//! would start a new shell line). So each `{{PLACEHOLDER}}` is quoted for the place it
//! stands in, found by following bash's quoting across the template in one pass; the
//! substituted text is never scanned again, so a value holding `{{ARGS}}` stays literal.
//!
//! Two kinds of value: a [`Value::Word`] is one string (a path, a name, a number), quoted
//! as needed; a [`Value::Code`] is shell text the caller already built from quoted words
//! (the launcher, the argument list, `--setup` lines), allowed only outside quotes.
//! Comment lines other than `#SBATCH` are kept as written: the template's own prose may
//! mention placeholders, and a value put into a comment could end it with a line break.

use crate::error::{Error, Result};

/// A placeholder's value.
#[derive(Debug, Clone)]
pub enum Value {
    /// One word of data, quoted for where it stands.
    Word(String),
    /// Shell text already quoted by the caller; only outside quotes.
    Code(String),
}

/// Where the scanner is in bash's quoting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quote {
    None,
    Single,
    Double,
}

/// Single-quotes a word for the shell (bare when it holds only safe characters).
pub fn sh(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-=:,+%@".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The text of a word inside `"..."`: the four characters bash still interprets there are
/// escaped.
fn in_double_quotes(word: &str) -> String {
    let mut s = String::with_capacity(word.len());
    for c in word.chars() {
        if matches!(c, '\\' | '$' | '`' | '"') {
            s.push('\\');
        }
        s.push(c);
    }
    s
}

/// A word on an `#SBATCH` line. sbatch takes a double-quoted argument with spaces but has
/// no escapes, and a line break would end the directive: those are refused.
fn in_directive(key: &str, word: &str) -> Result<String> {
    if word.chars().any(|c| c.is_control() || c == '"') {
        return Err(Error::Job(format!(
            "{key} {word:?}: an #SBATCH line cannot hold a line break, a control character or a double quote; choose a name without them"
        )));
    }
    Ok(if word.chars().any(char::is_whitespace) {
        format!("\"{word}\"")
    } else {
        word.to_string()
    })
}

/// Fills `template` (named `source` in errors). A line that held only placeholders whose
/// values are empty is dropped.
pub fn fill(source: &str, template: &str, values: &[(&str, Value)]) -> Result<String> {
    let mut out = String::with_capacity(template.len() + 256);
    let mut quote = Quote::None;
    for (n, line) in template.lines().enumerate() {
        let at = || format!("{source} line {}", n + 1);
        let trimmed = line.trim_start();
        let filled = if quote == Quote::None && trimmed.starts_with("#SBATCH") {
            fill_directive(line, values, &at)?
        } else if quote == Quote::None && trimmed.starts_with('#') {
            line.to_string()
        } else {
            fill_shell(line, values, &mut quote, &at)?
        };
        let placeholder_only = trimmed.starts_with("{{") && line.trim_end().ends_with("}}");
        if placeholder_only && filled.trim().is_empty() {
            continue;
        }
        out.push_str(&filled);
        out.push('\n');
    }
    if quote != Quote::None {
        return Err(Error::Job(format!(
            "{source}: a quote opened in the template is never closed"
        )));
    }
    Ok(out)
}

/// The placeholder starting at `rest` (which begins with `{{`): its key and length.
fn placeholder<'a>(rest: &'a str, at: &dyn Fn() -> String) -> Result<(&'a str, usize)> {
    match rest[2..].find("}}") {
        Some(end) => Ok((&rest[2..2 + end], end + 4)),
        None => Err(Error::Job(format!(
            "{}: '{{{{' without a closing '}}}}'",
            at()
        ))),
    }
}

fn lookup<'v>(
    key: &str,
    values: &'v [(&str, Value)],
    at: &dyn Fn() -> String,
) -> Result<&'v Value> {
    values
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
        .ok_or_else(|| Error::Job(format!("{}: unknown placeholder {{{{{key}}}}}", at())))
}

fn fill_directive(line: &str, values: &[(&str, Value)], at: &dyn Fn() -> String) -> Result<String> {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let (key, len) = placeholder(&rest[start..], at)?;
        match lookup(key, values, at)? {
            Value::Word(w) => out.push_str(&in_directive(key, w)?),
            Value::Code(_) => {
                return Err(Error::Job(format!(
                    "{}: {{{{{key}}}}} holds shell text and cannot stand on an #SBATCH line",
                    at()
                )))
            }
        }
        rest = &rest[start + len..];
    }
    out.push_str(rest);
    Ok(out)
}

fn fill_shell(
    line: &str,
    values: &[(&str, Value)],
    quote: &mut Quote,
    at: &dyn Fn() -> String,
) -> Result<String> {
    let mut out = String::with_capacity(line.len() + 64);
    let mut i = 0;
    let mut word_start = true;
    while i < line.len() {
        let rest = &line[i..];
        if rest.starts_with("{{") {
            let (key, len) = placeholder(rest, at)?;
            let text = match (lookup(key, values, at)?, *quote) {
                (Value::Word(w), Quote::None) => sh(w),
                (Value::Word(w), Quote::Double) => in_double_quotes(w),
                (Value::Word(w), Quote::Single) => w.replace('\'', "'\\''"),
                (Value::Code(c), Quote::None) => c.clone(),
                (Value::Code(_), _) => {
                    return Err(Error::Job(format!(
                        "{}: {{{{{key}}}}} holds shell text and cannot stand inside quotes",
                        at()
                    )))
                }
            };
            out.push_str(&text);
            i += len;
            word_start = false;
            continue;
        }
        let Some(c) = rest.chars().next() else { break };
        let mut len = c.len_utf8();
        match (*quote, c) {
            (Quote::None, '#') if word_start => {
                // A comment to the end of the line: kept as written.
                out.push_str(rest);
                return Ok(out);
            }
            (Quote::None, '\'') => *quote = Quote::Single,
            (Quote::None, '"') => *quote = Quote::Double,
            (Quote::Single, '\'') | (Quote::Double, '"') => *quote = Quote::None,
            (Quote::None | Quote::Double, '\\') => {
                // The escaped character goes with the backslash.
                len += rest[1..].chars().next().map_or(0, char::len_utf8);
            }
            _ => {}
        }
        out.push_str(&rest[..len]);
        word_start = *quote == Quote::None && (c.is_whitespace() || ";&|()".contains(c));
        i += len;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(s: &str) -> Value {
        Value::Word(s.to_string())
    }

    #[test]
    fn placeholders_fill_and_empty_lines_go() {
        let t = "#SBATCH --time={{TIME}}\n{{EXTRA}}\n# see {{PLACEHOLDERS}}\necho {{TIME}}\n";
        let s = fill(
            "t",
            t,
            &[
                ("TIME", word("01:00:00")),
                ("EXTRA", Value::Code(String::new())),
            ],
        )
        .expect("fill");
        assert_eq!(
            s,
            "#SBATCH --time=01:00:00\n# see {{PLACEHOLDERS}}\necho 01:00:00\n"
        );
        assert!(fill("t", "srun {{NOPE}}\n", &[]).is_err());
    }

    /// Issue #13 item 2: every quoting context gets the value back as data.
    #[test]
    fn words_are_quoted_for_their_context() {
        let v = [("P", word("a $(touch X) `b` 'c' \"d\" \\e\nf"))];
        let s = fill("t", "run {{P}}\necho \"x: {{P}}\"\necho 'y: {{P}}'\n", &v).expect("fill");
        assert_eq!(
            s,
            "run 'a $(touch X) `b` '\\''c'\\'' \"d\" \\e\nf'\n\
             echo \"x: a \\$(touch X) \\`b\\` 'c' \\\"d\\\" \\\\e\nf\"\n\
             echo 'y: a $(touch X) `b` '\\''c'\\'' \"d\" \\e\nf'\n"
        );
        // A value is not scanned again for placeholders.
        let s = fill(
            "t",
            "x {{A}} {{B}}\n",
            &[("A", word("{{B}}")), ("B", word("b"))],
        );
        assert_eq!(s.expect("fill"), "x '{{B}}' b\n");
    }

    #[test]
    fn directives_take_spaces_and_refuse_line_breaks() {
        let s = fill(
            "t",
            "#SBATCH --output={{O}}\n",
            &[("O", word("/a b/x.out"))],
        );
        assert_eq!(s.expect("fill"), "#SBATCH --output=\"/a b/x.out\"\n");
        for bad in ["/a\n/x", "/a\"b"] {
            let e = fill("t", "#SBATCH --output={{O}}\n", &[("O", word(bad))]);
            assert!(e.is_err(), "{bad:?}");
        }
        let code = [("C", Value::Code("srun".into()))];
        assert!(fill("t", "#SBATCH {{C}}\n", &code).is_err());
        assert!(fill("t", "echo \"{{C}}\"\n", &code).is_err());
        assert_eq!(fill("t", "{{C}} x\n", &code).expect("fill"), "srun x\n");
    }

    #[test]
    fn comments_and_escapes_are_followed() {
        let v = [("P", word("a\nrm -rf /"))];
        // Inside a trailing comment the placeholder is left alone.
        assert_eq!(
            fill("t", "true # {{P}}\n", &v).expect("fill"),
            "true # {{P}}\n"
        );
        // An escaped quote does not open a string.
        assert_eq!(
            fill("t", "echo \\\"{{P}}\n", &v).expect("fill"),
            "echo \\\"'a\nrm -rf /'\n"
        );
        assert!(fill("t", "echo \"open\n", &v).is_err());
    }

    #[test]
    fn shell_words() {
        assert_eq!(sh("/a/b.toml"), "/a/b.toml");
        assert_eq!(sh("a b'c"), "'a b'\\''c'");
        assert_eq!(sh(""), "''");
    }
}
