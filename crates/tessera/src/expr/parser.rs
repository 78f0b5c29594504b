//! Lexer and parser for the expression language.
//!
//! Users of tessera write array expressions such as `(x > 0) & (y.sum(axis=0) < 5)` in the
//! Python/numpy syntax they already know. A typo in such a string must not surface as an
//! opaque failure deep inside the distributed runtime, so this module reports every syntax
//! error with the byte span of the offending token and a message that says what was
//! expected and what was found, for example
//! `expected ')' to close '(' opened at column 5, found end of input`.
//! [`ParseError::render`] prints the source with a caret under the problem, the way Python
//! does, and Python constructs that numpy users reach for but that are not supported
//! (`and`, `or`, `not`, chained comparisons, `@`, string prefixes, ...) get a message that
//! names the supported alternative.
//!
//! The grammar is a subset of Python's expression grammar with Python's precedence, from
//! loosest to tightest binding:
//!
//! 1. comparisons `==` `!=` `<` `<=` `>` `>=`, non-associative: `a < b < c` is an error
//!    (Python would chain it), so `a < b | c` is `a < (b | c)` and numpy-style masks are
//!    written `(x > 0) & (x < 5)`;
//! 2. `|`, then 3. `^`, then 4. `&`;
//! 5. `+` `-`, then 6. `*` `/` `//` `%` (all binary operators so far are left-associative);
//! 7. prefix `-x` `+x` `~x`;
//! 8. `**`, right-associative, binding tighter than a prefix operator on its left and
//!    looser than one on its right: `-2**2` is `-(2**2)`, `2**-1` is `2**(-1)`;
//! 9. postfix call `f(a, key=v)`, attribute `.name` and subscript `x[0, 1:-1, ::2, ...]`.
//!
//! Atoms are decimal integers (`1_000`), floats (`1.5`, `.5`, `2.`, `1e3`), strings in
//! single or double quotes (adjacent literals are concatenated), identifiers, `True`,
//! `False`, `None`, parenthesised expressions, tuples, lists and dicts. Whitespace,
//! including newlines, is insignificant.
//!
//! Implementation notes: the lexer runs first but stops at the first bad character and
//! stores that error as the last token, so errors are still reported in source order.
//! Binary operators are parsed with an explicit operator stack and prefix/`**` chains with
//! a loop, so the parser only recurses for brackets. A run of left-associative operators
//! of one precedence level (`a + b - c + ...`) becomes one flat [`ExprKind::Chain`] node,
//! so a sum of any number of terms parses, evaluates and drops without deep recursion.
//! Real nesting is limited to 200 levels: brackets, and the height of the tree (prefix
//! operators, `**` chains, which group from the right, attribute, call and subscript
//! chains, and operators of different precedence each add a level). That keeps the parser,
//! and every later pass that walks the tree recursively, safe from stack overflow on any
//! input.

use std::collections::HashSet;
use std::fmt;

use super::ast::*;

/// The maximum nesting depth of an expression: both the bracket nesting and the height of
/// the syntax tree (prefix, `**`, attribute, call and subscript chains) are limited; a flat
/// run of `+ - * / // % & | ^` operators is one level whatever its length.
pub const MAX_DEPTH: usize = 200;

/// Message for inputs exceeding [`MAX_DEPTH`].
const TOO_DEEP: &str = "expression nested too deeply";

/// Source lines longer than this many characters are shortened around the error by
/// [`ParseError::render`].
const RENDER_WIDTH: usize = 100;

/// A syntax error at a byte position of the source.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    /// Byte span of the offending token; `src.len()..src.len()` for the end of the input.
    pub span: Span,
    /// What was expected and what was found.
    pub message: String,
}

impl ParseError {
    fn new(span: Span, message: impl Into<String>) -> Self {
        ParseError {
            span,
            message: message.into(),
        }
    }

    /// Multi-line rendering: `"error at column N: MESSAGE\n  SOURCE\n  ^^^"` with the
    /// carets under the span. Columns are 1-based and counted in characters. Newlines and
    /// tabs in the source are shown as spaces (so the caret lines up), and a long source is
    /// shortened to a window around the error with `...` marking the cut.
    pub fn render(&self, src: &str) -> String {
        let chars: Vec<char> = src.chars().map(display_char).collect();
        let len = chars.len();
        let col0 = char_index(src, self.span.start);
        let end0 = char_end(src, self.span.end).max(col0);
        let (first, last) = if len <= RENDER_WIDTH {
            (0, len)
        } else {
            let first = col0
                .saturating_sub(RENDER_WIDTH / 3)
                .min(len - RENDER_WIDTH);
            (first, (first + RENDER_WIDTH).min(len))
        };
        let prefix = if first > 0 { "..." } else { "" };
        let suffix = if last < len { "..." } else { "" };
        let shown: String = chars.get(first..last).unwrap_or(&[]).iter().collect();
        let carets = end0.min(last).saturating_sub(col0).max(1);
        format!(
            "error at column {}: {}\n  {prefix}{shown}{suffix}\n  {}{}",
            col0 + 1,
            self.message,
            " ".repeat(prefix.len() + col0 - first),
            "^".repeat(carets),
        )
    }
}

impl fmt::Display for ParseError {
    /// `"at column N: MESSAGE"`. Without the source text the column can only be derived
    /// from the byte offset (`span.start + 1`); it equals the character column for ASCII
    /// input. [`ParseError::render`] always counts characters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "at column {}: {}",
            self.span.start.saturating_add(1),
            self.message
        )
    }
}

impl std::error::Error for ParseError {}

/// Parses one expression. The whole input must be consumed (surrounding whitespace is
/// ignored); the first syntax error is returned.
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    let mut p = Parser::new(src);
    let node = p.parse_expr().map_err(|e| *e)?;
    let t = p.peek();
    let span = t.span;
    let message = match &t.tok {
        Tok::Eof => return Ok(*node.expr),
        Tok::Error(e) => return Err(e.clone()),
        Tok::RParen => "unexpected ')' with no matching '('".to_string(),
        Tok::RBracket => "unexpected ']' with no matching '['".to_string(),
        Tok::RBrace => "unexpected '}' with no matching '{'".to_string(),
        Tok::Assign => {
            "unexpected '=': assignment is not supported (did you mean '=='?)".to_string()
        }
        Tok::Comma => "expected end of input, found ','; write a tuple in parentheses, e.g. (a, b)"
            .to_string(),
        _ => format!("expected end of input, found {}", p.describe(t)),
    };
    Err(ParseError::new(span, message))
}

// ---------------------------------------------------------------------------------------
// Helpers for positions and messages
// ---------------------------------------------------------------------------------------

/// 0-based index of the character containing byte offset `byte` (the number of characters
/// that end at or before it). Works for any offset, also past the end or inside a
/// multi-byte character.
fn char_index(src: &str, byte: usize) -> usize {
    src.char_indices()
        .take_while(|&(i, c)| i + c.len_utf8() <= byte)
        .count()
}

/// Number of characters that start before byte offset `byte`: the exclusive end, in
/// characters, of a span ending at `byte`.
fn char_end(src: &str, byte: usize) -> usize {
    src.char_indices().take_while(|&(i, _)| i < byte).count()
}

/// 1-based character column of byte offset `byte`.
fn column(src: &str, byte: usize) -> usize {
    char_index(src, byte) + 1
}

/// How a source character is shown by [`ParseError::render`]: one column per character.
fn display_char(c: char) -> char {
    if c.is_whitespace() {
        ' '
    } else if c.is_control() {
        '?'
    } else {
        c
    }
}

/// At most `max` characters of `s`, with `...` appended when shortened.
fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => format!("{}...", s.get(..cut).unwrap_or("")),
        None => s.to_string(),
    }
}

/// Python's reserved words. They cannot be names, attribute names or keyword arguments.
fn is_keyword(word: &str) -> bool {
    matches!(
        word,
        "False"
            | "None"
            | "True"
            | "and"
            | "as"
            | "assert"
            | "async"
            | "await"
            | "break"
            | "class"
            | "continue"
            | "def"
            | "del"
            | "elif"
            | "else"
            | "except"
            | "finally"
            | "for"
            | "from"
            | "global"
            | "if"
            | "import"
            | "in"
            | "is"
            | "lambda"
            | "nonlocal"
            | "not"
            | "or"
            | "pass"
            | "raise"
            | "return"
            | "try"
            | "while"
            | "with"
            | "yield"
    )
}

/// Message for a keyword found where an operand should start.
fn keyword_as_operand(word: &str) -> String {
    match word {
        "not" => "'not' is not supported; use '~' for element-wise logical not, e.g. ~(x > 0)"
            .to_string(),
        "lambda" => "lambda expressions are not supported".to_string(),
        _ => format!("expected an expression, found keyword '{word}'"),
    }
}

/// Message for an unsupported Python operator keyword found after a complete operand.
fn keyword_after_operand(word: &str) -> Option<&'static str> {
    Some(match word {
        "and" => {
            "'and' is not supported; use '&' for element-wise and, with parentheses around \
             comparisons: (a > 0) & (b < 5)"
        }
        "or" => {
            "'or' is not supported; use '|' for element-wise or, with parentheses around \
             comparisons: (a > 0) | (b < 5)"
        }
        "not" | "in" => "the 'in' and 'not in' operators are not supported",
        "is" => "the 'is' and 'is not' operators are not supported; use '==' or '!='",
        "if" | "else" => "conditional expressions ('a if cond else b') are not supported",
        "for" => "comprehensions are not supported",
        _ => return None,
    })
}

