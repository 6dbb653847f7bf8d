//! The Chinese files of chardet's test corpus (`../shared/corpora/charsets/chardet`: folder
//! name = true encoding; real blog feeds and pages, some without any declaration) through
//! the charset decision every fetched body gets: each must decode to the same text as its
//! true encoding gives.

use std::path::PathBuf;

use yuqing_connectors::charset;

#[test]
fn chinese_chardet_files_decode_as_their_true_encoding() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/charsets/chardet/tests");
    if !root.is_dir() {
        println!("skip: {} not found", root.display());
        return;
    }
    let mut total = 0;
    let mut wrong = Vec::new();
    for folder in ["GB2312", "Big5", "utf-8"] {
        let truth = encoding_rs::Encoding::for_label(folder.as_bytes()).unwrap();
        let mut files: Vec<_> = std::fs::read_dir(root.join(folder))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        for f in files {
            let bytes = std::fs::read(&f).unwrap();
            let (want, _, _) = truth.decode(&bytes);
            let got = charset::decode(&bytes, None, None);
            total += 1;
            if got.text != want {
                wrong.push(format!(
                    "{} decoded as {} ({:?})",
                    f.strip_prefix(&root).unwrap().display(),
                    got.encoding.name(),
                    got.source
                ));
            }
        }
    }
    println!(
        "chardet corpus: {} of {total} Chinese files decode right",
        total - wrong.len()
    );
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// Real GB2312, GB18030 and Big5 pages (JD.com, 500.com, …; `pages/anglesharp/expected.tsv`
/// names a text each must contain) decode so that the text is there, as the web_page kind
/// decodes them.
#[test]
fn real_legacy_pages_decode_with_their_expected_text() {
    let root =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/pages/anglesharp");
    let Ok(tsv) = std::fs::read_to_string(root.join("expected.tsv")) else {
        println!("skip: {} not found", root.display());
        return;
    };
    let mut checked = 0;
    for line in tsv.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let bytes =
            std::fs::read(root.join("src/AngleSharp.Core.Tests/Resources").join(f[0])).unwrap();
        let d = charset::decode(&bytes, Some("text/html"), Some("com"));
        assert!(
            d.text.contains(f[3]),
            "{} decoded as {} does not contain {}",
            f[0],
            d.encoding.name(),
            f[3]
        );
        checked += 1;
    }
    println!("anglesharp pages: {checked} expected texts found");
}
