//! Risk categories and the seven review dimensions: rules from `config/risk.toml`.
//!
//! # Rules file
//!
//! ```toml
//! [[category]]
//! id = "collection"                  # stored in RiskTag::id, queried as risk:collection
//! name = "催收"                      # display name
//! dimensions = ["people", "process"] # dimensions a hit of this category also tags
//! terms = ["暴力催收", "爆通讯录"]     # any of these (normalized text) triggers it
//! exclude = ["催收行业研究"]           # optional: a term inside one of these does not count
//!
//! [dimension.people]                 # one table per dimension id (Dimension::as_str) or 人/事…
//! terms = ["催收员", "客服态度"]
//! ```
//!
//! Matching: every term of every category and dimension goes into one aho-corasick automaton
//! run over the normalized title and body; of overlapping matches, one lying strictly inside
//! a longer match is dropped (`暴力催收` counts, the `催收` inside it does not), so evidence is
//! the longest phrase. A term inside an `exclude` phrase of its category is dropped. A
//! category fires on any remaining hit; its evidence is the distinct terms in text order
//! (title first). A dimension fires on its own terms and on every fired category that lists
//! it (with that category's evidence). Output order: categories and dimensions in file order
//! ([`Dimension::ALL`] order for dimensions).

use std::collections::HashMap;
use std::path::Path;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use serde::Deserialize;
use yuqing_model::{Dimension, DimensionTag, RiskTag};