/// Message for a character that cannot start any token.
fn unexpected_char(c: char) -> String {
    let shown = if c.is_control()
        || c.is_whitespace()
        || matches!(c, '\u{200b}'..='\u{200f}')
        || c == '\u{2060}'
        || c == '\u{feff}'
    {
        format!("'{}'", c.escape_unicode())
    } else {
        format!("'{c}'")
    };
    let hint = match c {
        '\u{2018}' | '\u{2019}' | '\u{201a}' | '\u{201b}' | '\u{201c}' | '\u{201d}'
        | '\u{201e}' => " (use straight quotes ' or \")",
        '\u{2212}' | '\u{2013}' | '\u{2014}' => " (did you mean '-'?)",
        '\u{00d7}' => " (did you mean '*'?)",
        '\u{00f7}' => " (did you mean '/'?)",
        '\u{2264}' => " (did you mean '<='?)",
        '\u{2265}' => " (did you mean '>='?)",
        '\u{2260}' => " (did you mean '!='?)",
        '#' => " (comments are not supported)",
        '!' => " (use '~' for element-wise not, or '!=' for 'not equal')",
        c if !c.is_ascii() && c.is_whitespace() => " (non-ASCII whitespace)",
        c if !c.is_ascii() && c.is_alphanumeric() => " (names must be ASCII)",
        _ => "",
    };
    format!("unexpected character {shown}{hint}")
}

// ---------------------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------------------

/// Token kinds.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// Decimal integer literal; values above `i64::MAX` are rejected by the parser, except
    /// `2**63` directly after a unary minus.
    Int(u64),
    Float(f64),
    /// String literal with escapes already resolved.
    Str(String),
    /// Identifier or keyword.
    Ident(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Colon,
    Dot,
    Ellipsis,
    Plus,
    Minus,
    Star,
    StarStar,
    Slash,
    SlashSlash,
    Percent,
    Tilde,
    Amp,
    Pipe,
    Caret,
    EqEq,
    NotEq,
    Lt,
    Le,
    Gt,
    Ge,
    Assign,
    Eof,
    /// A lexical error; always the last token.
    Error(ParseError),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    span: Span,
}

struct Lexer<'a> {
    src: &'a str,
    /// Byte offset of the next character; always on a character boundary.
    pos: usize,
}

impl<'a> Lexer<'a> {
    /// All tokens of `src`, ending with `Eof` or with the first lexical error.
    fn tokenize(src: &'a str) -> Vec<Token> {
        let mut lexer = Lexer { src, pos: 0 };
        let mut out = Vec::new();
        loop {
            match lexer.next_token() {
                Ok(t) => {
                    let done = matches!(t.tok, Tok::Eof);
                    out.push(t);
                    if done {
                        break;
                    }
                }
                Err(e) => {
                    out.push(Token {
                        span: e.span,
                        tok: Tok::Error(e),
                    });
                    break;
                }
            }
        }
        out
    }

    fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek2(&self) -> Option<char> {
        self.rest().chars().nth(1)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn span_from(&self, start: usize) -> Span {
        Span {
            start,
            end: self.pos,
        }
    }

    fn text_from(&self, start: usize) -> &'a str {
        self.src.get(start..self.pos).unwrap_or("")
    }

    fn next_token(&mut self) -> Result<Token, ParseError> {
        while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r' | '\x0c')) {
            self.bump();
        }
        let start = self.pos;
        let Some(c) = self.peek() else {
            return Ok(Token {
                tok: Tok::Eof,
                span: self.span_from(start),
            });
        };
        if c.is_ascii_digit() || (c == '.' && self.peek2().is_some_and(|d| d.is_ascii_digit())) {
            return self.number(start);
        }
        if c.is_ascii_alphabetic() || c == '_' {
            return self.ident(start);
        }
        if c == '\'' || c == '"' {
            return self.string(start, c);
        }
        self.bump();
        let tok = match c {
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            '[' => Tok::LBracket,
            ']' => Tok::RBracket,
            '{' => Tok::LBrace,
            '}' => Tok::RBrace,
            ',' => Tok::Comma,
            ':' => Tok::Colon,
            '+' => Tok::Plus,
            '-' => Tok::Minus,
            '%' => Tok::Percent,
            '~' => Tok::Tilde,
            '&' => Tok::Amp,
            '|' => Tok::Pipe,
            '^' => Tok::Caret,
            '*' if self.eat('*') => Tok::StarStar,
            '*' => Tok::Star,
            '/' if self.eat('/') => Tok::SlashSlash,
            '/' => Tok::Slash,
            '=' if self.eat('=') => Tok::EqEq,
            '=' => Tok::Assign,
            '!' if self.eat('=') => Tok::NotEq,
            '<' if self.eat('=') => Tok::Le,
            '>' if self.eat('=') => Tok::Ge,
            '<' | '>' if self.peek() == Some(c) => {
                self.bump();
                let op = self.text_from(start);
                return Err(ParseError::new(
                    self.span_from(start),
                    format!("the shift operator '{op}' is not supported"),
                ));
            }
            '<' => Tok::Lt,
            '>' => Tok::Gt,
            '.' if self.peek() == Some('.') && self.peek2() == Some('.') => {
                self.bump();
                self.bump();
                Tok::Ellipsis
            }
            '.' => Tok::Dot,
            '@' => {
                return Err(ParseError::new(
                    self.span_from(start),
                    "the matrix multiplication operator '@' is not supported",
                ))
            }
            other => {
                return Err(ParseError::new(
                    self.span_from(start),
                    unexpected_char(other),
                ))
            }
        };
        Ok(Token {
            tok,
            span: self.span_from(start),
        })
    }

    /// Consumes a run of digits and underscores (the caller checked that a digit comes
    /// first). Returns false if an underscore is doubled or trailing.
    fn digits(&mut self) -> bool {
        let mut ok = true;
        let mut after_underscore = false;
        while let Some(c) = self.peek() {
            if c.is_ascii_digit() {
                after_underscore = false;
            } else if c == '_' {
                ok &= !after_underscore;
                after_underscore = true;
            } else {
                break;
            }
            self.bump();
        }
        ok && !after_underscore
    }

    fn number(&mut self, start: usize) -> Result<Token, ParseError> {
        let mut ok = true;
        let mut is_float = false;
        if self.peek().is_some_and(|c| c.is_ascii_digit()) {
            ok &= self.digits();
        }
        if self.eat('.') {
            is_float = true;
            if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                ok &= self.digits();
            }
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            is_float = true;
            self.bump();
            if matches!(self.peek(), Some('+' | '-')) {
                self.bump();
            }
            if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                ok &= self.digits();
            } else {
                ok = false;
            }
        }
        // Letters glued to a number (`0x1f`, `1.5j`, `3px`) make the whole word invalid.
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            self.bump();
            ok = false;
        }
        let text = self.text_from(start);
        let span = self.span_from(start);
        let invalid = || {
            let lower = text.to_ascii_lowercase();
            let hint = if ["0x", "0o", "0b"].iter().any(|p| lower.starts_with(p)) {
                " (only decimal numbers are supported)"
            } else if lower.ends_with('j') {
                " (complex numbers are not supported)"
            } else {
                ""
            };
            ParseError::new(
                span,
                format!("invalid number {}{hint}", crate::quote::quote(text)),
            )
        };
        if !ok {
            return Err(invalid());
        }
        let clean: String = text.chars().filter(|&c| c != '_').collect();
        let tok = if is_float {
            Tok::Float(clean.parse::<f64>().map_err(|_| invalid())?)
        } else {
            if clean.len() > 1 && clean.starts_with('0') && clean.bytes().any(|b| b != b'0') {
                return Err(ParseError::new(
                    span,
                    format!(
                        "invalid number {}: leading zeros are not allowed in integers",
                        crate::quote::quote(text)
                    ),
                ));
            }
            match clean.parse::<u64>() {
                Ok(v) => Tok::Int(v),
                Err(_) => {
                    return Err(ParseError::new(
                        span,
                        format!(
                            "integer literal {} is too large",
                            crate::quote::shorten(text)
                        ),
                    ))
                }
            }
        };
        Ok(Token { tok, span })
    }

    fn ident(&mut self, start: usize) -> Result<Token, ParseError> {
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            self.bump();
        }
        let text = self.text_from(start);
        let span = self.span_from(start);
        let is_prefix = matches!(
            text.to_ascii_lowercase().as_str(),
            "r" | "u" | "b" | "f" | "rb" | "br" | "fr" | "rf"
        );
        if is_prefix && matches!(self.peek(), Some('\'' | '"')) {
            return Err(ParseError::new(
                span,
                format!("string prefix '{text}' is not supported; use a plain '...' string"),
            ));
        }
        Ok(Token {
            tok: Tok::Ident(text.to_string()),
            span,
        })
    }

    fn string(&mut self, start: usize, quote: char) -> Result<Token, ParseError> {
        self.bump();
        let mut value = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(ParseError::new(
                    self.span_from(start),
                    "unterminated string literal",
                ));
            };
            if c == '\n' || c == '\r' {
                return Err(ParseError::new(
                    self.span_from(start),
                    "unterminated string literal",
                ));
            }
            self.bump();
            if c == quote {
                break;
            }
            if c != '\\' {
                value.push(c);
                continue;
            }
            let escape_start = self.pos - 1;
            let resolved = match self.peek() {
                None | Some('\n' | '\r') => {
                    return Err(ParseError::new(
                        self.span_from(start),
                        "unterminated string literal",
                    ))
                }
                Some('n') => '\n',
                Some('t') => '\t',
                Some('r') => '\r',
                Some('0') => '\0',
                Some('\\') => '\\',
                Some('\'') => '\'',
                Some('"') => '"',
                Some(other) => {
                    self.bump();
                    let shown = if other.is_control() || other.is_whitespace() {
                        other.escape_unicode().to_string()
                    } else {
                        other.to_string()
                    };
                    return Err(ParseError::new(
                        self.span_from(escape_start),
                        format!(
                            "invalid escape sequence '\\{shown}' in string literal \
                             (supported: \\\\ \\' \\\" \\n \\t \\r \\0)"
                        ),
                    ));
                }
            };
            self.bump();
            value.push(resolved);
        }
        Ok(Token {
            tok: Tok::Str(value),
            span: self.span_from(start),
        })
    }
}

