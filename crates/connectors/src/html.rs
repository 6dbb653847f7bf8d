//! HTML fragments (feed summaries and content) to plain text.

use scraper::{Html, Node};

/// Plain text of an HTML fragment: tags dropped (script and style with their content),
/// entities decoded, block elements separated by newlines, runs of blank lines collapsed.
/// Text without any `<` is returned with entities decoded only.
pub fn to_text(fragment: &str) -> String {
    if !fragment.contains('<') && !fragment.contains('&') {
        return fragment.trim().to_string();
    }
    let doc = Html::parse_fragment(fragment);
    let mut out = String::with_capacity(fragment.len());
    for edge in doc.tree.root().traverse() {
        match edge {
            ego_tree::iter::Edge::Open(node) => match node.value() {
                Node::Text(t) => {
                    let skip = node.ancestors().any(|a| {
                        a.value()
                            .as_element()
                            .is_some_and(|e| matches!(e.name(), "script" | "style" | "noscript"))
                    });
                    if !skip {
                        out.push_str(&t.text);
                    }
                }
                Node::Element(e) if e.name() == "br" => out.push('\n'),
                _ => {}
            },
            ego_tree::iter::Edge::Close(node) => {
                if let Node::Element(e) = node.value()
                    && matches!(
                        e.name(),
                        "p" | "div"
                            | "li"
                            | "h1"
                            | "h2"
                            | "h3"
                            | "h4"
                            | "h5"
                            | "h6"
                            | "tr"
                            | "blockquote"
                            | "section"
                            | "article"
                    )
                {
                    out.push('\n');
                }
            }
        }
    }
    tidy(&out)
}

/// Trim each line, drop empty ones, join with `\n`.
fn tidy(s: &str) -> String {
    s.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_tags_and_scripts_keeps_paragraphs() {
        let t = to_text("<p>第一段 <b>重点</b></p><script>alert(1)</script><p>第二段&amp;结尾</p>");
        assert_eq!(t, "第一段 重点\n第二段&结尾");
    }

    #[test]
    fn plain_text_passes_through() {
        assert_eq!(to_text("  恒信消费金融  "), "恒信消费金融");
        assert_eq!(to_text("A &lt;b&gt; B"), "A <b> B");
    }
}
