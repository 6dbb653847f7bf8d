//! Main-content extraction for web pages that give no body selector: the article text of a
//! news page without its navigation, header, footer, sidebars, link lists and scripts.
//!
//! The method is text density with a link-density penalty over block elements, in the spirit
//! of Readability and GNE: every paragraph-like block (`p`, `pre`, `td`, and `div`/`section`
//! blocks holding text directly) scores by its length and its Chinese or Western punctuation;
//! its parent gets the score and its grandparent half of it; each candidate's score is then
//! multiplied by `1 - link density`; the best candidate's text is the body. Elements that are
//! never content (`script`, `style`, `nav`, `header`, `footer`, `aside`, forms, iframes) and
//! elements whose class or id says they are chrome (`nav`, `footer`, `comment`, `sidebar`,
//! `share`, `recommend` …) are skipped. Pure: bytes in, text out.

use std::collections::BTreeMap;

use ego_tree::NodeRef;
use scraper::{ElementRef, Html, Node};

/// Elements whose content is never article text.
const SKIP_TAGS: &[&str] = &[
    "script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe", "button",
    "select", "textarea", "svg", "template", "head",
];

/// Class or id fragments that mark page chrome rather than content.
const CHROME_HINTS: &[&str] = &[
    "nav",
    "footer",
    "header",
    "comment",
    "sidebar",
    "side-bar",
    "share",
    "recommend",
    "related",
    "breadcrumb",
    "copyright",
    "advert",
    "banner",
    "menu",
    "hot-news",
    "hotnews",
];

/// Blocks whose text counts as a paragraph.
const PARAGRAPH_TAGS: &[&str] = &["p", "pre", "td", "blockquote", "li"];

/// Paragraph-like blocks shorter than this (in characters) are ignored for scoring.
const MIN_PARAGRAPH_CHARS: usize = 10;

/// Blocks rendered with a line break after them.
const BLOCK_TAGS: &[&str] = &[
    "p",
    "div",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "tr",
    "blockquote",
    "section",
    "article",
    "pre",
    "table",
    "ul",
    "ol",
    "main",
];

/// Number of CJK unified ideographs in `s`.
pub fn chinese_chars(s: &str) -> usize {
    s.chars()
        .filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c))
        .count()
}

fn is_skipped(e: &scraper::node::Element) -> bool {
    if SKIP_TAGS.contains(&e.name()) {
        return true;
    }
    // Whole words or their prefixes (`nav`, `nav-bar`, `footer_links`), never suffixes:
    // `post_header` on 163.com wraps the article.
    let hint = |v: Option<&str>| {
        v.is_some_and(|v| {
            let v = v.to_ascii_lowercase();
            v.split(char::is_whitespace).any(|word| {
                CHROME_HINTS.iter().any(|h| {
                    word == *h
                        || word
                            .strip_prefix(h)
                            .is_some_and(|r| r.starts_with(['-', '_']))
                })
            })
        })
    };
    // Never skip the structural roots on a hint: some sites put `class="nav-…"` on <body>.
    !matches!(e.name(), "body" | "html" | "article" | "main")
        && (hint(e.attr("class")) || hint(e.attr("id")))
}

fn skipped_node(n: NodeRef<'_, Node>) -> bool {
    n.value().as_element().is_some_and(is_skipped)
}

/// Text length and link-text length of a subtree, skipping non-content elements.
fn lengths(n: NodeRef<'_, Node>) -> (usize, usize) {
    let mut text = 0;
    let mut link = 0;
    let mut stack = vec![(n, false)];
    while let Some((node, in_link)) = stack.pop() {
        match node.value() {
            Node::Text(t) => {
                let len = t.text.chars().filter(|c| !c.is_whitespace()).count();
                text += len;
                if in_link {
                    link += len;
                }
            }
            Node::Element(e) => {
                if is_skipped(e) {
                    continue;
                }
                let l = in_link || e.name() == "a";
                for c in node.children() {
                    stack.push((c, l));
                }
            }
            _ => {
                for c in node.children() {
                    stack.push((c, in_link));
                }
            }
        }
    }
    (text, link)
}

/// Text directly inside `n` (its own text nodes and inline children), not in child blocks.
fn own_text(n: NodeRef<'_, Node>) -> String {
    let mut out = String::new();
    for c in n.children() {
        match c.value() {
            Node::Text(t) => out.push_str(&t.text),
            Node::Element(e)
                if !is_skipped(e) && !BLOCK_TAGS.contains(&e.name()) && e.name() != "br" =>
            {
                out.push_str(
                    &ElementRef::wrap(c)
                        .map(|e| e.text().collect::<String>())
                        .unwrap_or_default(),
                );
            }
            _ => {}
        }
    }
    out
}

fn paragraph_score(text: &str) -> Option<f64> {
    let len = text.chars().filter(|c| !c.is_whitespace()).count();
    if len < MIN_PARAGRAPH_CHARS {
        return None;
    }
    let punct = text
        .chars()
        .filter(|c| {
            matches!(
                c,
                '，' | '。' | '、' | '；' | '：' | '！' | '？' | ',' | '.'
            )
        })
        .count();
    Some(1.0 + punct as f64 + (len as f64 / 100.0).min(3.0))
}