// ---------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------

/// Parser results; the error is boxed to keep the recursive functions' frames small.
type PResult<T> = Result<T, Box<ParseError>>;

/// A parsed expression with the height of its tree (0 for literals and names). The
/// expression is boxed because it usually ends up boxed in its parent, and because small
/// return values keep the recursive functions' frames small.
struct Node {
    expr: Box<Expr>,
    height: usize,
}

impl Node {
    fn leaf(kind: ExprKind, span: Span) -> Node {
        Node {
            expr: Box::new(Expr { kind, span }),
            height: 0,
        }
    }
}

/// The `prefixes base **` parts of a power chain waiting for their exponent.
type PowerChain = Vec<(Vec<(UnaryOp, Span)>, Node, Span)>;

/// Binding strength of comparisons, the loosest binary operators.
const CMP_PREC: u8 = 1;

/// Binary operator (other than `**`) of a token and its binding strength.
fn binop_of(tok: &Tok) -> Option<(BinOp, u8)> {
    Some(match tok {
        Tok::EqEq => (BinOp::Eq, CMP_PREC),
        Tok::NotEq => (BinOp::Ne, CMP_PREC),
        Tok::Lt => (BinOp::Lt, CMP_PREC),
        Tok::Le => (BinOp::Le, CMP_PREC),
        Tok::Gt => (BinOp::Gt, CMP_PREC),
        Tok::Ge => (BinOp::Ge, CMP_PREC),
        Tok::Pipe => (BinOp::Or, 2),
        Tok::Caret => (BinOp::Xor, 3),
        Tok::Amp => (BinOp::And, 4),
        Tok::Plus => (BinOp::Add, 5),
        Tok::Minus => (BinOp::Sub, 5),
        Tok::Star => (BinOp::Mul, 6),
        Tok::Slash => (BinOp::Div, 6),
        Tok::SlashSlash => (BinOp::FloorDiv, 6),
        Tok::Percent => (BinOp::Mod, 6),
        _ => return None,
    })
}

/// A pending operand of the binary-operator loop; `built_at` is the precedence of the
/// operator chain that produced it in the same loop, if any: a further operator of that
/// precedence extends the chain (for comparisons, it would be a chained comparison).
struct Operand {
    node: Node,
    built_at: Option<u8>,
}

/// A pending operator of the binary-operator loop.
struct PendingOp {
    op: BinOp,
    prec: u8,
    span: Span,
}

