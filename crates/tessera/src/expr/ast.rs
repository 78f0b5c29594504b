//! Syntax tree of the expression language.
//!
//! The language is a small subset of Python expression syntax, so that numpy/dask users
//! can write what they already know: literals, names, calls with keyword arguments,
//! attribute access, subscripts with slices, tuples, lists and dicts, and Python's
//! operator precedence. Every node carries the byte span it came from so that later
//! stages (type checking, shape checking) can point at the offending part of the text.

/// Byte offsets `[start, end)` into the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    /// First byte of the construct.
    pub start: usize,
    /// One past the last byte of the construct.
    pub end: usize,
}

impl Span {
    /// A span covering both `self` and `other`.
    pub fn to(self, other: Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

/// An expression with its source span.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// What the expression is.
    pub kind: ExprKind,
    /// Where it is in the source.
    pub span: Span,
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-x`
    Neg,
    /// `+x`
    Pos,
    /// `~x` (bitwise / logical not)
    Invert,
}

pub use crate::array::binop::BinOp;

/// One keyword argument `name=value` of a call.
#[derive(Debug, Clone, PartialEq)]
pub struct Kwarg {
    /// The keyword.
    pub name: String,
    /// Span of the keyword itself (for "unknown keyword" errors).
    pub name_span: Span,
    /// The value.
    pub value: Expr,
}

/// One `op rhs` step of an [`ExprKind::Chain`].
#[derive(Debug, Clone, PartialEq)]
pub struct ChainLink {
    /// The operator.
    pub op: BinOp,
    /// Span of the operator token.
    pub op_span: Span,
    /// Its right operand.
    pub rhs: Expr,
}

/// One item inside `x[...]`.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexItem {
    /// A plain expression: an integer index, or `None` for a new axis.
    Expr(Expr),
    /// `start:stop:step`, each part optional.
    Slice {
        /// Lower bound.
        start: Option<Expr>,
        /// Upper bound.
        stop: Option<Expr>,
        /// Step.
        step: Option<Expr>,
        /// Span of the whole slice item.
        span: Span,
    },
    /// `...`
    Ellipsis(Span),
}

/// The kinds of expression.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// Integer literal such as `42` (also hex `0x2a` is not supported; decimal only).
    Int(i64),
    /// Float literal such as `1.5`, `1e-3`, `.5`, `2.`.
    Float(f64),
    /// `True` / `False`.
    Bool(bool),
    /// `None`.
    NoneLit,
    /// String literal in single or double quotes (with `\\`, `\'`, `\"`, `\n` escapes).
    Str(String),
    /// An identifier: a bound array, a function name, or a constant such as `nan`, `pi`.
    Name(String),
    /// `(a, b)`, `(a,)` or `()`. A parenthesised single expression without comma is not a tuple.
    Tuple(Vec<Expr>),
    /// `[a, b]`.
    List(Vec<Expr>),
    /// `{k: v, ...}`.
    Dict(Vec<(Expr, Expr)>),
    /// A unary operation.
    Unary {
        /// The operator.
        op: UnaryOp,
        /// Its operand.
        operand: Box<Expr>,
    },
    /// `lhs ** rhs`. Only `**` is a nested binary node: it groups from the right, so a
    /// chain of powers is real nesting, limited like brackets.
    Binary {
        /// The operator (always [`BinOp::Pow`] from the parser).
        op: BinOp,
        /// Left operand.
        lhs: Box<Expr>,
        /// Right operand.
        rhs: Box<Expr>,
    },
    /// A run of left-associative binary operators of one precedence level, such as
    /// `a + b - c` (evaluated as `(a + b) - c`) or a single `a < b`. Kept flat rather than
    /// as a left-deep tree so that a sum of any number of terms is walked by a loop: only
    /// real nesting makes trees deep.
    Chain {
        /// The leftmost operand.
        first: Box<Expr>,
        /// The operators and their right operands, left to right (at least one).
        rest: Vec<ChainLink>,
    },
    /// `func(args..., kw=value...)`; `func` is any expression (a name or an attribute).
    Call {
        /// The callee.
        func: Box<Expr>,
        /// Positional arguments.
        args: Vec<Expr>,
        /// Keyword arguments, in source order.
        kwargs: Vec<Kwarg>,
    },
    /// `value.name`.
    Attr {
        /// The object.
        value: Box<Expr>,
        /// The attribute name.
        name: String,
        /// Span of the attribute name.
        name_span: Span,
    },
    /// `value[items]`.
    Index {
        /// The indexed object.
        value: Box<Expr>,
        /// The items between the brackets, separated by commas.
        items: Vec<IndexItem>,
    },
}

impl Expr {
    /// Every identifier the expression reads, with its span, in source order (function
    /// names and constants included; attribute and keyword names are not identifiers).
    pub fn names(&self) -> Vec<(String, Span)> {
        let mut out = Vec::new();
        self.collect_names(&mut out);
        out
    }

    fn collect_names(&self, out: &mut Vec<(String, Span)>) {
        match &self.kind {
            ExprKind::Name(n) => out.push((n.clone(), self.span)),
            ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::Bool(_)
            | ExprKind::NoneLit
            | ExprKind::Str(_) => {}
            ExprKind::Tuple(items) | ExprKind::List(items) => {
                items.iter().for_each(|e| e.collect_names(out))
            }
            ExprKind::Dict(pairs) => pairs.iter().for_each(|(k, v)| {
                k.collect_names(out);
                v.collect_names(out);
            }),
            ExprKind::Unary { operand, .. } => operand.collect_names(out),
            ExprKind::Binary { lhs, rhs, .. } => {
                lhs.collect_names(out);
                rhs.collect_names(out);
            }
            ExprKind::Chain { first, rest } => {
                first.collect_names(out);
                rest.iter().for_each(|link| link.rhs.collect_names(out));
            }
            ExprKind::Call { func, args, kwargs } => {
                func.collect_names(out);
                args.iter().for_each(|e| e.collect_names(out));
                kwargs.iter().for_each(|k| k.value.collect_names(out));
            }
            ExprKind::Attr { value, .. } => value.collect_names(out),
            ExprKind::Index { value, items } => {
                value.collect_names(out);
                for it in items {
                    match it {
                        IndexItem::Expr(e) => e.collect_names(out),
                        IndexItem::Slice {
                            start, stop, step, ..
                        } => [start, stop, step]
                            .into_iter()
                            .flatten()
                            .for_each(|e| e.collect_names(out)),
                        IndexItem::Ellipsis(_) => {}
                    }
                }
            }
        }
    }
}
