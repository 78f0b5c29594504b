//! What a file says about its variables, independent of the library that read it: the
//! input to CF decoding, default chunking and `tessera info`.

use super::attr::AttrValue;
use super::format::Format;
use crate::array::dtype::DType;
use serde::{Deserialize, Serialize};

/// One variable (NetCDF) or dataset (HDF5).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VarInfo {
    /// Name as the user spells it (`air`, `/group/dataset`).
    pub name: String,
    /// Dimension names (HDF5 datasets without dimension scales: `dim_0`, `dim_1`, ...).
    pub dims: Vec<String>,
    /// Shape.
    pub shape: Vec<usize>,
    /// Element type, or `None` when Tessera cannot hold it (strings, compounds, ...).
    pub dtype: Option<DType>,
    /// The stored type as the library names it.
    pub type_name: String,
    /// On-disk chunk shape; `None` for contiguous storage.
    pub chunking: Option<Vec<usize>>,
    /// Filters, e.g. `["shuffle", "deflate(4)"]`.
    pub filters: Vec<String>,
    /// Attributes in file order.
    pub attrs: Vec<(String, AttrValue)>,
}

/// A dimension of a NetCDF file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DimInfo {
    /// Name.
    pub name: String,
    /// Current length.
    pub len: usize,
    /// Unlimited (record) dimension.
    pub unlimited: bool,
}

/// A whole file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileInfo {
    /// Path as given.
    pub path: String,
    /// Format.
    pub format: Format,
    /// Dimensions (empty for plain HDF5).
    pub dims: Vec<DimInfo>,
    /// Variables / datasets.
    pub vars: Vec<VarInfo>,
    /// Global attributes.
    pub attrs: Vec<(String, AttrValue)>,
}

impl VarInfo {
    /// Attribute lookup.
    pub fn attr(&self, name: &str) -> Option<&AttrValue> {
        super::attr::find(&self.attrs, name)
    }
}