/// Recursive-descent parser over the token list of one source string.
struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    pos: usize,
    /// Current recursion depth, see [`MAX_DEPTH`].
    depth: usize,
    /// End of the last consumed token.
    prev_end: usize,
    /// Returned by `peek` past the end (never happens, as the last token is sticky).
    eof: Token,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        let eof = Token {
            tok: Tok::Eof,
            span: Span {
                start: src.len(),
                end: src.len(),
            },
        };
        Parser {
            src,
            toks: Lexer::tokenize(src),
            pos: 0,
            depth: 0,
            prev_end: 0,
            eof,
        }
    }

    // ----- token access -----

    fn peek(&self) -> &Token {
        self.toks.get(self.pos).unwrap_or(&self.eof)
    }

    fn peek_nth(&self, n: usize) -> &Token {
        self.toks
            .get(self.pos.saturating_add(n))
            .unwrap_or(&self.eof)
    }

    fn at(&self, tok: &Tok) -> bool {
        &self.peek().tok == tok
    }

    /// Consumes the current token (never `Eof` or an error token) and returns its span.
    fn bump(&mut self) -> Span {
        let t = self.peek();
        let span = t.span;
        if !matches!(t.tok, Tok::Eof | Tok::Error(_)) {
            self.pos += 1;
            self.prev_end = span.end;
        }
        span
    }

    fn text(&self, span: Span) -> &'a str {
        self.src.get(span.start..span.end).unwrap_or("")
    }

    // ----- errors -----

    /// How a token is named in "found ..." messages.
    fn describe(&self, t: &Token) -> String {
        match &t.tok {
            Tok::Eof => "end of input".to_string(),
            Tok::Str(_) => format!("string literal {}", truncate(self.text(t.span), 30)),
            Tok::Ident(w) if is_keyword(w) => format!("keyword '{w}'"),
            _ => format!("'{}'", truncate(self.text(t.span), 30)),
        }
    }

    /// An error at the current token, or the lexical error if the current token is one
    /// (the bad character is then the real problem).
    fn error_here(&self, message: impl Into<String>) -> Box<ParseError> {
        match &self.peek().tok {
            Tok::Error(e) => Box::new(e.clone()),
            _ => error_at(self.peek().span, message),
        }
    }

    /// `expected WHAT, found TOKEN` at the current token.
    fn expected(&self, what: &str) -> Box<ParseError> {
        self.error_here(format!(
            "expected {what}, found {}",
            self.describe(self.peek())
        ))
    }

    /// The current token neither continues nor closes the bracket opened at `open`.
    fn unclosed(&self, open: Span, close: char, comma_ok: bool) -> Box<ParseError> {
        let opener = truncate(self.text(open), 1);
        let col = column(self.src, open.start);
        let what = if comma_ok && !matches!(self.peek().tok, Tok::Eof) {
            format!("',' or '{close}'")
        } else {
            format!("'{close}'")
        };
        self.error_here(format!(
            "expected {what} to close '{opener}' opened at column {col}, found {}",
            self.describe(self.peek())
        ))
    }

    // ----- nesting limits -----

    fn enter(&mut self, at: Span) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(error_at(at, TOO_DEEP));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    // ----- grammar -----
    //
    // Only brackets recurse (expr -> operand -> postfix -> bracket -> expr). The functions
    // on that cycle keep their frames small: messages are built in separate functions, so
    // that even unoptimised builds parse the deepest accepted input in well under 1 MiB.

    /// expr := operand (binop operand)*
    ///
    /// Binary operators from comparisons to `* / // %`, by operator precedence with an
    /// explicit stack (no recursion per operator). Comparisons do not chain.
    fn parse_expr(&mut self) -> PResult<Node> {
        let first = self.parse_operand()?;
        let mut operands = vec![Operand {
            node: first,
            built_at: None,
        }];
        let mut ops: Vec<PendingOp> = Vec::new();
        while let Some((op, prec)) = binop_of(&self.peek().tok) {
            let span = self.peek().span;
            while ops.last().is_some_and(|top| top.prec >= prec) {
                reduce(&mut operands, &mut ops)?;
            }
            if prec == CMP_PREC
                && operands
                    .last()
                    .is_some_and(|o| o.built_at == Some(CMP_PREC))
            {
                return Err(error_at(span, CHAINED));
            }
            self.bump();
            ops.push(PendingOp { op, prec, span });
            let rhs = self.parse_operand()?;
            operands.push(Operand {
                node: rhs,
                built_at: None,
            });
        }
        while !ops.is_empty() {
            reduce(&mut operands, &mut ops)?;
        }
        self.reject_keyword_operator()?;
        match operands.pop() {
            Some(o) => Ok(o.node),
            None => Err(error_at(self.peek().span, "internal error: no operand")),
        }
    }

    /// Fails on an unsupported Python operator keyword (`and`, `or`, `in`, `if`, ...)
    /// after a complete expression.
    fn reject_keyword_operator(&self) -> PResult<()> {
        if let Tok::Ident(word) = &self.peek().tok {
            if let Some(message) = keyword_after_operand(word) {
                return Err(error_at(self.peek().span, message));
            }
        }
        Ok(())
    }

    /// operand := ('-' | '+' | '~')* postfix ('**' operand)?
    ///
    /// Parsed iteratively: the prefix operators and bases of a `**` chain are collected
    /// and then folded from the right, so `-2**-x**y` is `-(2**(-(x**y)))` as in Python.
    fn parse_operand(&mut self) -> PResult<Node> {
        let mut pending: PowerChain = Vec::new();
        loop {
            let mut prefixes = Vec::new();
            while let Some(op) = unary_of(&self.peek().tok) {
                prefixes.push((op, self.bump()));
            }
            let base = match self.min_int_literal(&prefixes) {
                Some(node) => {
                    prefixes.pop();
                    node
                }
                None => self.parse_postfix()?,
            };
            if self.at(&Tok::StarStar) {
                let pow = self.bump();
                pending.push((prefixes, base, pow));
                continue;
            }
            return fold_power_chain(pending, apply_prefixes(prefixes, base)?);
        }
    }

    /// `-9223372036854775808` is `i64::MIN` although `9223372036854775808` alone is out of
    /// range: consumes the literal if it directly follows a `-` and binds to it alone.
    fn min_int_literal(&mut self, prefixes: &[(UnaryOp, Span)]) -> Option<Node> {
        let &(UnaryOp::Neg, minus) = prefixes.last()? else {
            return None;
        };
        let followed_by_postfix = matches!(
            self.peek_nth(1).tok,
            Tok::StarStar | Tok::LParen | Tok::LBracket | Tok::Dot
        );
        if self.peek().tok != Tok::Int(1 << 63) || followed_by_postfix {
            return None;
        }
        let literal = self.bump();
        Some(Node::leaf(ExprKind::Int(i64::MIN), minus.to(literal)))
    }

    /// postfix := atom ( '(' args ')' | '[' index ']' | '.' NAME )*
    fn parse_postfix(&mut self) -> PResult<Node> {
        let mut node = match self.peek().tok {
            Tok::LParen => self.parse_group()?,
            Tok::LBracket => self.parse_list()?,
            Tok::LBrace => self.parse_dict()?,
            _ => self.parse_atom()?,
        };
        loop {
            node = match self.peek().tok {
                Tok::LParen => self.parse_call(node)?,
                Tok::LBracket => self.parse_index(node)?,
                Tok::Dot => self.parse_attr(node)?,
                _ => return Ok(node),
            };
        }
    }

    /// `value.name`
    fn parse_attr(&mut self, value: Node) -> PResult<Node> {
        let dot = self.bump();
        let name = match &self.peek().tok {
            Tok::Ident(w) if !is_keyword(w) => w.clone(),
            _ => return Err(self.expected("an attribute name after '.'")),
        };
        let name_span = self.bump();
        let span = value.expr.span.to(name_span);
        let kind = ExprKind::Attr {
            value: value.expr,
            name,
            name_span,
        };
        node(kind, span, value.height, dot)
    }

    /// Literals and names (bracketed atoms are handled by [`Parser::parse_postfix`]).
    fn parse_atom(&mut self) -> PResult<Node> {
        let span = self.peek().span;
        let kind = match &self.peek().tok {
            Tok::Int(v) => match i64::try_from(*v) {
                Ok(v) => ExprKind::Int(v),
                Err(_) => return Err(too_large(span, self.text(span))),
            },
            Tok::Float(f) => ExprKind::Float(*f),
            Tok::Str(_) => {
                let mut value = String::new();
                while let Tok::Str(s) = &self.peek().tok {
                    value.push_str(s);
                    self.bump();
                }
                let span = Span {
                    start: span.start,
                    end: self.prev_end,
                };
                return Ok(Node::leaf(ExprKind::Str(value), span));
            }
            Tok::Ident(w) => match w.as_str() {
                "True" => ExprKind::Bool(true),
                "False" => ExprKind::Bool(false),
                "None" => ExprKind::NoneLit,
                w if is_keyword(w) => return Err(error_at(span, keyword_as_operand(w))),
                w => ExprKind::Name(w.to_string()),
            },
            Tok::Ellipsis => return Err(self.error_here(ELLIPSIS_OUTSIDE)),
            _ => return Err(self.expected("an expression")),
        };
        self.bump();
        Ok(Node::leaf(kind, span))
    }

    /// After an item of a bracketed list: consumes a ',' if present; errors unless a ','
    /// or the closer `close` follows.
    fn item_separator(&mut self, close: &Tok, open: Span, close_ch: char) -> PResult<()> {
        if self.at(&Tok::Comma) {
            self.bump();
            Ok(())
        } else if self.at(close) {
            Ok(())
        } else {
            Err(self.unclosed(open, close_ch, true))
        }
    }

    /// `(expr)`, `()`, `(a,)`, `(a, b, ...)`.
    fn parse_group(&mut self) -> PResult<Node> {
        let open = self.bump();
        self.enter(open)?;
        if self.at(&Tok::RParen) {
            let close = self.bump();
            self.leave();
            return node(ExprKind::Tuple(Vec::new()), open.to(close), 0, open);
        }
        if self.at(&Tok::Eof) {
            return Err(self.unclosed(open, ')', false));
        }
        let first = self.parse_expr()?;
        if self.at(&Tok::RParen) {
            // A parenthesised expression: the node itself, its span widened to the parens.
            let close = self.bump();
            self.leave();
            return parenthesised(first, open.to(close), open);
        }
        if !self.at(&Tok::Comma) {
            return Err(self.unclosed(open, ')', false));
        }
        self.bump();
        let mut height = first.height;
        let mut items = vec![*first.expr];
        while !self.at(&Tok::RParen) {
            if self.at(&Tok::Eof) {
                return Err(self.unclosed(open, ')', true));
            }
            let item = self.parse_expr()?;
            height = height.max(item.height);
            items.push(*item.expr);
            self.item_separator(&Tok::RParen, open, ')')?;
        }
        let close = self.bump();
        self.leave();
        node(ExprKind::Tuple(items), open.to(close), height, open)
    }

    /// `[a, b, ...]`
    fn parse_list(&mut self) -> PResult<Node> {
        let open = self.bump();
        self.enter(open)?;
        let mut height = 0;
        let mut items = Vec::new();
        while !self.at(&Tok::RBracket) {
            if self.at(&Tok::Eof) {
                return Err(self.unclosed(open, ']', !items.is_empty()));
            }
            let item = self.parse_expr()?;
            height = height.max(item.height);
            items.push(*item.expr);
            self.item_separator(&Tok::RBracket, open, ']')?;
        }
        let close = self.bump();
        self.leave();
        node(ExprKind::List(items), open.to(close), height, open)
    }

    /// `{key: value, ...}`
    fn parse_dict(&mut self) -> PResult<Node> {
        let open = self.bump();
        self.enter(open)?;
        let mut height = 0;
        let mut entries = Vec::new();
        while !self.at(&Tok::RBrace) {
            if self.at(&Tok::Eof) {
                return Err(self.unclosed(open, '}', !entries.is_empty()));
            }
            let key = self.parse_expr()?;
            if !self.at(&Tok::Colon) {
                return Err(self.missing_dict_colon());
            }
            self.bump();
            let value = self.parse_expr()?;
            height = height.max(key.height).max(value.height);
            entries.push((*key.expr, *value.expr));
            self.item_separator(&Tok::RBrace, open, '}')?;
        }
        let close = self.bump();
        self.leave();
        node(ExprKind::Dict(entries), open.to(close), height, open)
    }

    /// `func(positional..., name=value...)`
    fn parse_call(&mut self, func: Node) -> PResult<Node> {
        let open = self.bump();
        self.enter(open)?;
        let mut height = func.height;
        let mut args = Vec::new();
        let mut kwargs: Vec<Kwarg> = Vec::new();
        let mut seen = HashSet::new();
        while !self.at(&Tok::RParen) {
            if self.at(&Tok::Eof) {
                let comma_ok = !args.is_empty() || !kwargs.is_empty();
                return Err(self.unclosed(open, ')', comma_ok));
            }
            if let Some((name, name_span)) = self.keyword_argument_name(&mut seen)? {
                let value = self.parse_expr()?;
                height = height.max(value.height);
                kwargs.push(Kwarg {
                    name,
                    name_span,
                    value: *value.expr,
                });
            } else {
                let arg = self.parse_expr()?;
                if !kwargs.is_empty() {
                    return Err(error_at(arg.expr.span, POSITIONAL_AFTER_KEYWORD));
                }
                height = height.max(arg.height);
                args.push(*arg.expr);
            }
            if self.at(&Tok::Assign) {
                return Err(self.misplaced_assign(open));
            }
            self.item_separator(&Tok::RParen, open, ')')?;
        }
        let close = self.bump();
        self.leave();
        let span = func.expr.span.to(close);
        let kind = ExprKind::Call {
            func: func.expr,
            args,
            kwargs,
        };
        node(kind, span, height, open)
    }

    /// If a keyword argument `name=` starts here, consumes `name =` and returns the name.
    fn keyword_argument_name(
        &mut self,
        seen: &mut HashSet<String>,
    ) -> PResult<Option<(String, Span)>> {
        let name = match (&self.peek().tok, &self.peek_nth(1).tok) {
            (Tok::Ident(name), Tok::Assign) => name.clone(),
            _ => return Ok(None),
        };
        let name_span = self.peek().span;
        if is_keyword(&name) {
            return Err(error_at(
                name_span,
                format!("'{name}' is a keyword and cannot be used as an argument name"),
            ));
        }
        if !seen.insert(name.clone()) {
            return Err(error_at(
                name_span,
                format!(
                    "keyword argument {} given twice",
                    crate::quote::quote(&name)
                ),
            ));
        }
        self.bump();
        self.bump();
        Ok(Some((name, name_span)))
    }

    /// `value[item, ...]`
    fn parse_index(&mut self, value: Node) -> PResult<Node> {
        let open = self.bump();
        self.enter(open)?;
        if self.at(&Tok::RBracket) {
            return Err(self.expected("an index"));
        }
        let mut height = value.height;
        let mut items = Vec::new();
        while !self.at(&Tok::RBracket) {
            if self.at(&Tok::Eof) {
                return Err(self.unclosed(open, ']', !items.is_empty()));
            }
            let item_height = self.parse_index_item(&mut items)?;
            height = height.max(item_height);
            self.item_separator(&Tok::RBracket, open, ']')?;
        }
        let close = self.bump();
        self.leave();
        let span = value.expr.span.to(close);
        let kind = ExprKind::Index {
            value: value.expr,
            items,
        };
        node(kind, span, height, open)
    }

    /// One subscript item, appended to `items`: `...`, an expression, or
    /// `start:stop:step` with optional parts. Returns the item's height.
    fn parse_index_item(&mut self, items: &mut Vec<IndexItem>) -> PResult<usize> {
        let first = self.peek().span;
        if self.at(&Tok::Ellipsis) {
            items.push(IndexItem::Ellipsis(self.bump()));
            return Ok(0);
        }
        let mut start = None;
        if !self.at(&Tok::Colon) {
            if !can_start_operand(&self.peek().tok) {
                return Err(self.expected("an index"));
            }
            let lower = self.parse_expr()?;
            if !self.at(&Tok::Colon) {
                items.push(IndexItem::Expr(*lower.expr));
                return Ok(lower.height);
            }
            start = Some(lower);
        }
        self.bump();
        let stop = if self.slice_bound_follows() {
            Some(self.parse_expr()?)
        } else {
            None
        };
        let mut step = None;
        if self.at(&Tok::Colon) {
            self.bump();
            if self.slice_bound_follows() {
                step = Some(self.parse_expr()?);
            }
        }
        let span = Span {
            start: first.start,
            end: self.prev_end,
        };
        Ok(push_slice(items, [start, stop, step], span))
    }

    /// Whether an (optional) slice bound is present: not before `:`, `,`, `]` or the end.
    fn slice_bound_follows(&self) -> bool {
        !matches!(
            self.peek().tok,
            Tok::Colon | Tok::Comma | Tok::RBracket | Tok::Eof
        )
    }

    // ----- errors built outside the recursive functions -----

    /// A dictionary key not followed by ':'.
    fn missing_dict_colon(&self) -> Box<ParseError> {
        let mut err = self.expected("':' after dictionary key");
        if matches!(self.peek().tok, Tok::Comma | Tok::RBrace) {
            err.message.push_str(" (set literals are not supported)");
        }
        err
    }

    /// `f(a.b=1)`: an '=' after an argument that is not a plain name.
    fn misplaced_assign(&self, open: Span) -> Box<ParseError> {
        let mut err = self.unclosed(open, ')', true);
        err.message
            .push_str(" (a keyword argument name must be a plain name; use '==' to compare)");
        err
    }
}

