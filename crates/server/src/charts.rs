//! Charts as server-side SVG, drawn by askama templates from geometry computed here: no
//! script, no CDN, nothing inline that the CSP forbids (colours come from `app.css` classes,
//! sizes from SVG attributes). Every label goes through the template's HTML escaping.
//!
//! * [`StackedBars`]: one bar per time bucket, stacked by sentiment (negative / neutral /
//!   positive), with a line of the mean sentiment score over it (-1 at the bottom, +1 at the
//!   top) — volume, negative share and sentiment over time in one picture;
//! * [`HBars`]: horizontal bars with a label and a count (top sources, facet counts).

/// Width of a chart's drawing area in SVG units (the SVG scales to its container).
pub const WIDTH: f64 = 720.0;
/// Height of the time chart's plot area.
pub const HEIGHT: f64 = 180.0;
/// Left margin for the y-axis labels.
const LEFT: f64 = 40.0;
/// Bottom margin for the x-axis labels.
const BOTTOM: f64 = 22.0;

/// One bucket of a time chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    /// Axis label (e.g. `11-26` or `14:00`).
    pub label: String,
    /// Negative documents.
    pub negative: u64,
    /// Neutral documents.
    pub neutral: u64,
    /// Positive documents.
    pub positive: u64,
    /// Mean sentiment score of the bucket's documents (None when empty).
    pub mean_score: Option<f64>,
}

/// A rectangle of a bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Rect {
    /// Left.
    pub x: String,
    /// Top.
    pub y: String,
    /// Width.
    pub w: String,
    /// Height.
    pub h: String,
    /// CSS class (`neg`, `neu`, `pos`, `bar`).
    pub class: &'static str,
    /// Tooltip.
    pub title: String,
}

/// An axis label.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    /// Anchor x.
    pub x: String,
    /// Anchor y.
    pub y: String,
    /// Text.
    pub text: String,
}

/// A stacked bar chart over time with a mean-sentiment line.
#[derive(Debug, Clone, PartialEq)]
pub struct StackedBars {
    /// Total width and height of the SVG (viewBox).
    pub view_box: String,
    /// Bar segments.
    pub rects: Vec<Rect>,
    /// x-axis labels (thinned to fit).
    pub x_labels: Vec<Label>,
    /// y-axis labels (0 and the maximum count).
    pub y_labels: Vec<Label>,
    /// The mean-sentiment polyline (`x,y x,y …`), empty when no bucket has documents.
    pub line: String,
    /// Baseline y (the x axis).
    pub base_y: String,
    /// Right end of the x axis.
    pub right_x: String,
    /// Accessible summary.
    pub summary: String,
}

fn n(v: f64) -> String {
    format!("{v:.1}")
}

impl StackedBars {
    /// Lay out `buckets` (oldest first). `None` when there is nothing to draw.
    pub fn new(buckets: &[Bucket]) -> Option<StackedBars> {
        if buckets.is_empty() {
            return None;
        }
        let totals: Vec<u64> = buckets
            .iter()
            .map(|b| b.negative + b.neutral + b.positive)
            .collect();
        let max = totals.iter().copied().max().unwrap_or(0);
        if max == 0 {
            return None;
        }
        let slot = (WIDTH - LEFT) / buckets.len() as f64;
        let bar_w = (slot * 0.8).clamp(1.0, 48.0);
        let scale = HEIGHT / max as f64;
        let mut rects = Vec::new();
        let mut points = Vec::new();
        for (i, b) in buckets.iter().enumerate() {
            let x = LEFT + i as f64 * slot + (slot - bar_w) / 2.0;
            let mut top = HEIGHT;
            for (count, class, name) in [
                (b.negative, "neg", "负面"),
                (b.neutral, "neu", "中性"),
                (b.positive, "pos", "正面"),
            ] {
                if count == 0 {
                    continue;
                }
                let h = count as f64 * scale;
                top -= h;
                rects.push(Rect {
                    x: n(x),
                    y: n(top),
                    w: n(bar_w),
                    h: n(h),
                    class,
                    title: format!("{} {name} {count} 篇", b.label),
                });
            }
            if let Some(m) = b.mean_score {
                let y = HEIGHT * (1.0 - (m.clamp(-1.0, 1.0) + 1.0) / 2.0);
                points.push(format!("{},{}", n(x + bar_w / 2.0), n(y)));
            }
        }
        // At most ~12 x labels.
        let step = buckets.len().div_ceil(12).max(1);
        let x_labels = buckets
            .iter()
            .enumerate()
            .filter(|(i, _)| i % step == 0)
            .map(|(i, b)| Label {
                x: n(LEFT + i as f64 * slot + slot / 2.0),
                y: n(HEIGHT + 16.0),
                text: b.label.clone(),
            })
            .collect();
        let y_labels = vec![
            Label {
                x: n(LEFT - 4.0),
                y: n(HEIGHT),
                text: "0".into(),
            },
            Label {
                x: n(LEFT - 4.0),
                y: n(10.0),
                text: max.to_string(),
            },
        ];
        let total: u64 = totals.iter().sum();
        let negative: u64 = buckets.iter().map(|b| b.negative).sum();
        Some(StackedBars {
            view_box: format!("0 0 {} {}", n(WIDTH), n(HEIGHT + BOTTOM)),
            rects,
            x_labels,
            y_labels,
            line: points.join(" "),
            base_y: n(HEIGHT),
            right_x: n(WIDTH),
            summary: format!(
                "{} 个时间段共 {total} 篇，其中负面 {negative} 篇；单段最多 {max} 篇",
                buckets.len()
            ),
        })
    }
}

