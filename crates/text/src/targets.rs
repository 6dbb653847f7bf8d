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

/// What a target's judgement weighs.
#[derive(Debug)]
pub(crate) enum Attributed {
    /// The evidence of its own sentences (none for a target not mentioned).
    Own(Evidence),
    /// All of the document's: its judgement is the document's.
    Document,
}

/// What each target (`n` targets) is judged on, from the fields' texts, their placed lexicon
/// terms, the document's model feature occurrences and the targets' spans.
pub(crate) fn attribute(
    texts: &[&str; 2],
    terms: &[Vec<PlacedTerm>; 2],
    model: &[ModelHit],
    spans: &[Span],
    n: usize,
) -> Vec<Attributed> {
    let mut out: Vec<Evidence> = vec![Evidence::default(); n];
    let distinct = {
        let mut t: Vec<usize> = spans.iter().map(|s| s.target).collect();
        t.sort_unstable();
        t.dedup();
        t
    };
    if distinct.len() <= 1 {
        // No mention: nothing to attribute. One target mentioned: the document is about it.
        let mut out: Vec<Attributed> = out.into_iter().map(Attributed::Own).collect();
        if let Some(&t) = distinct.first() {
            out[t] = Attributed::Document;
        }
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
    let mut out: Vec<Attributed> = out.into_iter().map(Attributed::Own).collect();
    for t in distinct {
        if matches!(&out[t], Attributed::Own(e) if e.terms.is_empty()) {
            out[t] = Attributed::Document;
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
        // The spans are in text order, so a sentence's are a run of them.
        let first = self.spans.partition_point(|(si, _)| *si < sent);
        let len = self.spans[first..].partition_point(|(si, _)| *si == sent);
        let here = &self.spans[first..first + len];
        if here.is_empty() {
            if first > 0 && self.spans[first - 1].0 + 1 == sent {
                who.push(self.spans[first - 1].1.target);
            }
        } else {
            let span = |i: usize| &here[i].1;
            // Nearest mention before the evidence, else the first after it.
            let k: usize = here
                .iter()
                .rposition(|(_, s)| s.start <= start)
                .unwrap_or_default();
            who.push(span(k).target);
            // Mentions joined to it by conjunctions only, both ways.
            let joined =
                |a: &Span, b: &Span| is_conjunction(text.get(a.end..b.start).unwrap_or("x"));
            let mut j = k;
            while j > 0 && joined(span(j - 1), span(j)) {
                j -= 1;
                who.push(span(j).target);
            }
            let mut j = k;
            while j + 1 < here.len()
                && span(j + 1).start >= span(j).end
                && joined(span(j), span(j + 1))
                && span(j + 1).start < start.max(span(k).end)
            {
                j += 1;
                who.push(span(j).target);
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
