//! The main-content extractor on real Chinese news pages (GNE's test pages, in
//! `../shared/corpora/pages/gne`): how many yield a body of at least 200 Chinese characters,
//! and how close the body is to GNE's expected content (`result.txt`), by character bigrams.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use yuqing_connectors::{charset, extract};

/// Chinese characters a body needs to count as extracted.
const MIN_CHINESE: usize = 200;

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/pages/gne");
    p.join("tests").is_dir().then_some(p)
}

fn pages(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.join("tests")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "html") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// `tests/x/y.html` → expected content, from GNE's `result.txt`.
fn expected(dir: &Path) -> HashMap<String, String> {
    let Ok(text) = std::fs::read_to_string(dir.join("result.txt")) else {
        return HashMap::new();
    };
    let mut out = HashMap::new();
    let parts: Vec<&str> = text.split(">>>>>>>>>>>>>").collect();
    for pair in parts[1..].chunks(2) {
        let [name, json] = pair else { continue };
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(
            json.split("\n<<<").next().unwrap_or("").trim(),
        ) && let Some(c) = v["content"].as_str()
        {
            out.insert(name.trim().to_string(), c.to_string());
        }
    }
    out
}

fn bigrams(s: &str) -> HashSet<(char, char)> {
    let cs: Vec<char> = s.chars().filter(|c| !c.is_whitespace()).collect();
    cs.windows(2).map(|w| (w[0], w[1])).collect()
}

#[test]
fn main_content_of_real_chinese_news_pages() {
    let Some(dir) = corpus() else {
        println!("skip: ../shared/corpora/pages/gne not found; extraction not measured");
        return;
    };
    let files = pages(&dir);
    assert!(!files.is_empty());
    let want = expected(&dir);
    let mut ok = 0;
    let (mut recall_sum, mut precision_sum, mut compared) = (0.0, 0.0, 0);
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let html = charset::decode(&bytes, None, Some("cn")).text;
        let body = extract::main_content(&html);
        let zh = extract::chinese_chars(&body);
        if zh >= MIN_CHINESE {
            ok += 1;
        }
        let rel = f.strip_prefix(&dir).unwrap().display().to_string();
        let mut line = format!("{rel}: {zh} Chinese characters");
        if let Some(exp) = want.get(&rel) {
            let (e, b) = (bigrams(exp), bigrams(&body));
            if !e.is_empty() && !b.is_empty() {
                let common = e.intersection(&b).count() as f64;
                let (r, p) = (common / e.len() as f64, common / b.len() as f64);
                recall_sum += r;
                precision_sum += p;
                compared += 1;
                line.push_str(&format!(", bigram recall {r:.2} precision {p:.2}"));
            }
        }
        println!("{line}");
    }
    let share = ok as f64 / files.len() as f64;
    println!(
        "gne: {ok}/{} pages ({:.0}%) yield a body of >= {MIN_CHINESE} Chinese characters",
        files.len(),
        share * 100.0
    );
    if compared > 0 {
        println!(
            "gne: against result.txt ({compared} pages): mean bigram recall {:.2}, precision {:.2}",
            recall_sum / compared as f64,
            precision_sum / compared as f64
        );
    }
    assert!(share >= 0.7, "only {ok}/{} pages extracted", files.len());
    if compared > 0 {
        assert!(
            recall_sum / compared as f64 >= 0.8,
            "extracted bodies miss the articles"
        );
    }
}
