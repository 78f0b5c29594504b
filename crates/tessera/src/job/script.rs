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
//! A here-document's body (`cat <<EOF`) is text of its own kind: with an unquoted
//! delimiter bash still expands `$(...)`, backticks and `$VAR` in it (single quotes there
//! are plain characters), so a word is escaped for that; with a quoted one it is literal.
//! In either, a value holding a line break is refused (a line equal to the delimiter
//! would end the body early), and so is shell text.

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

/// A here-document whose body follows: its delimiter, whether it was quoted (a literal
/// body), and whether leading tabs are stripped (`<<-`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Heredoc {
    delimiter: String,
    quoted: bool,
    strip_tabs: bool,
}

/// Fills `template` (named `source` in errors). A line that held only placeholders whose
/// values are empty is dropped.
pub fn fill(source: &str, template: &str, values: &[(&str, Value)]) -> Result<String> {
    let mut out = String::with_capacity(template.len() + 256);
    let mut quote = Quote::None;
    // Here-documents opened by earlier lines, first the one whose body is being read.
    let mut heredocs: std::collections::VecDeque<Heredoc> = Default::default();
    for (n, line) in template.lines().enumerate() {
        let at = || format!("{source} line {}", n + 1);
        let trimmed = line.trim_start();
        if let Some(h) = heredocs.front() {
            let end = if h.strip_tabs {
                line.trim_start_matches('\t')
            } else {
                line
            };
            let filled = if end == h.delimiter {
                heredocs.pop_front();
                line.to_string()
            } else {
                fill_heredoc_line(line, values, h.quoted, &at)?
            };
            out.push_str(&filled);
            out.push('\n');
            continue;
        }
        let filled = if quote == Quote::None && trimmed.starts_with("#SBATCH") {
            fill_directive(line, values, &at)?
        } else if quote == Quote::None && trimmed.starts_with('#') {
            line.to_string()
        } else {
            let mut opened = Vec::new();
            let filled = fill_shell(line, values, &mut quote, &mut opened, &at)?;
            heredocs.extend(opened);
            filled
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
    if let Some(h) = heredocs.front() {
        return Err(Error::Job(format!(
            "{source}: the here-document ending with '{}' is never closed",
            h.delimiter
        )));
    }
    Ok(out)
}

/// A line of a here-document's body: a word is escaped for an unquoted delimiter's body
/// (where `\`, `$` and backticks are still special) and literal in a quoted one's.
fn fill_heredoc_line(
    line: &str,
    values: &[(&str, Value)],
    quoted: bool,
    at: &dyn Fn() -> String,
) -> Result<String> {
    let mut out = String::with_capacity(line.len() + 64);
    let mut rest = line;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let (key, len) = placeholder(&rest[start..], at)?;
        match lookup(key, values, at)? {
            Value::Word(w) if w.contains(['\n', '\r']) => {
                return Err(Error::Job(format!(
                    "{}: {{{{{key}}}}} is {w:?}, whose line break would end the here-document \
                     early; choose a value without one",
                    at()
                )))
            }
            Value::Word(w) if quoted => out.push_str(w),
            Value::Word(w) => {
                for c in w.chars() {
                    if matches!(c, '\\' | '$' | '`') {
                        out.push('\\');
                    }
                    out.push(c);
                }
            }
            Value::Code(_) => {
                return Err(Error::Job(format!(
                    "{}: {{{{{key}}}}} holds shell text and cannot stand in a here-document",
                    at()
                )))
            }
        }
        rest = &rest[start + len..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The here-document operator at the start of `rest` (`<<WORD`, `<<-WORD`, `<< 'WORD'`,
/// not the here-string `<<<`), if any.
fn heredoc_at(rest: &str) -> Option<Heredoc> {
    let after = rest.strip_prefix("<<")?;
    if after.starts_with('<') {
        return None;
    }
    let (strip_tabs, after) = match after.strip_prefix('-') {
        Some(a) => (true, a),
        None => (false, after),
    };
    let word: String = after
        .trim_start_matches([' ', '\t'])
        .chars()
        .take_while(|c| !c.is_whitespace() && !";&|()<>".contains(*c))
        .collect();
    let quoted = word.contains(['\'', '"', '\\']);
    let delimiter: String = word.chars().filter(|c| !"'\"\\".contains(*c)).collect();
    (!delimiter.is_empty()).then_some(Heredoc {
        delimiter,
        quoted,
        strip_tabs,
    })
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
    heredocs: &mut Vec<Heredoc>,
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
            (Quote::None, '<') if rest.starts_with("<<") => {
                if let Some(h) = heredoc_at(rest) {
                    heredocs.push(h);
                }
                // `<<` (or `<<<`) as one token, so its second `<` is not seen again.
                len = if rest.starts_with("<<<") { 3 } else { 2 };
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
    fn here_documents_keep_values_as_text() {
        // Found by a hostile review: inside an unquoted here-document single quotes are
        // plain characters, so sh()'s quoting let `$(...)` run.
        let v = [("P", word("d$(touch X)/j`id`'s $HOME\\.toml"))];
        let t = "cat <<EOT\njob: {{P}}\nEOT\necho {{P}}\n";
        assert_eq!(
            fill("t", t, &v).expect("fill"),
            "cat <<EOT\njob: d\\$(touch X)/j\\`id\\`'s \\$HOME\\\\.toml\nEOT\n\
             echo 'd$(touch X)/j`id`'\\''s $HOME\\.toml'\n"
        );
        // A quoted delimiter's body is literal; <<- strips tabs before the delimiter.
        let t = "cat <<-'EOT' > f\n{{P}}\n\tEOT\n";
        assert_eq!(
            fill("t", t, &v).expect("fill"),
            "cat <<-'EOT' > f\nd$(touch X)/j`id`'s $HOME\\.toml\n\tEOT\n"
        );
        // A line break would end the body early; shell text has no place there.
        let nl = [("P", word("a\nEOT\nrm x")), ("C", Value::Code("x".into()))];
        assert!(fill("t", "cat <<EOT\n{{P}}\nEOT\n", &nl).is_err());
        assert!(fill("t", "cat <<EOT\n{{C}}\nEOT\n", &nl).is_err());
        assert!(fill("t", "cat <<EOT\nnever closed\n", &v).is_err());
        // A here-string is not a here-document.
        assert_eq!(
            fill("t", "cat <<< {{P}}\n", &[("P", word("a b"))]).expect("fill"),
            "cat <<< 'a b'\n"
        );
    }

    #[test]
    fn shell_words() {
        assert_eq!(sh("/a/b.toml"), "/a/b.toml");
        assert_eq!(sh("a b'c"), "'a b'\\''c'");
        assert_eq!(sh(""), "''");
    }
}
