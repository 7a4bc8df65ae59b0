//! SQL scripts: the bundled schema fixtures and a splitter into single statements.

/// Warehouse Pro 3.07 schema with seed rows, MySQL/MariaDB dialect (lower-case tables).
pub const FIXTURE_MARIADB: &str = include_str!("sql/fixture_mariadb.sql");
/// The same schema and seed rows in the SQLite dialect.
pub const FIXTURE_SQLITE: &str = include_str!("sql/fixture_sqlite.sql");

/// Splits a script into statements at `;` outside quotes, dropping `--` comments and
/// empty statements.
pub fn split_statements(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = script.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        if let Some(q) = quote {
            cur.push(c);
            if c == q {
                if chars.peek() == Some(&q) {
                    cur.push(chars.next().unwrap_or(q));
                } else {
                    quote = None;
                }
            }
            continue;
        }
        match c {
            '\'' | '"' | '`' => {
                quote = Some(c);
                cur.push(c);
            }
            '-' if chars.peek() == Some(&'-') => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        cur.push('\n');
                        break;
                    }
                }
            }
            ';' => {
                let s = cur.trim();
                if !s.is_empty() {
                    out.push(s.to_string());
                }
                cur.clear();
            }
            _ => cur.push(c),
        }
    }
    let s = cur.trim();
    if !s.is_empty() {
        out.push(s.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_outside_quotes_and_comments() {
        let s = "CREATE TABLE a (x INT); -- c; d\nINSERT INTO a VALUES ('x;y','it''s');\n\n";
        assert_eq!(
            split_statements(s),
            vec![
                "CREATE TABLE a (x INT)".to_string(),
                "INSERT INTO a VALUES ('x;y','it''s')".to_string()
            ]
        );
        assert!(split_statements(FIXTURE_SQLITE).len() > 40);
    }
}