const CHAINED: &str = "chained comparisons such as 'a < b < c' are not supported";
const POSITIONAL_AFTER_KEYWORD: &str = "positional argument after keyword argument";
const ELLIPSIS_OUTSIDE: &str =
    "expected an expression, found '...' ('...' is only allowed inside a subscript)";

/// An error with a fixed span.
fn error_at(span: Span, message: impl Into<String>) -> Box<ParseError> {
    Box::new(ParseError::new(span, message))
}

/// An integer literal above `i64::MAX`.
fn too_large(span: Span, text: &str) -> Box<ParseError> {
    error_at(
        span,
        format!(
            "integer literal {} is too large",
            crate::quote::shorten(text)
        ),
    )
}

/// A node one level above children of height `child_height`; `at` is where an error for
/// exceeding [`MAX_DEPTH`] points.
fn node(kind: ExprKind, span: Span, child_height: usize, at: Span) -> PResult<Node> {
    let height = child_height + 1;
    if height > MAX_DEPTH {
        return Err(error_at(at, TOO_DEEP));
    }
    Ok(Node {
        expr: Box::new(Expr { kind, span }),
        height,
    })
}

/// A parenthesised expression: the inner node with its span widened to the parentheses,
/// one level deeper.
fn parenthesised(mut inner: Node, span: Span, open: Span) -> PResult<Node> {
    inner.height += 1;
    if inner.height > MAX_DEPTH {
        return Err(error_at(open, TOO_DEEP));
    }
    inner.expr.span = span;
    Ok(inner)
}

/// Appends the slice `start:stop:step` to `items` and returns its height.
fn push_slice(items: &mut Vec<IndexItem>, parts: [Option<Node>; 3], span: Span) -> usize {
    let height = parts.iter().flatten().map(|n| n.height).max().unwrap_or(0);
    let [start, stop, step] = parts.map(|part| part.map(|n| *n.expr));
    items.push(IndexItem::Slice {
        start,
        stop,
        step,
        span,
    });
    height
}

/// The prefix operator of a token.
fn unary_of(tok: &Tok) -> Option<UnaryOp> {
    match tok {
        Tok::Minus => Some(UnaryOp::Neg),
        Tok::Plus => Some(UnaryOp::Pos),
        Tok::Tilde => Some(UnaryOp::Invert),
        _ => None,
    }
}

/// Wraps `operand` in the prefix operators (innermost last).
fn apply_prefixes(prefixes: Vec<(UnaryOp, Span)>, operand: Node) -> PResult<Node> {
    let mut acc = operand;
    for (op, op_span) in prefixes.into_iter().rev() {
        let span = op_span.to(acc.expr.span);
        let kind = ExprKind::Unary {
            op,
            operand: acc.expr,
        };
        acc = node(kind, span, acc.height, op_span)?;
    }
    Ok(acc)
}

/// Folds `b1 ** b2 ** ... ** last` from the right, applying each base's prefix operators
/// to the power it starts (`-a ** b` is `-(a ** b)`).
fn fold_power_chain(mut pending: PowerChain, last: Node) -> PResult<Node> {
    let mut acc = last;
    while let Some((prefixes, base, pow)) = pending.pop() {
        let span = base.expr.span.to(acc.expr.span);
        let height = base.height.max(acc.height);
        let kind = ExprKind::Binary {
            op: BinOp::Pow,
            lhs: base.expr,
            rhs: acc.expr,
        };
        acc = apply_prefixes(prefixes, node(kind, span, height, pow)?)?;
    }
    Ok(acc)
}

/// Whether a token can begin an operand.
fn can_start_operand(tok: &Tok) -> bool {
    matches!(
        tok,
        Tok::Int(_)
            | Tok::Float(_)
            | Tok::Str(_)
            | Tok::Ident(_)
            | Tok::LParen
            | Tok::LBracket
            | Tok::LBrace
            | Tok::Minus
            | Tok::Plus
            | Tok::Tilde
    )
}

