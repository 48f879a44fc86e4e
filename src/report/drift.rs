//! `fleet diff`: one service's differences across clusters, side by side — one column
//! per cluster, one row per thing that differs.

use crate::model::drift::Difference;

/// `api (shop/api) differs in 2 of …` then a FIELD column and one column per cluster;
/// `same in every cluster` when nothing differs.
pub fn table(service: &str, clusters: &[&str], differences: &[Difference]) -> String {
    if differences.is_empty() {
        return format!("{service}: the same in {}\n", clusters.join(", "));
    }
    let mut rows: Vec<Vec<String>> = Vec::with_capacity(differences.len() + 1);
    rows.push(std::iter::once("FIELD").chain(clusters.iter().copied()).map(str::to_string).collect());
    rows.extend(differences.iter().map(|d| std::iter::once(d.field.clone()).chain(d.values.iter().cloned()).collect()));
    let columns = rows[0].len();
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().map(|r| r.get(c).map_or(0, |v| v.chars().count())).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in &rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            line.push_str(cell);
            if c + 1 < columns {
                line.push_str(&" ".repeat(widths[c] - cell.chars().count() + 3));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let plural = if differences.len() == 1 { "" } else { "s" };
    out.push_str(&format!("{service}: {} difference{plural} across {}\n", differences.len(), clusters.join(", ")));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn side_by_side_one_column_per_cluster() {
        let d = [Difference { field: "image api".into(), values: vec!["api:1.0".into(), "api:1.1".into()] }];
        let text = table("shop/api", &["eu", "us"], &d);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0].split_whitespace().collect::<Vec<_>>(), ["FIELD", "eu", "us"]);
        assert_eq!(lines[1].split_whitespace().collect::<Vec<_>>(), ["image", "api", "api:1.0", "api:1.1"]);
        assert_eq!(lines[2], "shop/api: 1 difference across eu, us");
        assert_eq!(table("shop/api", &["eu", "us"], &[]), "shop/api: the same in eu, us\n");
    }
}
