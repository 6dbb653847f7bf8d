//! Loading: the shipped files are valid and complete; bad files fail with useful messages.

mod common;

use std::path::PathBuf;

use common::{entities, options};
use yuqing_model::{Alias, AliasKind, Entity};
use yuqing_text::{Analyzer, AnalyzerOptions, TextError};

/// A file with `contents` in a fresh temporary directory, removed when the guard drops.
fn temp_file(name: &str, contents: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("create a temporary directory: {e}"),
    };
    let path = dir.path().join(name);
    if let Err(e) = std::fs::write(&path, contents) {
        panic!("write {}: {e}", path.display());
    }
    (dir, path)
}

fn load_err(opts: &AnalyzerOptions, entities: &[Entity]) -> TextError {
    match Analyzer::load(opts, entities) {
        Ok(_) => panic!("load should fail"),
        Err(e) => e,
    }
}

fn lexicon_with(extra: &str) -> (tempfile::TempDir, AnalyzerOptions) {
    let (dir, path) = temp_file(
        "sentiment.toml",
        &format!("[negative.terms]\n\"差\" = -1.0\n{extra}"),
    );
    let opts = AnalyzerOptions {
        sentiment_lexicon: path,
        user_dicts: vec![],
        ..AnalyzerOptions::default()
    };
    (dir, opts)
}

#[test]
fn shipped_dictionary_has_enough_domain_terms() {
    let path = common::workspace_root().join("config/dict/yuqing.txt");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => panic!("{}: {e}", path.display()),
    };
    let entries = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .count();
    assert!(entries >= 60 + 14, "only {entries} entries");
}

#[test]
fn shipped_lexicon_meets_the_size_floor() {
    let path = common::workspace_root().join("config/sentiment.toml");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => panic!("{}: {e}", path.display()),
    };
    let value: toml::Table = match toml::from_str(&text) {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    };
    let count = |table: &str| {
        value
            .get(table)
            .and_then(|t| t.get("terms"))
            .and_then(|t| t.as_table())
            .map_or(0, |t| t.len())
    };
    assert!(count("negative") >= 150, "negative: {}", count("negative"));
    assert!(count("positive") >= 80, "positive: {}", count("positive"));
    for required in [
        "暴力催收",
        "砍头息",
        "套路贷",
        "高利贷",
        "乱收费",
        "泄露个人信息",
        "爆雷",
        "跑路",
        "逾期",
        "投诉",
        "维权",
        "欺诈",
        "骚扰",
        "威胁",
    ] {
        let w = value
            .get("negative")
            .and_then(|t| t.get("terms"))
            .and_then(|t| t.get(required))
            .and_then(|v| v.as_float());
        assert!(
            w.is_some_and(|w| w < 0.0),
            "{required} must be a negative term"
        );
    }
    // And it loads.
    assert!(Analyzer::load(&options(), &entities()).is_ok());
}

#[test]
fn missing_files_are_named() {
    let opts = AnalyzerOptions {
        user_dicts: vec![PathBuf::from("/nonexistent/dict.txt")],
        ..options()
    };
    let msg = load_err(&opts, &entities()).to_string();
    assert!(msg.contains("/nonexistent/dict.txt"), "{msg}");

    let opts = AnalyzerOptions {
        sentiment_lexicon: PathBuf::from("/nonexistent/sentiment.toml"),
        ..options()
    };
    let msg = load_err(&opts, &entities()).to_string();
    assert!(msg.contains("/nonexistent/sentiment.toml"), "{msg}");
}

#[test]
fn bad_dictionary_line_names_file_and_line() {
    let (_dir, dict) = temp_file("bad-dict.txt", "# ok\n恒信 100 nz\n随心花 many\n");
    let opts = AnalyzerOptions {
        user_dicts: vec![dict.clone()],
        ..options()
    };
    let msg = load_err(&opts, &entities()).to_string();
    assert!(msg.contains(&format!("{}:3:", dict.display())), "{msg}");
    assert!(msg.contains("many"), "{msg}");
}

#[test]
fn bad_lexicon_values_name_the_key() {
    let cases = [
        ("[positive.terms]\n\"好\" = -1.0\n", "positive.terms.好"),
        ("[positive.terms]\n\"差\" = 1.0\n", "positive.terms.差"),
        ("[degree.words]\n\"很\" = 0.0\n", "degree.words.很"),
        (
            "[positive.terms]\n\"ＡＢＣ\" = 1.0\n",
            "positive.terms.ＡＢＣ",
        ),
        ("[scoring]\nsquash = 0.0\n", "scoring.squash"),
    ];
    for (extra, key) in cases {
        let (_dir, opts) = lexicon_with(extra);
        let msg = load_err(&opts, &[]).to_string();
        assert!(msg.contains(key), "{extra:?}: {msg}");
    }
}

#[test]
fn lexicon_syntax_errors_name_the_file() {
    let (_dir, opts) = lexicon_with("[bogus]\nx = 1\n");
    let err = load_err(&opts, &[]);
    assert!(matches!(err, TextError::LexiconSyntax { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(".toml") && msg.contains("bogus"), "{msg}");
}

#[test]
fn bad_entities_and_options_are_rejected() {
    let empty_alias = Entity {
        id: "x".into(),
        name: "X".into(),
        aliases: vec![Alias {
            text: "\u{200B} ".into(),
            kind: AliasKind::Name,
        }],
        exclude_contexts: vec![],
    };
    let msg = load_err(&options(), &[empty_alias]).to_string();
    assert!(msg.contains("entity `x`"), "{msg}");

    let opts = AnalyzerOptions {
        negative_threshold: 0.5,
        ..options()
    };
    let msg = load_err(&opts, &[]).to_string();
    assert!(msg.contains("negative_threshold"), "{msg}");
}

#[test]
fn ascii_alias_matches_case_insensitively_on_ascii_boundaries() {
    let entity = Entity {
        id: "hx".into(),
        name: "HX".into(),
        aliases: vec![Alias {
            text: "HXCF".into(),
            kind: AliasKind::Brand,
        }],
        exclude_contexts: vec![],
    };
    let opts = AnalyzerOptions {
        user_dicts: vec![],
        ..options()
    };
    let a = match Analyzer::load(&opts, &[entity]) {
        Ok(a) => a,
        Err(e) => panic!("{e}"),
    };
    let text = "用hxcf借钱；HXCF123不是；xHXCF也不是；(HxCf)是";
    let analysis = a.analyze(&common::doc("", text));
    let found: Vec<&str> = analysis
        .mentions
        .iter()
        .map(|m| &analysis.body[m.start..m.end])
        .collect();
    assert_eq!(found, vec!["hxcf", "HxCf"], "{:?}", analysis.mentions);
    // The alias is reported as configured.
    assert!(analysis.mentions.iter().all(|m| m.alias == "HXCF"));
}