/// Pops the top operator and its two operands and pushes the combined node: the left
/// operand's chain extended when it is a chain of the same precedence built in this loop
/// (`a + b` then `- c`), else a new chain of one link.
fn reduce(operands: &mut Vec<Operand>, ops: &mut Vec<PendingOp>) -> PResult<()> {
    let (Some(pending), Some(rhs), Some(lhs)) = (ops.pop(), operands.pop(), operands.pop()) else {
        return Err(error_at(
            Span::default(),
            "internal error: unbalanced operators",
        ));
    };
    let extends = lhs.built_at == Some(pending.prec) && pending.prec != CMP_PREC;
    let (mut lhs, rhs) = (lhs.node, rhs.node);
    let span = lhs.expr.span.to(rhs.expr.span);
    let link = ChainLink {
        op: pending.op,
        op_span: pending.span,
        rhs: *rhs.expr,
    };
    let node = match &mut lhs.expr.kind {
        ExprKind::Chain { rest, .. } if extends => {
            // The chain's own level is already counted in `lhs.height`.
            let height = lhs.height.max(rhs.height + 1);
            if height > MAX_DEPTH {
                return Err(error_at(pending.span, TOO_DEEP));
            }
            rest.push(link);
            lhs.expr.span = span;
            Node {
                expr: lhs.expr,
                height,
            }
        }
        _ => {
            let height = lhs.height.max(rhs.height);
            let kind = ExprKind::Chain {
                first: lhs.expr,
                rest: vec![link],
            };
            node(kind, span, height, pending.span)?
        }
    };
    operands.push(Operand {
        node,
        built_at: Some(pending.prec),
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compact S-expression form of a tree, for readable expectations.
    fn sx(e: &Expr) -> String {
        fn list(head: &str, parts: Vec<String>) -> String {
            let mut s = format!("({head}");
            for p in parts {
                s.push(' ');
                s.push_str(&p);
            }
            s.push(')');
            s
        }
        fn opt(e: &Option<Expr>) -> String {
            e.as_ref().map_or("_".to_string(), sx)
        }
        match &e.kind {
            ExprKind::Int(v) => v.to_string(),
            ExprKind::Float(f) => format!("{f:?}"),
            ExprKind::Bool(b) => if *b { "True" } else { "False" }.to_string(),
            ExprKind::NoneLit => "None".to_string(),
            ExprKind::Str(s) => format!("{s:?}"),
            ExprKind::Name(n) => n.clone(),
            ExprKind::Tuple(items) => list("tuple", items.iter().map(sx).collect()),
            ExprKind::List(items) => list("list", items.iter().map(sx).collect()),
            ExprKind::Dict(entries) => list(
                "dict",
                entries
                    .iter()
                    .map(|(k, v)| format!("({} {})", sx(k), sx(v)))
                    .collect(),
            ),
            ExprKind::Unary { op, operand } => {
                let head = match op {
                    UnaryOp::Neg => "neg",
                    UnaryOp::Pos => "pos",
                    UnaryOp::Invert => "inv",
                };
                list(head, vec![sx(operand)])
            }
            ExprKind::Binary { op, lhs, rhs } => list(op.symbol(), vec![sx(lhs), sx(rhs)]),
            // Shown as the left-deep tree it stands for: (+ (+ a b) c).
            ExprKind::Chain { first, rest } => rest.iter().fold(sx(first), |acc, link| {
                list(link.op.symbol(), vec![acc, sx(&link.rhs)])
            }),
            ExprKind::Call { func, args, kwargs } => {
                let mut parts = vec![sx(func)];
                parts.extend(args.iter().map(sx));
                parts.extend(
                    kwargs
                        .iter()
                        .map(|k| format!("{}={}", k.name, sx(&k.value))),
                );
                list("call", parts)
            }
            ExprKind::Attr { value, name, .. } => list(".", vec![sx(value), name.clone()]),
            ExprKind::Index { value, items } => {
                let mut parts = vec![sx(value)];
                parts.extend(items.iter().map(|item| match item {
                    IndexItem::Expr(e) => sx(e),
                    IndexItem::Ellipsis(_) => "...".to_string(),
                    IndexItem::Slice {
                        start, stop, step, ..
                    } => {
                        format!("(slice {} {} {})", opt(start), opt(stop), opt(step))
                    }
                }));
                list("index", parts)
            }
        }
    }

    fn ok(src: &str) -> Expr {
        match parse(src) {
            Ok(e) => e,
            Err(e) => panic!("{src:?} failed to parse:\n{}", e.render(src)),
        }
    }

    fn err(src: &str) -> ParseError {
        match parse(src) {
            Ok(e) => panic!("{src:?} parsed unexpectedly as {}", sx(&e)),
            Err(e) => e,
        }
    }

    fn check_table(cases: &[(&str, &str)]) {
        for (src, want) in cases {
            assert_eq!(sx(&ok(src)), *want, "source: {src:?}");
        }
    }

    #[test]
    fn precedence() {
        check_table(&[
            ("1 + 2 * 3", "(+ 1 (* 2 3))"),
            ("(1 + 2) * 3", "(* (+ 1 2) 3)"),
            ("a - b - c", "(- (- a b) c)"),
            ("a / b // c % d * e", "(* (% (// (/ a b) c) d) e)"),
            ("-2**2", "(neg (** 2 2))"),
            ("2**-1", "(** 2 (neg 1))"),
            ("2**3**2", "(** 2 (** 3 2))"),
            ("a**-b**c", "(** a (neg (** b c)))"),
            ("-a * b", "(* (neg a) b)"),
            ("--a", "(neg (neg a))"),
            ("~-+a", "(inv (neg (pos a)))"),
            ("-x.y[0]", "(neg (index (. x y) 0))"),
            ("a < b | c", "(< a (| b c))"),
            ("a | b ^ c & d", "(| a (^ b (& c d)))"),
            ("a & b ^ c | d", "(| (^ (& a b) c) d)"),
            ("a & b + c", "(& a (+ b c))"),
            ("(x > 0) & ~m", "(& (> x 0) (inv m))"),
            ("(x > 0) & (x < 5)", "(& (> x 0) (< x 5))"),
            ("a == b + 1", "(== a (+ b 1))"),
            ("a != b", "(!= a b)"),
            ("a <= b", "(<= a b)"),
            ("a >= b", "(>= a b)"),
            ("(a < b) < c", "(< (< a b) c)"),
            ("a < (b < c)", "(< a (< b c))"),
            ("x*2+1 > y/3-1", "(> (+ (* x 2) 1) (- (/ y 3) 1))"),
        ]);
    }

    #[test]
    fn literals() {
        check_table(&[
            ("0", "0"),
            ("00", "0"),
            ("42", "42"),
            ("1_000", "1000"),
            ("9223372036854775807", "9223372036854775807"),
            ("-9223372036854775808", "-9223372036854775808"),
            ("-5", "(neg 5)"),
            ("1.5", "1.5"),
            (".5", "0.5"),
            ("2.", "2.0"),
            ("1e3", "1000.0"),
            ("1.5E-3", "0.0015"),
            ("1.e2", "100.0"),
            ("1_0.2_5e+0_1", "102.5"),
            ("True", "True"),
            ("False", "False"),
            ("None", "None"),
            ("nan", "nan"),
            ("_x1", "_x1"),
            ("'abc'", "\"abc\""),
            ("\"it's\"", "\"it's\""),
            ("'say \"hi\"'", "\"say \\\"hi\\\"\""),
            (r#"'a\nb\tc\\d\'e\"f'"#, "\"a\\nb\\tc\\\\d'e\\\"f\""),
            ("'' \"\"", "\"\""),
            ("'a' 'b'  \"c\"", "\"abc\""),
            ("'héllo ✓'", "\"héllo ✓\""),
        ]);
    }

    #[test]
    fn containers() {
        check_table(&[
            ("()", "(tuple)"),
            ("(a)", "a"),
            ("((a))", "a"),
            ("(a,)", "(tuple a)"),
            ("(a, b)", "(tuple a b)"),
            ("(a, b,)", "(tuple a b)"),
            ("((a, b), (c,))", "(tuple (tuple a b) (tuple c))"),
            ("[]", "(list)"),
            ("[1]", "(list 1)"),
            ("[1, 2,]", "(list 1 2)"),
            ("[[1, 2], [3]]", "(list (list 1 2) (list 3))"),
            ("{}", "(dict)"),
            ("{'a': 1}", "(dict (\"a\" 1))"),
            (
                "{'a': 1, 'b': [2, 3],}",
                "(dict (\"a\" 1) (\"b\" (list 2 3)))",
            ),
            ("{x + 1: (y,)}", "(dict ((+ x 1) (tuple y)))"),
        ]);
    }

    #[test]
    fn calls_and_attributes() {
        check_table(&[
            ("f()", "(call f)"),
            ("f(a)", "(call f a)"),
            ("f(a,)", "(call f a)"),
            ("f(a, b, key=value)", "(call f a b key=value)"),
            ("f(key=1, other=2,)", "(call f key=1 other=2)"),
            ("f(x == 1)", "(call f (== x 1))"),
            (
                "x.sum(axis=0).mean()",
                "(call (. (call (. x sum) axis=0) mean))",
            ),
            ("a.b.c", "(. (. a b) c)"),
            ("f(a)(b)", "(call (call f a) b)"),
            (
                "zeros((3, 4), chunks=(2, 2), dtype='f8')",
                "(call zeros (tuple 3 4) chunks=(tuple 2 2) dtype=\"f8\")",
            ),
            (
                "np.where(x > 0, x, -x)",
                "(call (. np where) (> x 0) x (neg x))",
            ),
            ("'abc'.upper()", "(call (. \"abc\" upper))"),
            ("x.T", "(. x T)"),
        ]);
    }

    #[test]
    fn subscripts() {
        check_table(&[
            (
                "x[0, 1:-1, ::-1, ..., None]",
                "(index x 0 (slice 1 (neg 1) _) (slice _ _ (neg 1)) ... None)",
            ),
            ("x[:]", "(index x (slice _ _ _))"),
            ("x[::]", "(index x (slice _ _ _))"),
            ("x[::2]", "(index x (slice _ _ 2))"),
            ("x[1:]", "(index x (slice 1 _ _))"),
            ("x[:-1]", "(index x (slice _ (neg 1) _))"),
            ("x[a:b:c]", "(index x (slice a b c))"),
            ("x[a+1 : n//2]", "(index x (slice (+ a 1) (// n 2) _))"),
            ("x[0][1]", "(index (index x 0) 1)"),
            ("x[0,]", "(index x 0)"),
            ("x[...]", "(index x ...)"),
            ("x[(0, 1)]", "(index x (tuple 0 1))"),
            ("x[y[0]].shape", "(. (index x (index y 0)) shape)"),
            ("x[i] ** 2", "(** (index x i) 2)"),
        ]);
    }

    #[test]
    fn whitespace_is_insignificant() {
        assert_eq!(sx(&ok(" \t\n(a +\n\tb)\r\n * c \n")), "(* (+ a b) c)");
        assert_eq!(sx(&ok("f(\n  a,\n  k = 1,\n)")), "(call f a k=1)");
    }

    #[test]
    fn spans() {
        let src = "1 + 2 * 3";
        let e = ok(src);
        assert_eq!(e.span, Span { start: 0, end: 9 });
        let ExprKind::Chain { rest, .. } = &e.kind else {
            panic!("not a chain")
        };
        assert_eq!(rest[0].rhs.span, Span { start: 4, end: 9 });
        assert_eq!(rest[0].op_span, Span { start: 2, end: 3 });

        // Parentheses are part of the span, so the span's text is always balanced.
        let src = " (a + b) * c ";
        let e = ok(src);
        assert_eq!(&src[e.span.start..e.span.end], "(a + b) * c");
        let ExprKind::Chain { first, .. } = &e.kind else {
            panic!("not a chain")
        };
        assert_eq!(&src[first.span.start..first.span.end], "(a + b)");

        let src = "x.sum(axis=0)";
        let e = ok(src);
        assert_eq!(e.span, Span { start: 0, end: 13 });
        let ExprKind::Call { func, kwargs, .. } = &e.kind else {
            panic!("not a call")
        };
        assert_eq!(kwargs[0].name_span, Span { start: 6, end: 10 });
        assert_eq!(kwargs[0].value.span, Span { start: 11, end: 12 });
        let ExprKind::Attr { name_span, .. } = &func.kind else {
            panic!("not attr")
        };
        assert_eq!(*name_span, Span { start: 2, end: 5 });
        assert_eq!(func.span, Span { start: 0, end: 5 });

        let src = "x[1:-1, ...]";
        let ExprKind::Index { items, .. } = ok(src).kind else {
            panic!("not index")
        };
        let IndexItem::Slice { span, .. } = &items[0] else {
            panic!("not a slice")
        };
        assert_eq!(&src[span.start..span.end], "1:-1");
        assert_eq!(items[1], IndexItem::Ellipsis(Span { start: 8, end: 11 }));

        let src = "-é_unused"; // error, but a later check: spans of a unary
        assert!(parse(src).is_err());
        let src = "-'é' 'ü'";
        let e = ok(src);
        assert_eq!(
            e.span,
            Span {
                start: 0,
                end: src.len()
            }
        );
    }

    /// (source, message, 1-based character column of the error)
    const ERRORS: &[(&str, &str, usize)] = &[
        ("", "expected an expression, found end of input", 1),
        ("   ", "expected an expression, found end of input", 4),
        ("1 +", "expected an expression, found end of input", 4),
        ("1 + * 2", "expected an expression, found '*'", 5),
        ("(1 + 2", "expected ')' to close '(' opened at column 1, found end of input", 7),
        ("a * (b + c", "expected ')' to close '(' opened at column 5, found end of input", 11),
        ("(1 2)", "expected ')' to close '(' opened at column 1, found '2'", 4),
        ("(1, 2", "expected ')' to close '(' opened at column 1, found end of input", 6),
        ("(1, 2 3)", "expected ',' or ')' to close '(' opened at column 1, found '3'", 7),
        ("f(1, 2", "expected ')' to close '(' opened at column 2, found end of input", 7),
        ("f(", "expected ')' to close '(' opened at column 2, found end of input", 3),
        ("f(a b)", "expected ',' or ')' to close '(' opened at column 2, found 'b'", 5),
        ("[1, 2)", "expected ',' or ']' to close '[' opened at column 1, found ')'", 6),
        ("[1, 2", "expected ']' to close '[' opened at column 1, found end of input", 6),
        ("{1: 2", "expected '}' to close '{' opened at column 1, found end of input", 6),
        ("{1, 2}", "expected ':' after dictionary key, found ',' (set literals are not supported)", 3),
        ("x[1:2", "expected ']' to close '[' opened at column 2, found end of input", 6),
        ("1 + 2)", "unexpected ')' with no matching '('", 6),
        ("x]", "unexpected ']' with no matching '['", 2),
        ("1 x", "expected end of input, found 'x'", 3),
        ("f(x) 'a'", "expected end of input, found string literal 'a'", 6),
        ("a, b", "expected end of input, found ','; write a tuple in parentheses, e.g. (a, b)", 2),
        ("x = 1", "unexpected '=': assignment is not supported (did you mean '=='?)", 3),
        ("a $ b", "unexpected character '$'", 3),
        ("a ! b", "unexpected character '!' (use '~' for element-wise not, or '!=' for 'not equal')", 3),
        ("a @ b", "the matrix multiplication operator '@' is not supported", 3),
        ("a << 2", "the shift operator '<<' is not supported", 3),
        ("x # note", "unexpected character '#' (comments are not supported)", 3),
        ("'é' + $", "unexpected character '$'", 7),
        ("a − b", "unexpected character '−' (did you mean '-'?)", 3),
        ("‘a’", "unexpected character '‘' (use straight quotes ' or \")", 1),
        ("a\u{a0}+ b", "unexpected character '\\u{a0}' (non-ASCII whitespace)", 2),
        ("'abc", "unterminated string literal", 1),
        ("f('abc\n')", "unterminated string literal", 3),
        ("'ab\\", "unterminated string literal", 1),
        ("'a\\qb'", "invalid escape sequence '\\q' in string literal (supported: \\\\ \\' \\\" \\n \\t \\r \\0)", 3),
        ("f'x'", "string prefix 'f' is not supported; use a plain '...' string", 1),
        ("a < b < c", "chained comparisons such as 'a < b < c' are not supported", 7),
        ("a < b + 1 == c", "chained comparisons such as 'a < b < c' are not supported", 11),
        ("1e", "invalid number '1e'", 1),
        ("1e+", "invalid number '1e+'", 1),
        ("1__0", "invalid number '1__0'", 1),
        ("1_", "invalid number '1_'", 1),
        ("x + 3px", "invalid number '3px'", 5),
        ("0x1f", "invalid number '0x1f' (only decimal numbers are supported)", 1),
        ("1.5j", "invalid number '1.5j' (complex numbers are not supported)", 1),
        ("007", "invalid number '007': leading zeros are not allowed in integers", 1),
        ("99999999999999999999", "integer literal 99999999999999999999 is too large", 1),
        ("9223372036854775808", "integer literal 9223372036854775808 is too large", 1),
        ("-9223372036854775808**2", "integer literal 9223372036854775808 is too large", 2),
        ("f(chunks=1, chunks=2)", "keyword argument 'chunks' given twice", 13),
        ("f(a=1, b)", "positional argument after keyword argument", 8),
        ("f(a=1, b + c)", "positional argument after keyword argument", 8),
        ("f(a.b=1)", "expected ',' or ')' to close '(' opened at column 2, found '=' (a keyword argument name must be a plain name; use '==' to compare)", 6),
        ("f(None=1)", "'None' is a keyword and cannot be used as an argument name", 3),
        ("x[]", "expected an index, found ']'", 3),
        ("x[,]", "expected an index, found ','", 3),
        ("x[1,,]", "expected an index, found ','", 5),
        ("x[1:2:3:4]", "expected ',' or ']' to close '[' opened at column 2, found ':'", 8),
        ("x.", "expected an attribute name after '.', found end of input", 3),
        ("x.for", "expected an attribute name after '.', found keyword 'for'", 3),
        ("x.(1)", "expected an attribute name after '.', found '('", 3),
        ("...", "expected an expression, found '...' ('...' is only allowed inside a subscript)", 1),
        ("f(*args)", "expected an expression, found '*'", 3),
        ("a and b", "'and' is not supported; use '&' for element-wise and, with parentheses around comparisons: (a > 0) & (b < 5)", 3),
        ("a > 0 or b", "'or' is not supported; use '|' for element-wise or, with parentheses around comparisons: (a > 0) | (b < 5)", 7),
        ("not a", "'not' is not supported; use '~' for element-wise logical not, e.g. ~(x > 0)", 1),
        ("a not in b", "the 'in' and 'not in' operators are not supported", 3),
        ("a is None", "the 'is' and 'is not' operators are not supported; use '==' or '!='", 3),
        ("a if c else b", "conditional expressions ('a if cond else b') are not supported", 3),
        ("[x for x in y]", "comprehensions are not supported", 4),
        ("lambda x: x", "lambda expressions are not supported", 1),
        ("f(def)", "expected an expression, found keyword 'def'", 3),
        ("1 if", "conditional expressions ('a if cond else b') are not supported", 3),
        ("x + return", "expected an expression, found keyword 'return'", 5),
        ("x[1:*]", "expected an expression, found '*'", 5),
        // the first problem in source order wins over a later bad character
        ("1 + * $", "expected an expression, found '*'", 5),
        ("(1 + 2 $", "unexpected character '$'", 8),
    ];

    #[test]
    fn error_messages_and_columns() {
        for &(src, message, col) in ERRORS {
            let e = err(src);
            assert_eq!(e.message, message, "source: {src:?}");
            assert_eq!(column(src, e.span.start), col, "column for {src:?}: {e:?}");
        }
    }

    #[test]
    fn error_spans() {
        // End of input is an empty span at src.len().
        let src = "f(1, ";
        assert_eq!(err(src).span, Span { start: 5, end: 5 });
        // The offending token is underlined entirely.
        let src = "a < b <= c";
        assert_eq!(err(src).span, Span { start: 6, end: 8 });
        let src = "f(a=1, b + c)";
        assert_eq!(err(src).span, Span { start: 7, end: 12 });
        let src = "x + 'unterminated";
        assert_eq!(
            err(src).span,
            Span {
                start: 4,
                end: src.len()
            }
        );
        let src = "1 + é";
        assert_eq!(err(src).span, Span { start: 4, end: 6 });
    }

    #[test]
    fn render_and_display() {
        let src = "a * (b + c";
        let e = err(src);
        assert_eq!(
            e.render(src),
            "error at column 11: expected ')' to close '(' opened at column 5, found end of input\n  \
             a * (b + c\n            ^"
        );
        assert_eq!(
            e.to_string(),
            "at column 11: expected ')' to close '(' opened at column 5, found end of input"
        );

        let src = "a < b <= c";
        assert_eq!(
            err(src).render(src),
            "error at column 7: chained comparisons such as 'a < b < c' are not supported\n  \
             a < b <= c\n        ^^"
        );

        // Columns in render count characters, not bytes; tabs and newlines become spaces.
        let src = "'日本'\t+\n$";
        assert_eq!(
            err(src).render(src),
            "error at column 8: unexpected character '$'\n  '日本' + $\n         ^"
        );

        // A long source is shown as a window around the error.
        let src = format!("{} + * {}", "a + ".repeat(60), "b + ".repeat(60));
        let r = err(&src).render(&src);
        let lines: Vec<&str> = r.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("error at column 244: expected an expression, found '*'"));
        assert!(lines[1].starts_with("  ...") && lines[1].ends_with("..."));
        let caret = lines[2].find('^').unwrap();
        assert_eq!(lines[1].chars().nth(caret), Some('*'));

        // Rendering never panics, even for spans that do not fit the source.
        let odd = ParseError {
            span: Span { start: 7, end: 3 },
            message: "m".into(),
        };
        assert_eq!(odd.render("ab"), "error at column 3: m\n  ab\n    ^");
        let odd = ParseError {
            span: Span {
                start: 1,
                end: usize::MAX,
            },
            message: "m".into(),
        };
        assert_eq!(odd.render("é"), "error at column 1: m\n  é\n  ^");
        assert_eq!(odd.render(""), "error at column 1: m\n  \n  ^");
        let huge = ParseError {
            span: Span {
                start: usize::MAX,
                end: usize::MAX,
            },
            message: "m".into(),
        };
        assert!(huge.to_string().contains(&usize::MAX.to_string()));
    }

    fn nested(open: &str, inner: &str, close: &str, n: usize) -> String {
        format!("{}{inner}{}", open.repeat(n), close.repeat(n))
    }

    #[test]
    fn nesting_limit() {
        let deep_ok = [
            nested("(", "x", ")", MAX_DEPTH),
            nested("[", "x", "]", MAX_DEPTH),
            nested("f(", "x", ")", MAX_DEPTH),
            nested("{1: ", "x", "}", MAX_DEPTH),
            nested("x[", "0", "]", MAX_DEPTH),
            nested("x[::", "0", "]", MAX_DEPTH),
            nested("f(a=", "x", ")", MAX_DEPTH),
            nested("-", "x", "", MAX_DEPTH),
            nested("2**", "x", "", MAX_DEPTH),
            format!("x{}", ".a".repeat(MAX_DEPTH)),
            format!("x{}", " + 1".repeat(MAX_DEPTH)),
            nested("(a < b | c ^ d & e + f * -g ** ", "x", ")", 20),
        ];
        // The deepest accepted inputs need well under 1 MiB of stack even in debug builds.
        let handle = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(move || {
                for src in &deep_ok {
                    if let Err(e) = parse(src) {
                        panic!("{}...: {e}", &src[..40]);
                    }
                }
            })
            .unwrap();
        handle.join().unwrap();

        // The error points at the first bracket or operator beyond the limit.
        let src = nested("(", "x", ")", MAX_DEPTH + 1);
        assert_eq!(column(&src, err(&src).span.start), MAX_DEPTH + 1);
        let src = nested("-", "x", "", MAX_DEPTH + 1);
        assert_eq!(column(&src, err(&src).span.start), 1);

        let too_deep = [
            nested("(", "x", ")", MAX_DEPTH + 1),
            nested("[", "x", "]", MAX_DEPTH + 1),
            nested("f(", "x", ")", MAX_DEPTH + 1),
            nested("-", "x", "", MAX_DEPTH + 1),
            nested("2**", "x", "", MAX_DEPTH + 1),
            format!("x{}", ".a".repeat(MAX_DEPTH + 1)),
            format!("x{}", "(0)".repeat(MAX_DEPTH + 1)),
            nested("(", "x", ")", 100_000),
            nested("[", "", "", 100_000),
            nested("-", "x", "", 100_000),
            nested("2**", "x", "", 100_000),
            "x.a".repeat(100_000),
            // Real nesting inside a flat chain still counts.
            format!("1{}", " + (1".repeat(MAX_DEPTH + 1)),
            nested("((", "x + 1 + 1", "))", 120),
        ];
        let handle = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(move || {
                for src in &too_deep {
                    let e = parse(src).unwrap_err();
                    assert_eq!(e.message, TOO_DEEP, "{}...", &src[..40]);
                }
            })
            .unwrap();
        handle.join().unwrap();
    }

    /// Issue #13 item 10: a flat sum of 250 terms failed with "nested too deeply". Runs of
    /// one precedence level are one flat node whatever their length; parsing, walking
    /// and dropping them needs little stack.
    #[test]
    fn flat_operator_chains_of_any_length_parse() {
        let n = 100_000;
        let cases = [
            format!("x{}", " + 1".repeat(n)),
            format!("1{}", "-1".repeat(n)),
            format!("x{}", " * y / 2 // 3 % 4".repeat(n / 4)),
            format!("a{}", " & b | c ^ d".repeat(n / 3)),
            format!("a * b{}", " + c * d - e / f".repeat(n / 2)),
            format!("(x{})", " + (y * -z ** 2)".repeat(n / 2)),
            format!("x < 1{}", " + 1".repeat(n)),
        ];
        let handle = std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(move || {
                for src in &cases {
                    let e = match parse(src) {
                        Ok(e) => e,
                        Err(e) => panic!("{}...: {e}", &src[..40]),
                    };
                    assert!(e.names().len() <= 5 * n, "{}...", &src[..40]);
                    assert_eq!(e.span.end, src.len());
                }
            })
            .unwrap();
        handle.join().unwrap();
        // The chain keeps left associativity and precedence.
        check_table(&[
            ("a - b - c + d", "(+ (- (- a b) c) d)"),
            ("a * b + c * d - e", "(- (+ (* a b) (* c d)) e)"),
            ("(a + b) + c", "(+ (+ a b) c)"),
            ("a + (b + c)", "(+ a (+ b c))"),
        ]);
        // One chain node for a run; brackets start a new one.
        match &ok("a + b - c").kind {
            ExprKind::Chain { first, rest } => {
                assert_eq!(sx(first), "a");
                assert_eq!(rest.len(), 2);
            }
            other => panic!("{other:?}"),
        }
        match &ok("(a + b) + c").kind {
            ExprKind::Chain { first, rest } => {
                assert_eq!(sx(first), "(+ a b)");
                assert_eq!(first.span, Span { start: 0, end: 7 });
                assert_eq!(rest.len(), 1);
            }
            other => panic!("{other:?}"),
        }
    }

    /// Deterministic xorshift generator, so failures are reproducible.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Every span in a tree lies inside the source on character boundaries, and
    /// children lie inside their parents.
    fn check_spans(src: &str, e: &Expr, outer: Span) {
        let s = e.span;
        assert!(s.start <= s.end && s.end <= src.len(), "{src:?}: {s:?}");
        assert!(
            src.is_char_boundary(s.start) && src.is_char_boundary(s.end),
            "{src:?}: {s:?}"
        );
        assert!(
            outer.start <= s.start && s.end <= outer.end,
            "{src:?}: {s:?} outside {outer:?}"
        );
        let mut children: Vec<&Expr> = Vec::new();
        match &e.kind {
            ExprKind::Tuple(v) | ExprKind::List(v) => children.extend(v),
            ExprKind::Dict(kv) => kv.iter().for_each(|(k, v)| children.extend([k, v])),
            ExprKind::Unary { operand, .. } => children.push(operand),
            ExprKind::Binary { lhs, rhs, .. } => children.extend([&**lhs, &**rhs]),
            ExprKind::Chain { first, rest } => {
                children.push(first);
                children.extend(rest.iter().map(|link| &link.rhs));
            }
            ExprKind::Call { func, args, kwargs } => {
                children.push(func);
                children.extend(args);
                children.extend(kwargs.iter().map(|k| &k.value));
            }
            ExprKind::Attr { value, .. } => children.push(value),
            ExprKind::Index { value, items } => {
                children.push(value);
                for item in items {
                    match item {
                        IndexItem::Expr(e) => children.push(e),
                        IndexItem::Slice {
                            start, stop, step, ..
                        } => children.extend([start, stop, step].into_iter().flatten()),
                        IndexItem::Ellipsis(_) => {}
                    }
                }
            }
            _ => {}
        }
        for child in children {
            check_spans(src, child, s);
        }
    }

    fn check_no_panic(src: &str) {
        match parse(src) {
            Ok(e) => {
                let trimmed = src.trim_matches([' ', '\t', '\n', '\r', '\x0c']);
                let start = trimmed.as_ptr() as usize - src.as_ptr() as usize;
                assert_eq!(
                    e.span,
                    Span {
                        start,
                        end: start + trimmed.len()
                    },
                    "{src:?}"
                );
                check_spans(src, &e, e.span);
            }
            Err(e) => {
                let s = e.span;
                assert!(s.start <= s.end && s.end <= src.len(), "{src:?}: {e:?}");
                assert!(
                    src.is_char_boundary(s.start) && src.is_char_boundary(s.end),
                    "{src:?}"
                );
                assert!(!e.message.is_empty());
                let _ = e.render(src);
                let _ = e.to_string();
            }
        }
    }

    const FRAGMENTS: &[&str] = &[
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        ",",
        ":",
        ".",
        "...",
        "..",
        "+",
        "-",
        "*",
        "**",
        "/",
        "//",
        "%",
        "~",
        "&",
        "|",
        "^",
        "==",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
        "=",
        "!",
        "<<",
        "@",
        "#",
        "$",
        "?",
        "\\",
        "x",
        "foo",
        "_",
        "sum",
        "a1",
        "1",
        "0",
        "01",
        "1.5",
        ".5",
        "2.",
        "1e",
        "1e-3",
        "1_0",
        "1__",
        "0x1",
        "1j",
        "99999999999999999999",
        "9223372036854775808",
        "'s'",
        "\"t\"",
        "'",
        "\"",
        "'\\n'",
        "'\\",
        "'\\q'",
        "f'",
        "é",
        "€",
        "日本",
        "😀",
        "\u{0}",
        "\u{a0}",
        "\u{200b}",
        "\u{301}",
        "‘",
        "−",
        " ",
        "\n",
        "\t",
        "\r",
        "True",
        "None",
        "not",
        "and",
        "or",
        "in",
        "is",
        "if",
        "else",
        "for",
        "lambda",
        "def",
        "f(",
        "a=",
        "x[",
        "::",
        "::-1",
        ",)",
        "])",
    ];

    #[test]
    fn garbage_never_panics() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..20_000 {
            let mut src = String::new();
            for _ in 0..rng.below(16) {
                if rng.below(8) == 0 {
                    // An arbitrary character, including invalid-as-token ones.
                    let c = char::from_u32(rng.next() as u32 % 0x11_0000).unwrap_or('\u{fffd}');
                    src.push(c);
                } else {
                    src.push_str(FRAGMENTS[rng.below(FRAGMENTS.len())]);
                }
                if rng.below(3) == 0 {
                    src.push(' ');
                }
            }
            check_no_panic(&src);
        }
    }

    #[test]
    fn mutated_valid_inputs_never_panic() {
        let seeds = [
            "x.sum(axis=0).mean() + 1",
            "x[0, 1:-1, ::-1, ..., None] * 2.5e-3",
            "where((x > 0) & ~m, {'a': [1, 2, (3,)]}, -2**-1)",
            "f(a, b, key='v\\n', other=(1, 2,),)",
            "zeros((3, 4), chunks=(2, 2), dtype=\"f8\") // 7 % 3",
        ];
        let mut rng = Rng(12345);
        for seed in seeds {
            check_no_panic(seed);
            for _ in 0..4_000 {
                let mut chars: Vec<char> = seed.chars().collect();
                for _ in 0..1 + rng.below(4) {
                    let at = rng.below(chars.len() + 1);
                    match rng.below(3) {
                        0 if at < chars.len() => {
                            chars.remove(at);
                        }
                        1 => {
                            let f = FRAGMENTS[rng.below(FRAGMENTS.len())];
                            for (k, c) in f.chars().enumerate() {
                                chars.insert(at + k, c);
                            }
                        }
                        _ => {
                            let donor: Vec<char> = seed.chars().collect();
                            chars.insert(at, donor[rng.below(donor.len())]);
                        }
                    }
                }
                let src: String = chars.into_iter().collect();
                check_no_panic(&src);
            }
        }
    }
}
