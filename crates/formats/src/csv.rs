//! A small, strict CSV reader for the tsnkit files (RFC 4180 quoting on one line) and a
//! field escaper for the writers. Never panics.

use std::collections::HashMap;

use crate::{FileKind, FormatError};

/// One data line of a CSV file.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    /// 1-based physical line number.
    pub line: usize,
    /// The fields, unquoted and trimmed.
    pub fields: Vec<String>,
}

/// A parsed CSV file: the header (lower-cased, trimmed) and the data records.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    pub file: FileKind,
    pub header_line: usize,
    pub header: Vec<String>,
    pub records: Vec<Record>,
}

impl Table {
    /// Parses `text`: strips a UTF-8 BOM, accepts LF and CRLF, skips blank lines, requires a
    /// header line and the same number of fields on every line.
    pub fn parse(text: &str, file: FileKind) -> Result<Table, FormatError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines = text
            .split('\n')
            .enumerate()
            .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
            .filter(|(_, l)| !l.trim().is_empty());
        let Some((header_line, header)) = lines.next() else {
            return Err(FormatError::whole(file, "the file is empty (expected a header line)"));
        };
        let header: Vec<String> = split_fields(header)
            .map_err(|m| FormatError::at(file, header_line, m))?
            .into_iter()
            .map(|h| h.to_ascii_lowercase())
            .collect();
        let mut seen = HashMap::new();
        for h in &header {
            if h.is_empty() {
                return Err(FormatError::at(file, header_line, "the header has an empty column name"));
            }
            if seen.insert(h.as_str(), ()).is_some() {
                return Err(FormatError::at(file, header_line, format!("column `{h}` appears twice in the header")));
            }
        }
        let mut records = Vec::new();
        for (line, text) in lines {
            let fields = split_fields(text).map_err(|m| FormatError::at(file, line, m))?;
            if fields.len() != header.len() {
                return Err(FormatError::at(
                    file,
                    line,
                    format!("expected {} fields like the header, found {}", header.len(), fields.len()),
                ));
            }
            records.push(Record { line, fields });
        }
        Ok(Table { file, header_line, header, records })
    }

    /// Index of the first of `names` present in the header, or an error naming what the
    /// header has.
    pub fn column(&self, names: &[&str]) -> Result<usize, FormatError> {
        self.optional_column(names).ok_or_else(|| {
            let wanted = names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(" or ");
            FormatError::at(
                self.file,
                self.header_line,
                format!("the header has no column {wanted} (found: {})", self.header.join(",")),
            )
        })
    }

    /// Index of the first of `names` present in the header.
    pub fn optional_column(&self, names: &[&str]) -> Option<usize> {
        names.iter().find_map(|n| self.header.iter().position(|h| h == n))
    }
}

/// Splits one line into fields. Fields may be quoted with `"` (a doubled `""` inside is a
/// quote); whitespace around fields is dropped.
fn split_fields(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        // Leading whitespace.
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        field.push('"');
                    } else {
                        closed = true;
                        break;
                    }
                } else {
                    field.push(c);
                }
            }
            if !closed {
                return Err(format!("field {} has an unterminated quote", fields.len() + 1));
            }
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            match chars.next() {
                None => {
                    fields.push(field.trim().to_string());
                    return Ok(fields);
                }
                Some(',') => fields.push(field.trim().to_string()),
                Some(c) => return Err(format!("field {}: unexpected {c:?} after a closing quote", fields.len() + 1)),
            }
        } else {
            let mut end = true;
            for c in chars.by_ref() {
                if c == ',' {
                    end = false;
                    break;
                }
                if c == '"' {
                    return Err(format!(
                        "field {}: a quote inside an unquoted field (quote the whole field)",
                        fields.len() + 1
                    ));
                }
                field.push(c);
            }
            fields.push(field.trim().to_string());
            if end {
                return Ok(fields);
            }
        }
    }
}

/// A field for a CSV line: quoted when it holds a comma, quote, line break or edge space.
pub(crate) fn escape(field: &str) -> String {
    let needs = field.contains([',', '"', '\n', '\r'])
        || field.starts_with(char::is_whitespace)
        || field.ends_with(char::is_whitespace);
    if needs {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_quoted_and_plain_fields() {
        assert_eq!(split_fields(r#""(0, 1)",8, 1 ,2000,0"#).unwrap(), ["(0, 1)", "8", "1", "2000", "0"]);
        assert_eq!(split_fields(r#"a,"b ""c""",,"#).unwrap(), ["a", "b \"c\"", "", ""]);
        assert!(split_fields(r#""(0, 1)"#).is_err());
        assert!(split_fields(r#""a"b,c"#).is_err());
        assert!(split_fields(r#"a"b,c"#).is_err());
    }

    #[test]
    fn escape_round_trips() {
        for s in ["plain", "(0, 1)", "say \"hi\"", " edge"] {
            assert_eq!(split_fields(&escape(s)).unwrap(), [s.trim()]);
        }
    }

    #[test]
    fn table_handles_bom_crlf_and_blank_lines() {
        let t = Table::parse("\u{feff}A,b\r\n\r\n1,2\r\n  \n3,4", FileKind::TsnkitTask).unwrap();
        assert_eq!(t.header, ["a", "b"]);
        assert_eq!(t.records.len(), 2);
        assert_eq!(t.records[1].line, 5);
        let e = Table::parse("a,b\n1\n", FileKind::TsnkitTask).unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(Table::parse(" \n\r\n", FileKind::TsnkitTask).is_err());
    }
}
