//! Entity matching: which watched entities a text mentions, and where.
//!
//! Every alias of every entity (normalized like the text, ASCII matched case-insensitively) goes
//! into one aho-corasick automaton. All occurrences are found (overlapping), then filtered:
//!
//! 1. **Word boundaries.** An occurrence of a non-ASCII alias counts only if it starts and ends
//!    on a jieba word boundary of the field text: an alias that jieba merges into a longer word
//!    (`恒信` in `永恒信念`) is not a mention. An ASCII alias (`HXCF`) counts only if bounded by
//!    characters that are not ASCII letters or digits, or the text's ends (`HXCF借钱` yes,
//!    `HXCF123` no); jieba's view is not used for it, because a dictionary word would make jieba
//!    split ASCII runs (`HXCF`/`123`).
//! 2. **Exclusion contexts.** An occurrence lying inside an occurrence of one of the entity's
//!    `exclude_contexts` (`恒信` in `恒信东方`) is dropped for that entity.
//!
//! Among the survivors, mentions are chosen leftmost-longest without overlap. Filtering before
//! choosing matters: if the longest alias at a position fails the boundary test, a shorter alias
//! there that passes still counts. An alias shared by two entities yields one mention per entity.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use yuqing_model::{AliasKind, Entity, Field, Mention, Salience};

use crate::error::TextError;
use crate::normalize::normalize;
use crate::segment::Word;

/// Who owns one distinct alias text.
#[derive(Debug, Clone)]
struct Owner {
    entity: usize,
    kind: AliasKind,
}

/// The compiled matcher. Immutable after [`EntityMatcher::new`].
#[derive(Debug)]
pub(crate) struct EntityMatcher {
    entity_ids: Vec<String>,
    aliases: Option<AhoCorasick>,
    /// Per alias pattern: its normalized text and its owners.
    alias_info: Vec<(String, Vec<Owner>)>,
    contexts: Option<AhoCorasick>,
    /// Per context pattern: the entities it excludes.
    context_owners: Vec<Vec<usize>>,
}

impl EntityMatcher {
    pub(crate) fn new(entities: &[Entity]) -> Result<EntityMatcher, TextError> {
        let mut alias_index: HashMap<String, usize> = HashMap::new();
        let mut alias_info: Vec<(String, Vec<Owner>)> = Vec::new();
        let mut context_index: HashMap<String, usize> = HashMap::new();
        let mut context_owners: Vec<Vec<usize>> = Vec::new();
        let mut context_texts: Vec<String> = Vec::new();

        for (e, entity) in entities.iter().enumerate() {
            if entity.aliases.is_empty() {
                return Err(TextError::Entity {
                    entity_id: entity.id.clone(),
                    reason: "has no aliases".into(),
                });
            }
            for alias in &entity.aliases {
                let text = normalize(&alias.text);
                if text.is_empty() {
                    return Err(TextError::Entity {
                        entity_id: entity.id.clone(),
                        reason: format!("alias {:?} is empty after normalization", alias.text),
                    });
                }
                let key = fold_key(&text);
                let i = *alias_index.entry(key).or_insert_with(|| {
                    alias_info.push((text.clone(), Vec::new()));
                    alias_info.len() - 1
                });
                let owners = &mut alias_info[i].1;
                if !owners.iter().any(|o| o.entity == e) {
                    owners.push(Owner {
                        entity: e,
                        kind: alias.kind,
                    });
                }
            }
            for ctx in &entity.exclude_contexts {
                let text = normalize(ctx);
                if text.is_empty() {
                    return Err(TextError::Entity {
                        entity_id: entity.id.clone(),
                        reason: format!("exclude context {ctx:?} is empty after normalization"),
                    });
                }
                let key = fold_key(&text);
                let i = *context_index.entry(key).or_insert_with(|| {
                    context_texts.push(text.clone());
                    context_owners.push(Vec::new());
                    context_owners.len() - 1
                });
                if !context_owners[i].contains(&e) {
                    context_owners[i].push(e);
                }
            }
        }

        let aliases = build_automaton(alias_info.iter().map(|(t, _)| t.as_str()))?;
        let contexts = build_automaton(context_texts.iter().map(String::as_str))?;
        Ok(EntityMatcher {
            entity_ids: entities.iter().map(|e| e.id.clone()).collect(),
            aliases,
            alias_info,
            contexts,
            context_owners,
        })
    }

    /// The normalized alias texts that must be jieba words: the non-ASCII ones (an ASCII word
    /// in the dictionary would make jieba split longer ASCII runs around it).
    pub(crate) fn jieba_words(&self) -> impl Iterator<Item = &str> {
        self.alias_info
            .iter()
            .map(|(t, _)| t.as_str())
            .filter(|t| !t.is_ascii())
    }

    /// Every occurrence of an alias in one normalized field (overlapping ones included), in
    /// text order: the input of [`EntityMatcher::find`], and where analysis must segment.
    pub(crate) fn occurrences(&self, text: &str) -> Vec<aho_corasick::Match> {
        match &self.aliases {
            Some(aliases) => aliases.find_overlapping_iter(text).collect(),
            None => Vec::new(),
        }
    }

    /// Whether the alias of an occurrence needs jieba's word boundaries (non-ASCII aliases).
    pub(crate) fn needs_words(&self, m: &aho_corasick::Match) -> bool {
        !self.alias_info[m.pattern().as_usize()].0.is_ascii()
    }

