//! `entities.toml`: the watched company, its brands, products and people, and rivals.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use yuqing_model::{Alias, AliasKind, Entity};

use crate::error::Errors;
use crate::parse;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    entity: Vec<RawEntity>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntity {
    id: String,
    name: String,
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    brands: Vec<String>,
    #[serde(default)]
    products: Vec<String>,
    #[serde(default)]
    people: Vec<String>,
    #[serde(default)]
    exclude_contexts: Vec<String>,
}

/// Whether `id` is usable in queries: lowercase ASCII letters, digits, `_` and `-`.
pub(crate) fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

pub(crate) fn load(path: &Path, env: &HashMap<String, String>, errors: &mut Errors) -> Vec<Entity> {
    let Some(mut table) = parse::read_table(path, errors) else {
        return Vec::new();
    };
    parse::interpolate(path, &mut table, env, errors);
    let Some(raw) = parse::typed::<RawFile>(path, "", table, errors) else {
        return Vec::new();
    };
    if raw.entity.is_empty() {
        errors.push(
            path,
            "entity",
            "no [[entity]] defined: nothing would be watched",
        );
    }
    let mut owner: HashMap<String, String> = HashMap::new();
    let mut out = Vec::new();
    for (i, e) in raw.entity.into_iter().enumerate() {
        let at = |k: &str| format!("entity[{i}].{k}");
        if !valid_id(&e.id) {
            errors.push(
                path,
                at("id"),
                format!(
                    "`{}` is not a valid id: use lowercase letters, digits, `_`, `-`",
                    e.id
                ),
            );
        }
        if out.iter().any(|o: &Entity| o.id == e.id) {
            errors.push(path, at("id"), format!("duplicate entity id `{}`", e.id));
        }
        let mut aliases = Vec::new();
        let groups = [
            ("name", vec![e.name.clone()], AliasKind::Name),
            ("names", e.names, AliasKind::Name),
            ("brands", e.brands, AliasKind::Brand),
            ("products", e.products, AliasKind::Product),
            ("people", e.people, AliasKind::Person),
        ];
        for (key, list, kind) in groups {
            for (j, text) in list.into_iter().enumerate() {
                let text = text.trim().to_string();
                let k = if key == "name" {
                    at(key)
                } else {
                    at(&format!("{key}[{j}]"))
                };
                if text.is_empty() {
                    errors.push(path, k, "empty name");
                    continue;
                }
                match owner.get(&text) {
                    Some(other) if *other != e.id => {
                        errors.push(
                            path,
                            k,
                            format!("`{text}` is already a name of entity `{other}`"),
                        );
                        continue;
                    }
                    Some(_) => continue,
                    None => {}
                }
                owner.insert(text.clone(), e.id.clone());
                aliases.push(Alias { text, kind });
            }
        }
        out.push(Entity {
            id: e.id,
            name: e.name,
            aliases,
            exclude_contexts: e
                .exclude_contexts
                .into_iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> (Vec<Entity>, Errors) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("entities.toml");
        std::fs::write(&p, text).unwrap();
        let mut errors = Errors::default();
        let out = load(&p, &HashMap::new(), &mut errors);
        (out, errors)
    }

    #[test]
    fn loads_aliases_of_every_kind() {
        let (es, errors) = load_text(
            r#"
[[entity]]
id = "hx"
name = "恒信消费金融有限公司"
names = ["恒信消金"]
brands = ["恒信"]
products = ["恒易借"]
people = ["王建华"]
exclude_contexts = ["恒信东方"]
"#,
        );
        assert!(errors.0.is_empty(), "{:?}", errors.0);
        let kinds: Vec<_> = es[0].aliases.iter().map(|a| a.kind).collect();
        assert_eq!(
            kinds,
            [
                AliasKind::Name,
                AliasKind::Name,
                AliasKind::Brand,
                AliasKind::Product,
                AliasKind::Person
            ]
        );
        assert_eq!(es[0].exclude_contexts, ["恒信东方"]);
    }

    #[test]
    fn reports_bad_id_shared_alias_and_unknown_key() {
        let (_, errors) = load_text(
            "[[entity]]\nid = \"Bad Id\"\nname = \"甲\"\n[[entity]]\nid = \"b\"\nname = \"甲\"\n",
        );
        let keys: Vec<_> = errors.0.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["entity[0].id", "entity[1].name"]);
        let (_, errors) = load_text("[[entity]]\nid = \"a\"\nname = \"甲\"\nalias = []\n");
        assert_eq!(errors.0.len(), 1);
        assert!(
            errors.0[0].reason.contains("unknown field `alias`"),
            "{:?}",
            errors.0
        );
    }
}
