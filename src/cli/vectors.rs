//! Number vectors from the command line (`1,2,3`) or a CSV file (one per line).

use std::path::Path;

use anyhow::{Context, bail};

/// `"0.1, -0.2,3"` → `[0.1, -0.2, 3.0]`; rejects empty fields and non-finite values.
pub fn parse_vector(text: &str) -> anyhow::Result<Vec<f64>> {
    text.split(',')
        .map(|field| {
            let field = field.trim();
            let v: f64 = field.parse().with_context(|| format!("'{field}' is not a number"))?;
            if !v.is_finite() {
                bail!("'{field}' is not a finite number");
            }
            Ok(v)
        })
        .collect()
}

/// Every non-empty line of a CSV file without header, each of `len` numbers.
pub fn read_vectors(path: &Path, len: usize, what: &str) -> anyhow::Result<Vec<Vec<f64>>> {
    let text = ik_studio::atomic_file::read_regular_to_string(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let row = parse_vector(line).with_context(|| format!("{}:{}", path.display(), i + 1))?;
        if row.len() != len {
            bail!("{}:{}: expected {len} {what}, got {}", path.display(), i + 1, row.len());
        }
        rows.push(row);
    }
    Ok(rows)
}
