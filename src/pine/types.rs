//! Pine's type system as pinewire checks it: a base type and a qualifier
//! (`const < input < simple < series`), with the implicit conversions Pine allows
//! (`int` widens to `float`, `na` fits any type).

use std::fmt;

use super::ast::{BaseType, Qualifier};

/// Base types of values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// 64-bit integer (held exactly in an `f64` slot up to 2^53).
    Int,
    /// Double-precision float.
    Float,
    /// Boolean (`na` reads as false in conditions).
    Bool,
    /// String (an interned id in the slot).
    Str,
    /// Color (0xRRGGBBAA in the slot).
    Color,
    /// The literal `na` before it meets a concrete type.
    Na,
    /// No value (calls made for their effect).
    Void,
    /// A tuple returned by `ta.bb`, `ta.macd` or a user function: its length, and the
    /// kind of each element in 2 bits (element `i` at bits `2i..2i+2`: 0 float, 1 int,
    /// 2 bool), for up to 16 elements.
    Tuple(u8, u32),
}

impl Ty {
    /// Whether arithmetic applies.
    pub fn is_numeric(self) -> bool {
        matches!(self, Ty::Int | Ty::Float | Ty::Na)
    }

    /// The type a value of `self` and one of `other` can both be held in, if any
    /// (`int` with `float` gives `float`; `na` takes the other's type).
    pub fn unify(self, other: Ty) -> Option<Ty> {
        match (self, other) {
            (a, b) if a == b => Some(a),
            (Ty::Na, b) => Some(b),
            (a, Ty::Na) => Some(a),
            (Ty::Int, Ty::Float) | (Ty::Float, Ty::Int) => Some(Ty::Float),
            _ => None,
        }
    }

    /// Whether a value of `self` may be used where `target` is expected.
    pub fn fits(self, target: Ty) -> bool {
        self == target || self == Ty::Na || (self == Ty::Int && target == Ty::Float)
    }

    /// The type of element `i` of a tuple whose element kinds are `kinds`.
    pub fn tuple_element(kinds: u32, i: usize) -> Ty {
        match (kinds >> (2 * i)) & 3 {
            1 => Ty::Int,
            2 => Ty::Bool,
            _ => Ty::Float,
        }
    }

    /// The 2-bit kind of a tuple element of type `self` (see [`Ty::Tuple`]).
    pub fn tuple_kind(self) -> u32 {
        match self {
            Ty::Int => 1,
            Ty::Bool => 2,
            _ => 0,
        }
    }

    /// From an annotation.
    pub fn from_base(b: BaseType) -> Ty {
        match b {
            BaseType::Int => Ty::Int,
            BaseType::Float => Ty::Float,
            BaseType::Bool => Ty::Bool,
            BaseType::String => Ty::Str,
            BaseType::Color => Ty::Color,
        }
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Int => f.write_str("int"),
            Ty::Float => f.write_str("float"),
            Ty::Bool => f.write_str("bool"),
            Ty::Str => f.write_str("string"),
            Ty::Color => f.write_str("color"),
            Ty::Na => f.write_str("na"),
            Ty::Void => f.write_str("void"),
            Ty::Tuple(n, _) => write!(f, "tuple of {n}"),
        }
    }
}

/// When a value is known: at compile time, at input time, once per run, or per bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Qual {
    /// A literal or an expression of literals.
    Const,
    /// An `input.*()` value: fixed for the run, settable with `--set`.
    Input,
    /// Fixed for the run (from inputs and constants).
    Simple,
    /// May change on every bar.
    Series,
}

impl Qual {
    /// From an annotation.
    pub fn from_ast(q: Qualifier) -> Qual {
        match q {
            Qualifier::Const => Qual::Const,
            Qualifier::Input => Qual::Input,
            Qualifier::Simple => Qual::Simple,
            Qualifier::Series => Qual::Series,
        }
    }
}

impl fmt::Display for Qual {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Qual::Const => "const",
            Qual::Input => "input",
            Qual::Simple => "simple",
            Qual::Series => "series",
        })
    }
}

/// A checked type: qualifier and base type (`series float`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Type {
    /// Qualifier.
    pub q: Qual,
    /// Base type.
    pub ty: Ty,
}

impl Type {
    /// A type from its parts.
    pub const fn new(q: Qual, ty: Ty) -> Type {
        Type { q, ty }
    }

    /// `series <ty>`.
    pub const fn series(ty: Ty) -> Type {
        Type::new(Qual::Series, ty)
    }

    /// `const <ty>`.
    pub const fn konst(ty: Ty) -> Type {
        Type::new(Qual::Const, ty)
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.q, self.ty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unify_table() {
        let cases = [
            // TC0: same type
            (Ty::Int, Ty::Int, Some(Ty::Int)),
            // TC1: int widens to float
            (Ty::Int, Ty::Float, Some(Ty::Float)),
            // TC2: na takes the other side
            (Ty::Na, Ty::Bool, Some(Ty::Bool)),
            // TC3: string and float do not mix
            (Ty::Str, Ty::Float, None),
            // TC4: bool and int do not mix
            (Ty::Bool, Ty::Int, None),
        ];
        for (i, (a, b, want)) in cases.into_iter().enumerate() {
            assert_eq!(a.unify(b), want, "TC{i}");
            assert_eq!(b.unify(a), want, "TC{i} (swapped)");
        }
        assert!(Ty::Int.fits(Ty::Float));
        assert!(!Ty::Float.fits(Ty::Int));
        assert!(Qual::Const < Qual::Series);
    }
}
