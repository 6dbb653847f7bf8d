//! TOML reading shared by every file kind: syntax errors with line and column, `${ENV}`
//! interpolation with the key that holds it, and typed deserialization whose errors carry the
//! key path.

use std::collections::HashMap;
use std::path::Path;

use serde::de::DeserializeOwned;

use crate::error::Errors;

/// Read a file as a TOML table; on failure record why and return `None`.
pub(crate) fn read_table(path: &Path, errors: &mut Errors) -> Option<toml::Table> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            errors.push(path, "", format!("cannot read file: {e}"));
            return None;
        }
    };
    parse_table(path, &text, errors)
}

/// Parse TOML text; a syntax error is recorded with `line:col` as its key.
pub(crate) fn parse_table(path: &Path, text: &str, errors: &mut Errors) -> Option<toml::Table> {
    match text.parse::<toml::Table>() {
        Ok(t) => Some(t),
        Err(e) => {
            let key = match e.span() {
                Some(span) => {
                    let (line, col) = line_col(text, span.start);
                    format!("{line}:{col}")
                }
                None => String::new(),
            };
            errors.push(path, key, format!("invalid TOML: {}", e.message().trim()));
            None
        }
    }
}

fn line_col(text: &str, byte: usize) -> (usize, usize) {
    let before = &text[..byte.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Replace `${NAME}` in every string value with the variable from `env`. `$${` writes a
/// literal `${`. A missing variable is recorded with the key that references it; names are
/// `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn interpolate(
    path: &Path,
    table: &mut toml::Table,
    env: &HashMap<String, String>,
    errors: &mut Errors,
) {
    for (k, v) in table.iter_mut() {
        interpolate_value(path, k, v, env, errors);
    }
}

fn interpolate_value(
    path: &Path,
    key: &str,
    value: &mut toml::Value,
    env: &HashMap<String, String>,
    errors: &mut Errors,
) {
    match value {
        toml::Value::String(s) if s.contains('$') => match interpolate_str(s, env) {
            Ok(out) => *s = out,
            Err(reason) => errors.push(path, key, reason),
        },
        toml::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate_value(path, &format!("{key}[{i}]"), item, env, errors);
            }
        }
        toml::Value::Table(t) => {
            for (k, v) in t.iter_mut() {
                interpolate_value(path, &format!("{key}.{k}"), v, env, errors);
            }
        }
        _ => {}
    }
}

/// Interpolate one string; the error says which variable is missing or what is malformed.
pub fn interpolate_str(s: &str, env: &HashMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix("${") {
            out.push_str("${");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix('{') {
            let Some(end) = tail.find('}') else {
                return Err("unclosed `${` in value (write `$${` for a literal)".into());
            };
            let name = &tail[..end];
            let valid = !name.is_empty()
                && name.chars().enumerate().all(|(i, c)| {
                    c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())
                });
            if !valid {
                return Err(format!(
                    "`${{{name}}}` is not a valid environment variable name"
                ));
            }
            match env.get(name) {
                Some(v) => out.push_str(v),
                None => return Err(format!("environment variable `{name}` is not set")),
            }
            rest = &tail[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Deserialize a table into `T`; an error is recorded with its key path (`prefix.path`).
pub(crate) fn typed<T: DeserializeOwned>(
    path: &Path,
    prefix: &str,
    table: toml::Table,
    errors: &mut Errors,
) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(toml::Value::Table(table)) {
        Ok(v) => Some(v),
        Err(e) => {
            let inner = e.path().to_string();
            let key = match (prefix.is_empty(), inner == ".") {
                (_, true) => prefix.to_string(),
                (true, false) => inner,
                (false, false) => format!("{prefix}.{inner}"),
            };
            errors.push(path, key, e.into_inner().message().trim().to_string());
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> HashMap<String, String> {
        HashMap::from([("TOKEN".to_string(), "s3cr3t".to_string())])
    }

    #[test]
    fn interpolates_and_escapes() {
        assert_eq!(
            interpolate_str("a=${TOKEN}&b", &env()).unwrap(),
            "a=s3cr3t&b"
        );
        assert_eq!(interpolate_str("$${TOKEN}", &env()).unwrap(), "${TOKEN}");
        assert_eq!(interpolate_str("cost $5", &env()).unwrap(), "cost $5");
    }

    #[test]
    fn missing_and_malformed_variables_are_errors() {
        let e = interpolate_str("${NOPE}", &env()).unwrap_err();
        assert!(e.contains("`NOPE` is not set"), "{e}");
        assert!(
            interpolate_str("${TOKEN", &env())
                .unwrap_err()
                .contains("unclosed")
        );
        assert!(
            interpolate_str("${1A}", &env())
                .unwrap_err()
                .contains("not a valid")
        );
    }

    #[test]
    fn syntax_error_names_line_and_column() {
        let mut errors = Errors::default();
        assert!(parse_table(Path::new("x.toml"), "a = 1\nb = = 2\n", &mut errors).is_none());
        assert_eq!(errors.0.len(), 1);
        assert!(errors.0[0].key.starts_with("2:"), "{:?}", errors.0[0]);
    }

    #[test]
    fn interpolation_error_names_the_key() {
        let mut errors = Errors::default();
        let mut t = parse_table(
            Path::new("x.toml"),
            "[params]\nurl = \"https://h/?k=${MISSING}\"\n",
            &mut errors,
        )
        .unwrap();
        interpolate(Path::new("x.toml"), &mut t, &env(), &mut errors);
        assert_eq!(errors.0.len(), 1);
        assert_eq!(errors.0[0].key, "params.url");
    }
}