/// One horizontal bar.
#[derive(Debug, Clone, PartialEq)]
pub struct HBar {
    /// Label (escaped by the template).
    pub label: String,
    /// Count.
    pub count: u64,
    /// Bar width in SVG units.
    pub w: String,
    /// Row y.
    pub y: String,
    /// Text baseline y.
    pub text_y: String,
}

/// Horizontal bars (top sources and the like).
#[derive(Debug, Clone, PartialEq)]
pub struct HBars {
    /// viewBox.
    pub view_box: String,
    /// Rows, largest first as given.
    pub bars: Vec<HBar>,
}

/// Height of one row of [`HBars`].
const ROW: f64 = 22.0;
/// Width given to labels in [`HBars`].
const LABEL_W: f64 = 220.0;

impl HBars {
    /// Lay out `(label, count)` rows. `None` when empty.
    pub fn new(rows: &[(String, u64)]) -> Option<HBars> {
        let max = rows.iter().map(|r| r.1).max()?;
        if max == 0 {
            return None;
        }
        let room = WIDTH - LABEL_W - 60.0;
        let bars = rows
            .iter()
            .enumerate()
            .map(|(i, (label, count))| HBar {
                label: label.clone(),
                count: *count,
                w: n((*count as f64 / max as f64 * room).max(1.0)),
                y: n(i as f64 * ROW + 3.0),
                text_y: n(i as f64 * ROW + 16.0),
            })
            .collect();
        Some(HBars {
            view_box: format!("0 0 {} {}", n(WIDTH), n(rows.len() as f64 * ROW)),
            bars,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(label: &str, neg: u64, neu: u64, pos: u64, mean: Option<f64>) -> Bucket {
        Bucket {
            label: label.into(),
            negative: neg,
            neutral: neu,
            positive: pos,
            mean_score: mean,
        }
    }

    #[test]
    fn bars_stack_to_the_bucket_total_scaled_to_the_largest() {
        let c = StackedBars::new(&[
            b("11-25", 2, 1, 1, Some(-0.5)),
            b("11-26", 0, 0, 0, None),
            b("11-27", 1, 0, 1, Some(0.0)),
        ])
        .unwrap();
        // The first bucket is the largest: its segments fill the plot height exactly.
        let first: f64 = c.rects[..3]
            .iter()
            .map(|r| r.h.parse::<f64>().unwrap())
            .sum();
        assert!((first - HEIGHT).abs() < 0.5, "{first}");
        assert_eq!(c.rects[0].class, "neg");
        assert_eq!(c.rects[0].title, "11-25 负面 2 篇");
        // The empty bucket draws nothing and breaks no line point.
        assert_eq!(c.rects.len(), 5);
        assert_eq!(c.line.split(' ').count(), 2);
        // Mean -0.5 sits at three quarters of the height; 0 in the middle.
        let ys: Vec<f64> = c
            .line
            .split(' ')
            .map(|p| p.split(',').nth(1).unwrap().parse().unwrap())
            .collect();
        assert!((ys[0] - HEIGHT * 0.75).abs() < 0.2 && (ys[1] - HEIGHT * 0.5).abs() < 0.2);
        assert_eq!(c.y_labels[1].text, "4");
        assert!(c.summary.contains("共 6 篇") && c.summary.contains("负面 3 篇"));
    }

    #[test]
    fn nothing_to_draw_is_no_chart() {
        assert!(StackedBars::new(&[]).is_none());
        assert!(StackedBars::new(&[b("x", 0, 0, 0, None)]).is_none());
        assert!(HBars::new(&[]).is_none());
    }

    #[test]
    fn x_labels_are_thinned_to_fit() {
        let many: Vec<Bucket> = (0..48).map(|i| b(&format!("{i}"), 1, 0, 0, None)).collect();
        let c = StackedBars::new(&many).unwrap();
        assert!(c.x_labels.len() <= 12, "{}", c.x_labels.len());
    }

    #[test]
    fn horizontal_bars_are_proportional() {
        let h = HBars::new(&[("a".into(), 10), ("b".into(), 5)]).unwrap();
        let w0: f64 = h.bars[0].w.parse().unwrap();
        let w1: f64 = h.bars[1].w.parse().unwrap();
        assert!((w0 / w1 - 2.0).abs() < 0.01);
    }
}