    /// Mentions in one normalized field, in text order, from its alias
    /// [`occurrences`](EntityMatcher::occurrences). `words` is jieba's default-mode cut of
    /// `text`, in order, at least of every clause holding an occurrence of a non-ASCII alias
    /// (the word boundaries confirm it; see [`crate::segment::cut_clauses`]).
    pub(crate) fn find(
        &self,
        text: &str,
        found: &[aho_corasick::Match],
        words: &[Word<'_>],
        field: Field,
    ) -> Vec<Mention> {
        if found.is_empty() {
            return Vec::new(); // most texts: no alias, no exclusion context to look for
        }

        // Excluded spans per entity.
        let mut excluded: Vec<(usize, usize, usize)> = Vec::new(); // (entity, start, end)
        if let Some(contexts) = &self.contexts {
            for m in contexts.find_overlapping_iter(text) {
                for &e in &self.context_owners[m.pattern().as_usize()] {
                    excluded.push((e, m.start(), m.end()));
                }
            }
        }

        let mut boundaries: Vec<usize> = words.iter().map(|w| w.start).collect();
        boundaries.push(text.len());

        // Candidates: (start, end, pattern, owner), after both filters.
        let mut candidates: Vec<(usize, usize, usize, &Owner)> = Vec::new();
        for m in found {
            let (s, e) = (m.start(), m.end());
            let p = m.pattern().as_usize();
            let (alias, owners) = &self.alias_info[p];
            let bounded = if alias.is_ascii() {
                ascii_bounded(text, s, e)
            } else {
                boundaries.binary_search(&s).is_ok() && boundaries.binary_search(&e).is_ok()
            };
            if !bounded {
                continue;
            }
            for owner in owners {
                let inside_context = excluded
                    .iter()
                    .any(|&(ce, cs, cend)| ce == owner.entity && cs <= s && e <= cend);
                if !inside_context {
                    candidates.push((s, e, p, owner));
                }
            }
        }

        // Leftmost-longest, per entity, without overlap.
        candidates.sort_by(|a, b| {
            (a.0, std::cmp::Reverse(a.1), a.3.entity).cmp(&(
                b.0,
                std::cmp::Reverse(b.1),
                b.3.entity,
            ))
        });
        let mut taken_until: HashMap<usize, usize> = HashMap::new();
        let mut out = Vec::new();
        for (s, e, p, owner) in candidates {
            let until = taken_until.entry(owner.entity).or_insert(0);
            if s < *until {
                continue;
            }
            *until = e;
            out.push(Mention {
                entity_id: self.entity_ids[owner.entity].clone(),
                alias: self.alias_info[p].0.clone(),
                kind: owner.kind,
                field,
                start: s,
                end: e,
            });
        }
        out
    }
}

/// Characters at the start of a body that are always its lead.
pub const LEAD_CHARS: usize = 100;
/// A first paragraph that ends within this many characters is the lead (when longer than
/// [`LEAD_CHARS`]).
pub const LEAD_MAX_CHARS: usize = 250;

/// Byte offset in a normalized body where its lead ends: the first [`LEAD_CHARS`] characters,
/// or the whole first paragraph if that is longer but ends within [`LEAD_MAX_CHARS`]. In
/// normalized text a line break is a space; a paragraph ends at a space right after a
/// sentence end (`。！？!?…` or a closing quote after one).
pub fn lead_end(body: &str) -> usize {
    let first = min_end_at(body, LEAD_CHARS);
    let mut prev = '\0';
    for (n, (i, c)) in body.char_indices().enumerate() {
        if n > LEAD_MAX_CHARS {
            break;
        }
        if c == ' '
            && matches!(
                prev,
                '。' | '！' | '？' | '!' | '?' | '…' | '”' | '」' | '』'
            )
        {
            return i.max(first);
        }
        prev = c;
    }
    first
}

/// Byte offset after the first `n` characters of `text` (its length if shorter).
fn min_end_at(text: &str, n: usize) -> usize {
    text.char_indices().nth(n).map_or(text.len(), |(i, _)| i)
}

/// The salience of a mention: in the title, in the body's lead (before `lead_end`, see
/// [`lead_end`]), or a passing mention further in the body.
pub(crate) fn salience(m: &Mention, lead_end: usize) -> Salience {
    match m.field {
        Field::Title => Salience::Title,
        Field::Body if m.start < lead_end => Salience::Lead,
        Field::Body => Salience::Body,
    }
}

/// Key under which two alias texts count as the same pattern (ASCII case folded, as matched).
fn fold_key(text: &str) -> String {
    text.to_ascii_lowercase()
}

fn build_automaton<'a>(
    patterns: impl Iterator<Item = &'a str>,
) -> Result<Option<AhoCorasick>, TextError> {
    let patterns: Vec<&str> = patterns.collect();
    if patterns.is_empty() {
        return Ok(None);
    }
    AhoCorasickBuilder::new()
        .match_kind(MatchKind::Standard)
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .ascii_case_insensitive(true)
        .build(patterns)
        .map(Some)
        .map_err(|e| TextError::Matcher {
            reason: e.to_string(),
        })
}

/// Whether `text[s..e]` is bounded by non-(ASCII alphanumeric) characters or the text's ends.
fn ascii_bounded(text: &str, s: usize, e: usize) -> bool {
    let before = text[..s].chars().next_back();
    let after = text[e..].chars().next();
    !before.is_some_and(|c| c.is_ascii_alphanumeric())
        && !after.is_some_and(|c| c.is_ascii_alphanumeric())
}
