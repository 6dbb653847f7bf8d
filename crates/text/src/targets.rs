//! Per-entity sentiment: which sentiment terms of a document are about which entity.
//!
//! Each field is cut into sentences (up to `。！？!?…；;` or a space, the normalized form of a
//! line break). A sentiment term is attributed:
//!
//! * in a sentence that mentions entities: to the nearest mention *before* the term (else the
//!   first one after it), together with every mention joined to that one by a conjunction
//!   only (`恒信和速达都被罚`: both);
//! * in a sentence without mentions right after one with mentions: to the entity mentioned
//!   last there (the story goes on about it);
//! * otherwise to nobody.
//!
//! Model features (see [`crate::sentiment`]) are attributed like terms, by position.
//!
//! A document that mentions exactly one entity is about it: every term goes to it. An entity
//! whose own sentences carry no lexicon term takes the document's judgement (on FinNSP this
//! lifts entity-level recall from 0.66 to 0.93 at a precision cost of 0.05); model features
//! alone do not count as a judgement here, since nearly every sentence has some.
//!
//! So "速达服务很好，恒信暴力催收" gives 很好 to 速达 and 暴力催收 to 恒信.

use yuqing_model::Field;

use crate::sentiment::{Evidence, ModelHit, PlacedTerm};

/// Where a target (entity index) is mentioned.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Span {
    pub target: usize,
    pub field: Field,
    pub start: usize,
    pub end: usize,
}

fn field_index(f: Field) -> usize {
    match f {
        Field::Title => 0,
        Field::Body => 1,
    }
}

/// Sentence ends: byte offsets just after each sentence-ending character (and the text end).
fn sentence_ends(text: &str) -> Vec<usize> {
    let mut ends: Vec<usize> = text
        .char_indices()
        .filter(|&(_, c)| matches!(c, '。' | '！' | '？' | '!' | '?' | '…' | '；' | ';' | ' '))
        .map(|(i, c)| i + c.len_utf8())
        .collect();
    ends.push(text.len() + 1);
    ends
}

fn sentence_of(ends: &[usize], pos: usize) -> usize {
    ends.partition_point(|&e| e <= pos)
}

/// Whether `between` joins two mentions as a conjunction only.
fn is_conjunction(between: &str) -> bool {
    matches!(
        between.trim(),
        "" | "和" | "与" | "及" | "以及" | "、" | "跟" | "同" | "," | "，" | "/" | "及其"
    )
}

/// The evidence of each target (`n` targets), from the fields' texts, their placed lexicon
/// terms, the document's model feature occurrences and the targets' spans.
pub(crate) fn attribute(
    texts: &[&str; 2],
    terms: &[Vec<PlacedTerm>; 2],
    model: &[ModelHit],
    spans: &[Span],
    n: usize,
) -> Vec<Evidence> {
    let mut out: Vec<Evidence> = vec![Evidence::default(); n];
    if n == 0 {
        return out;
    }
    let all = || Evidence {
        terms: terms.iter().flatten().map(|p| p.term.clone()).collect(),
        model: model.to_vec(),
    };
    let distinct = {
        let mut t: Vec<usize> = spans.iter().map(|s| s.target).collect();
        t.sort_unstable();
        t.dedup();
        t
    };
    if distinct.len() == 1 {
        out[distinct[0]] = all();
        return out;
    }
    let fields = [0, 1].map(|f| FieldMentions::new(texts[f], f, spans));
    let mut who = Vec::new();
    for (f, placed) in terms.iter().enumerate() {
        for p in placed {
            fields[f].who(p.start, &mut who);
            for &w in &who {
                out[w].terms.push(p.term.clone());
            }
        }
    }
    for m in model {
        fields[field_index(m.field)].who(m.start as usize, &mut who);
        for &w in &who {
            out[w].model.push(*m);
        }
    }
    // A mentioned target whose sentences carry no lexicon term takes the document's
    // judgement: the report is about it too. (Model features are everywhere; only the
    // lexicon's terms say that a sentence judges.)
    let mut everything: Option<Evidence> = None;
    for t in distinct {
        if out[t].terms.is_empty() {
            out[t] = everything.get_or_insert_with(all).clone();
        }
    }
    out
}

/// One field's sentence ends and mentions, to attribute what is found there.
struct FieldMentions<'t> {
    text: &'t str,
    ends: Vec<usize>,
    /// The field's mentions with their sentence numbers, in text order.
    spans: Vec<(usize, Span)>,
}

impl<'t> FieldMentions<'t> {
    fn new(text: &'t str, field: usize, spans: &[Span]) -> FieldMentions<'t> {
        let ends = sentence_ends(text);
        let mut spans: Vec<(usize, Span)> = spans
            .iter()
            .filter(|s| field_index(s.field) == field)
            .map(|s| (sentence_of(&ends, s.start), *s))
            .collect();
        spans.sort_by_key(|(_, s)| (s.start, s.target));
        FieldMentions { text, ends, spans }
    }

    /// The targets (sorted, distinct) that evidence starting at byte `start` is about.
    fn who(&self, start: usize, who: &mut Vec<usize>) {
        who.clear();
        let text = self.text;
        let sent = sentence_of(&self.ends, start);
        let here: Vec<&Span> = self
            .spans
            .iter()
            .filter(|(si, _)| *si == sent)
            .map(|(_, s)| s)
            .collect();
        if here.is_empty() {
            if sent > 0
                && let Some((_, last)) = self.spans.iter().rev().find(|(si, _)| *si + 1 == sent)
            {
                who.push(last.target);
            }
        } else {
            // Nearest mention before the evidence, else the first after it.
            let k: usize = here
                .iter()
                .rposition(|s| s.start <= start)
                .unwrap_or_default();
            who.push(here[k].target);
            // Mentions joined to it by conjunctions only, both ways.
            let mut j = k;
            while j > 0 && is_conjunction(text.get(here[j - 1].end..here[j].start).unwrap_or("x")) {
                j -= 1;
                who.push(here[j].target);
            }
            let mut j = k;
            while j + 1 < here.len()
                && here[j + 1].start >= here[j].end
                && is_conjunction(text.get(here[j].end..here[j + 1].start).unwrap_or("x"))
                && here[j + 1].start < start.max(here[k].end)
            {
                j += 1;
                who.push(here[j].target);
            }
        }
        who.sort_unstable();
        who.dedup();
    }
}

/// Spans of ad-hoc targets (normalized names) found by substring search, longest name first
/// at a position; a name inside a longer target's occurrence is not counted there.
pub(crate) fn find_targets(texts: &[&str; 2], names: &[String]) -> Vec<Span> {
    let mut out = Vec::new();
    for (f, text) in texts.iter().enumerate() {
        let field = if f == 0 { Field::Title } else { Field::Body };
        let mut found: Vec<Span> = Vec::new();
        for (t, name) in names.iter().enumerate() {
            if name.is_empty() {
                continue;
            }
            for (start, _) in text.match_indices(name.as_str()) {
                found.push(Span {
                    target: t,
                    field,
                    start,
                    end: start + name.len(),
                });
            }
        }
        // Drop occurrences strictly inside a longer one.
        let all = found.clone();
        found.retain(|s| {
            !all.iter().any(|o| {
                o.start <= s.start && s.end <= o.end && (o.end - o.start) > (s.end - s.start)
            })
        });
        out.extend(found);
    }
    out
}