use crate::error::TextError;
use crate::normalize::normalize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    category: Vec<CategoryFile>,
    #[serde(default)]
    dimension: HashMap<String, DimensionFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoryFile {
    id: String,
    name: String,
    #[serde(default)]
    dimensions: Vec<String>,
    terms: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DimensionFile {
    terms: Vec<String>,
}

/// Who a pattern belongs to.
#[derive(Debug, Clone, Copy)]
enum Target {
    Category(usize),
    Dimension(Dimension),
}

#[derive(Debug)]
struct Category {
    id: String,
    dimensions: Vec<Dimension>,
}

/// The compiled rules. Immutable after load.
#[derive(Debug)]
pub(crate) struct RiskRules {
    categories: Vec<Category>,
    terms: Option<AhoCorasick>,
    /// Per pattern: its text and its owners.
    owners: Vec<(String, Vec<Target>)>,
    excludes: Option<AhoCorasick>,
    /// Per exclude pattern: the categories it applies to.
    exclude_owners: Vec<Vec<usize>>,
    /// Per category: whether it has exclude phrases.
    has_excludes: Vec<bool>,
}

impl RiskRules {
    /// No rules at all (nothing is ever tagged).
    pub(crate) fn empty() -> RiskRules {
        RiskRules {
            categories: Vec::new(),
            terms: None,
            owners: Vec::new(),
            excludes: None,
            exclude_owners: Vec::new(),
            has_excludes: Vec::new(),
        }
    }

    /// Read and validate a rules file.
    pub(crate) fn load(path: &Path) -> Result<RiskRules, TextError> {
        let text = crate::error::read_file(path)?;
        RiskRules::parse(&text, path)
    }

    /// Parse and validate rules text; `path` only names the file in errors.
    pub(crate) fn parse(text: &str, path: &Path) -> Result<RiskRules, TextError> {
        let file: RulesFile = crate::error::parse_toml(text, path)?;
        let err = |key: String, reason: String| TextError::Lexicon {
            path: path.to_path_buf(),
            key,
            reason,
        };
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut owners: Vec<(String, Vec<Target>)> = Vec::new();
        let mut add = |key: String, word: &str, t: Target| -> Result<(), TextError> {
            if word.is_empty() {
                return Err(err(key, "empty term".into()));
            }
            let n = normalize(word);
            if n != word {
                return Err(err(
                    key,
                    format!("term {word:?} is not normalized: write {n:?}"),
                ));
            }
            let i = *index.entry(n.clone()).or_insert_with(|| {
                owners.push((n, Vec::new()));
                owners.len() - 1
            });
            owners[i].1.push(t);
            Ok(())
        };
        let mut categories = Vec::new();
        let mut exclude_index: HashMap<String, usize> = HashMap::new();
        let mut exclude_texts: Vec<String> = Vec::new();
        let mut exclude_owners: Vec<Vec<usize>> = Vec::new();
        for (c, cat) in file.category.iter().enumerate() {
            let key = format!("category[{c}]");
            if cat.id.is_empty()
                || !cat
                    .id
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch == '_')
            {
                return Err(err(
                    format!("{key}.id"),
                    format!("{:?} must be lowercase ASCII letters and `_`", cat.id),
                ));
            }
            if categories.iter().any(|x: &Category| x.id == cat.id) {
                return Err(err(
                    format!("{key}.id"),
                    format!("duplicate id {:?}", cat.id),
                ));
            }
            if cat.name.trim().is_empty() {
                return Err(err(format!("{key}.name"), "empty name".into()));
            }
            if cat.terms.is_empty() {
                return Err(err(format!("{key}.terms"), "no terms".into()));
            }
            let mut dims = Vec::new();
            for d in &cat.dimensions {
                let Some(dim) = Dimension::parse(d) else {
                    return Err(err(
                        format!("{key}.dimensions"),
                        format!("unknown dimension {d:?}; expected one of {}", dim_names()),
                    ));
                };
                dims.push(dim);
            }
            for t in &cat.terms {
                add(format!("{key}.terms"), t, Target::Category(c))?;
            }
            for x in &cat.exclude {
                let n = normalize(x);
                if n.is_empty() {
                    return Err(err(format!("{key}.exclude"), "empty phrase".into()));
                }
                let i = *exclude_index.entry(n.clone()).or_insert_with(|| {
                    exclude_texts.push(n);
                    exclude_owners.push(Vec::new());
                    exclude_owners.len() - 1
                });
                exclude_owners[i].push(c);
            }
            categories.push(Category {
                id: cat.id.clone(),
                dimensions: dims,
            });
        }
        let mut dims: Vec<(&String, &DimensionFile)> = file.dimension.iter().collect();
        dims.sort_by_key(|(k, _)| k.as_str());
        for (name, d) in dims {
            let Some(dim) = Dimension::parse(name) else {
                return Err(err(
                    format!("dimension.{name}"),
                    format!("unknown dimension; expected one of {}", dim_names()),
                ));
            };
            for t in &d.terms {
                add(format!("dimension.{name}.terms"), t, Target::Dimension(dim))?;
            }
        }
        let build = |pats: Vec<&str>| -> Result<Option<AhoCorasick>, TextError> {
            if pats.is_empty() {
                return Ok(None);
            }
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                .ascii_case_insensitive(true)
                .build(pats)
                .map(Some)
                .map_err(|e| TextError::Matcher {
                    reason: e.to_string(),
                })
        };
        let mut has_excludes = vec![false; categories.len()];
        for cats in &exclude_owners {
            for &c in cats {
                has_excludes[c] = true;
            }
        }
        Ok(RiskRules {
            has_excludes,
            terms: build(owners.iter().map(|(t, _)| t.as_str()).collect())?,
            excludes: build(exclude_texts.iter().map(String::as_str).collect())?,
            categories,
            owners,
            exclude_owners,
        })
    }

    /// Number of categories.
    pub(crate) fn category_count(&self) -> usize {
        self.categories.len()
    }

    /// Tag normalized texts (title, then body).
    pub(crate) fn tag(&self, fields: &[&str]) -> (Vec<RiskTag>, Vec<DimensionTag>) {
        let Some(terms) = &self.terms else {
            return (Vec::new(), Vec::new());
        };
        let mut cat_evidence: Vec<Vec<&str>> = vec![Vec::new(); self.categories.len()];
        let mut dim_evidence: Vec<Vec<&str>> = vec![Vec::new(); Dimension::ALL.len()];
        for text in fields {
            // Overlapping matches, minus those strictly inside another (催收 in 暴力催收).
            let all: Vec<aho_corasick::Match> = terms.find_overlapping_iter(*text).collect();
            if all.is_empty() {
                continue; // most texts: no term, so no exclusion to look for either
            }
            // Exclusions matter only for a matched term of a category that has some.
            let may_exclude = all.iter().any(|m| {
                self.owners[m.pattern().as_usize()]
                    .1
                    .iter()
                    .any(|t| matches!(t, Target::Category(c) if self.has_excludes[*c]))
            });
            let excluded: Vec<(usize, usize, usize)> = match &self.excludes {
                Some(x) if may_exclude => x
                    .find_overlapping_iter(*text)
                    .flat_map(|m| {
                        self.exclude_owners[m.pattern().as_usize()]
                            .iter()
                            .map(move |&c| (c, m.start(), m.end()))
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let mut kept: Vec<&aho_corasick::Match> = all
                .iter()
                .filter(|m| {
                    !all.iter()
                        .any(|o| o.start() <= m.start() && m.end() <= o.end() && o.len() > m.len())
                })
                .collect();
            kept.sort_by_key(|m| (m.start(), std::cmp::Reverse(m.end())));
            for m in kept {
                let (word, owners) = &self.owners[m.pattern().as_usize()];
                for t in owners {
                    match *t {
                        Target::Category(c) => {
                            let inside = excluded
                                .iter()
                                .any(|&(xc, s, e)| xc == c && s <= m.start() && m.end() <= e);
                            if !inside {
                                push_distinct(&mut cat_evidence[c], word);
                            }
                        }
                        Target::Dimension(d) => {
                            push_distinct(&mut dim_evidence[dim_index(d)], word);
                        }
                    }
                }
            }
        }
        let mut risks = Vec::new();
        for (c, ev) in cat_evidence.iter().enumerate() {
            if ev.is_empty() {
                continue;
            }
            for &d in &self.categories[c].dimensions {
                for w in ev {
                    push_distinct(&mut dim_evidence[dim_index(d)], w);
                }
            }
            risks.push(RiskTag {
                id: self.categories[c].id.clone(),
                evidence: ev.iter().map(|w| w.to_string()).collect(),
            });
        }
        let dims = Dimension::ALL
            .into_iter()
            .zip(dim_evidence)
            .filter(|(_, ev)| !ev.is_empty())
            .map(|(d, ev)| DimensionTag {
                dimension: d,
                evidence: ev.into_iter().map(str::to_string).collect(),
            })
            .collect();
        (risks, dims)
    }
}

fn push_distinct<'a>(v: &mut Vec<&'a str>, w: &'a str) {
    if !v.contains(&w) {
        v.push(w);
    }
}

fn dim_index(d: Dimension) -> usize {
    Dimension::ALL.iter().position(|&x| x == d).unwrap_or(0)
}

fn dim_names() -> String {
    Dimension::ALL
        .iter()
        .map(|d| format!("{} ({})", d.as_str(), d.zh()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = r#"
[[category]]
id = "collection"
name = "催收"
dimensions = ["people", "事"]
terms = ["暴力催收", "催收", "爆通讯录"]
exclude = ["催收行业"]

[[category]]
id = "fees"
name = "利率与费用"
dimensions = ["finance"]
terms = ["砍头息", "会员费"]

[dimension.culture]
terms = ["店大欺客"]
"#;

    fn rules() -> RiskRules {
        match RiskRules::parse(RULES, Path::new("risk.toml")) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn categories_and_dimensions_carry_their_evidence() {
        let (risks, dims) = rules().tag(&["恒信暴力催收", "还收砍头息，被爆通讯录，真是店大欺客"]);
        assert_eq!(risks.len(), 2, "{risks:?}");
        assert_eq!(risks[0].id, "collection");
        assert_eq!(risks[0].evidence, vec!["暴力催收", "爆通讯录"]);
        assert_eq!(risks[1].id, "fees");
        assert_eq!(risks[1].evidence, vec!["砍头息"]);
        let got: Vec<(Dimension, usize)> = dims
            .iter()
            .map(|d| (d.dimension, d.evidence.len()))
            .collect();
        assert_eq!(
            got,
            vec![
                (Dimension::People, 2),
                (Dimension::Process, 2),
                (Dimension::Finance, 1),
                (Dimension::Culture, 1)
            ]
        );
    }

    #[test]
    fn exclusions_stop_a_category() {
        let (risks, dims) = rules().tag(&["", "催收行业研究报告发布"]);
        assert!(risks.is_empty() && dims.is_empty(), "{risks:?} {dims:?}");
    }

    #[test]
    fn bad_rules_name_the_key() {
        let bad = RULES.replace("\"事\"", "\"钱\"");
        let Err(e) = RiskRules::parse(&bad, Path::new("risk.toml")) else {
            panic!("must fail")
        };
        assert!(e.to_string().contains("category[0].dimensions"), "{e}");
        let Err(e) = RiskRules::parse(
            "[[category]]\nid = \"x\"\nname = \"x\"\nterms = [\"恆信\"]\n",
            Path::new("r.toml"),
        ) else {
            panic!("must fail")
        };
        assert!(e.to_string().contains("not normalized"), "{e}");
    }

    #[test]
    fn shipped_rules_cover_the_eight_categories_and_seven_dimensions() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/risk.toml");
        let r = match RiskRules::load(&path) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        let ids: Vec<&str> = r.categories.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            vec![
                "collection",
                "fees",
                "personal_data",
                "fund_safety",
                "service",
                "approval",
                "compliance",
                "fraud"
            ]
        );
        let mut covered: Vec<Dimension> = r
            .owners
            .iter()
            .flat_map(|(_, o)| o.iter())
            .filter_map(|t| match t {
                Target::Dimension(d) => Some(*d),
                Target::Category(_) => None,
            })
            .collect();
        covered.sort();
        covered.dedup();
        assert_eq!(covered, Dimension::ALL.to_vec());
    }
}