/// The main content of an HTML document as plain text (paragraphs separated by `\n`), or an
/// empty string when nothing looks like content.
pub fn main_content(html: &str) -> String {
    let doc = Html::parse_document(html);
    // Ordered by node id (document order), so ties resolve the same way on every run.
    let mut scores: BTreeMap<ego_tree::NodeId, f64> = BTreeMap::new();
    for node in doc.tree.root().descendants() {
        let Some(e) = node.value().as_element() else {
            continue;
        };
        if node.ancestors().any(skipped_node) || is_skipped(e) {
            continue;
        }
        let text = if PARAGRAPH_TAGS.contains(&e.name()) {
            ElementRef::wrap(node)
                .map(|el| {
                    let (t, l) = lengths(node);
                    if t > 0 && l * 2 > t {
                        String::new()
                    } else {
                        el.text().collect::<String>()
                    }
                })
                .unwrap_or_default()
        } else if matches!(e.name(), "div" | "section" | "article" | "font" | "span") {
            own_text(node)
        } else {
            continue;
        };
        let Some(score) = paragraph_score(&text) else {
            continue;
        };
        if let Some(parent) = node.parent() {
            *scores.entry(parent.id()).or_default() += score;
            if let Some(gp) = parent.parent() {
                *scores.entry(gp.id()).or_default() += score / 2.0;
            }
        }
        // A text-bearing div is itself a candidate too.
        if !PARAGRAPH_TAGS.contains(&e.name()) {
            *scores.entry(node.id()).or_default() += score;
        }
    }
    let best = scores
        .into_iter()
        .filter_map(|(id, s)| {
            let node = doc.tree.get(id)?;
            node.value().as_element()?;
            let (t, l) = lengths(node);
            if t == 0 {
                return None;
            }
            Some((id, s * (1.0 - l as f64 / t as f64)))
        })
        // On a tie the earliest node in document order wins (max_by keeps the last max).
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
    match best.and_then(|(id, _)| doc.tree.get(id)) {
        Some(node) => render(node),
        None => String::new(),
    }
}

/// Plain text of a subtree: skipped elements and link-heavy blocks dropped, blocks on their
/// own lines.
pub(crate) fn render(root: NodeRef<'_, Node>) -> String {
    let mut out = String::new();
    walk(root, &mut out, true);
    out.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

fn walk(n: NodeRef<'_, Node>, out: &mut String, is_root: bool) {
    match n.value() {
        Node::Text(t) => out.push_str(&t.text),
        Node::Element(e) => {
            if !is_root && is_skipped(e) {
                return;
            }
            if e.name() == "br" {
                out.push('\n');
                return;
            }
            let block = BLOCK_TAGS.contains(&e.name());
            if block && !is_root {
                let (t, l) = lengths(n);
                // Link lists inside the content (related stories, tags) are not content.
                if t > 0 && l * 10 > t * 6 {
                    return;
                }
                out.push('\n');
            }
            for c in n.children() {
                walk(c, out, false);
            }
            if block {
                out.push('\n');
            }
        }
        _ => {
            for c in n.children() {
                walk(c, out, false);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_article_not_the_chrome() {
        let html = r#"<html><head><title>t</title><style>p{}</style></head><body>
<div class="nav"><a href="/">首页</a><a href="/a">财经新闻频道</a><a href="/b">科技新闻频道</a></div>
<header><p>这是页眉里的一段很长的文字，不应当出现在正文之中，谢谢。</p></header>
<div id="main"><h1>恒信消费金融被约谈</h1>
<div class="article"><p>近日，多名借款人反映，某消费金融公司存在暴力催收等问题。</p>
<p>监管部门表示，将依法依规处理，督促机构整改，保护消费者合法权益。</p>
<p>记者了解到，该公司已成立专项小组，对相关投诉逐一核查。<a href="/x">详情</a></p>
<ul class="related"><li><a href="/r1">相关新闻一：这是一条相关新闻的标题</a></li></ul>
</div></div>
<aside><p>侧栏的热门文章推荐，这一段也不是正文内容，应该被跳过。</p></aside>
<footer><p>版权所有，未经许可不得转载，违者必究，特此声明。</p></footer>
<script>var x = "脚本里的中文，不是正文。";</script>
</body></html>"#;
        let body = main_content(html);
        assert!(body.starts_with("近日，多名借款人反映"), "{body}");
        assert!(body.contains("逐一核查。详情"), "{body}");
        for chrome in ["页眉", "侧栏", "版权", "脚本", "相关新闻", "首页"] {
            assert!(!body.contains(chrome), "{chrome} in {body}");
        }
        assert_eq!(body.lines().count(), 3, "{body}");
    }

    #[test]
    fn text_in_divs_with_br_is_found() {
        let html = "<body><div><a href='/'>首页</a></div><div class='content'>第一段文字，讲述了事情的经过和原因。<br>第二段文字，记者进行了进一步的采访。<br></div></body>";
        let body = main_content(html);
        assert!(body.contains("第一段文字"), "{body}");
        assert!(body.contains("第二段文字"), "{body}");
        assert!(!body.contains("首页"));
    }

    #[test]
    fn empty_or_link_only_pages_give_nothing() {
        assert_eq!(main_content(""), "");
        assert_eq!(
            main_content("<ul><li><a href=/a>一二三四五六七八九十一</a></li></ul>"),
            ""
        );
    }
}
