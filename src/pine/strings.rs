//! Interned strings. Pine values live in `f64` slots in the VM, so a string value is
//! the index of an interned string; order ids and alert messages travel as [`StrId`]s
//! and are resolved to text only where text is needed (reports, alerts).

use std::collections::HashMap;

/// Index of an interned string in a [`StringTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StrId(pub u32);

/// Interning table: each distinct string is stored once.
#[derive(Debug, Clone, Default)]
pub struct StringTable {
    strings: Vec<Box<str>>,
    index: HashMap<Box<str>, u32>,
}

impl StringTable {
    /// An empty table.
    pub fn new() -> StringTable {
        StringTable::default()
    }

    /// The id of `s`, adding it if new.
    pub fn intern(&mut self, s: &str) -> StrId {
        if let Some(&i) = self.index.get(s) {
            return StrId(i);
        }
        let i = self.strings.len() as u32;
        self.strings.push(s.into());
        self.index.insert(s.into(), i);
        StrId(i)
    }

    /// The id of `s` if it is interned.
    pub fn find(&self, s: &str) -> Option<StrId> {
        self.index.get(s).map(|&i| StrId(i))
    }

    /// The text of an id; an id from another table reads as the empty string.
    pub fn get(&self, id: StrId) -> &str {
        self.strings.get(id.0 as usize).map_or("", |s| s)
    }

    /// Number of strings.
    pub fn len(&self) -> usize {
        self.strings.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.strings.is_empty()
    }
}
