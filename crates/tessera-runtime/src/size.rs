//! Byte sizes as users type them (`512M`, `4G`), for memory limits and chunk targets.

/// `4096`, `512K`, `512M`, `4G` (binary multiples).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m = match c.to_ascii_uppercase() {
                'K' => 1u64 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return Err(format!("unknown size suffix in '{s}' (use K, M, G or T)")),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a size such as 512M or 4G"))?;
    if n.is_nan() || n <= 0.0 {
        return Err(format!("size must be positive, got '{s}'"));
    }
    Ok((n * mult as f64) as u64)
}
