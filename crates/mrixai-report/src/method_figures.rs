//! Per-method figures of one metric, one mark per pre-training configuration within each
//! method: box plots of a continuous metric, proportions with Wilson intervals of a binary
//! (0/1 per sample) one.

use crate::figures::{CategoryAxis, INK, fig_err, finish, ink_text, lighten, padded, text_width};
use mrixai_core::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

/// A mark in data coordinates.
enum Mark {
    Line((f64, f64), (f64, f64), ShapeStyle),
    Rect([(f64, f64); 2], ShapeStyle),
    Dot((f64, f64), ShapeStyle),
}

impl Mark {
    fn element<'a>(self) -> DynElement<'static, SVGBackend<'a>, (f64, f64)> {
        match self {
            Mark::Line(a, b, st) => PathElement::new(vec![a, b], st).into_dyn(),
            Mark::Rect(corners, st) => Rectangle::new(corners, st).into_dyn(),
            Mark::Dot(c, st) => Circle::new(c, 4, st).into_dyn(),
        }
    }
}

/// How one configuration (a legend entry) is drawn.
#[derive(Debug, Clone)]
pub struct SeriesStyle {
    /// Legend label.
    pub label: String,
    /// Colour.
    pub color: RGBColor,
    /// Drawn hollow (frozen configurations), else filled.
    pub hollow: bool,
}

/// Box statistics of one group.
#[derive(Debug, Clone, Copy)]
pub struct BoxStats {
    /// Lower whisker.
    pub lo: f64,
    /// First quartile.
    pub q1: f64,
    /// Median.
    pub median: f64,
    /// Third quartile.
    pub q3: f64,
    /// Upper whisker.
    pub hi: f64,
}

/// Tukey box statistics of finite values (whiskers at the last point within 1.5 IQR).
pub fn box_stats(values: &[f64]) -> Option<BoxStats> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let q = |p: f64| mrixai_stats::describe::quantile_sorted(&v, p);
    let (q1, median, q3) = (q(0.25), q(0.5), q(0.75));
    let iqr = q3 - q1;
    let lo = v
        .iter()
        .copied()
        .find(|x| *x >= q1 - 1.5 * iqr)
        .unwrap_or(q1);
    let hi = v
        .iter()
        .rev()
        .copied()
        .find(|x| *x <= q3 + 1.5 * iqr)
        .unwrap_or(q3);
    Some(BoxStats {
        lo,
        q1,
        median,
        q3,
        hi,
    })
}

/// One box series: a configuration with one box per method.
#[derive(Debug, Clone)]
pub struct BoxSeries {
    /// How it is drawn.
    pub style: SeriesStyle,
    /// Box per method (None where there is no data).
    pub boxes: Vec<Option<BoxStats>>,
}

/// A proportion of samples with its 95 % Wilson interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Proportion {
    /// Share of samples scoring 1.
    pub p: f64,
    /// Lower end of the interval.
    pub lo: f64,
    /// Upper end of the interval.
    pub hi: f64,
}

impl Proportion {
    /// The proportion of ones among 0/1 `values` (non-finite ones left out); None if none.
    pub fn of(values: &[f64]) -> Option<Proportion> {
        let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        let ones = v.iter().filter(|x| **x == 1.0).count();
        let (lo, hi) = mrixai_stats::describe::wilson_interval(ones, v.len(), 0.95)?;
        Some(Proportion {
            p: ones as f64 / v.len() as f64,
            lo,
            hi,
        })
    }
}

/// One proportion series: a configuration with one proportion per method.
#[derive(Debug, Clone)]
pub struct PropSeries {
    /// How it is drawn.
    pub style: SeriesStyle,
    /// Proportion per method (None where there is no data).
    pub props: Vec<Option<Proportion>>,
}

/// Box plots of one metric: methods along x, one box per configuration within a method.
pub fn box_figure(metric: &str, methods: &[String], series: &[BoxSeries]) -> Result<String> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for b in series.iter().flat_map(|s| s.boxes.iter().flatten()) {
        lo = lo.min(b.lo);
        hi = hi.max(b.hi);
    }
    let styles: Vec<&SeriesStyle> = series.iter().map(|s| &s.style).collect();
    method_chart(methods, &styles, metric, padded(lo, hi, 0.05), |slot| {
        let mut out = Vec::new();
        for (si, s) in series.iter().enumerate() {
            let (col, fill) = marks(&s.style);
            for (mi, b) in s.boxes.iter().enumerate() {
                let Some(b) = b else { continue };
                let (xc, hw) = (slot.centre(mi, si), slot.half_width());
                let corners = [(xc - hw, b.q1), (xc + hw, b.q3)];
                out.extend([
                    Mark::Line((xc, b.lo), (xc, b.q1), col.stroke_width(1)),
                    Mark::Line((xc, b.q3), (xc, b.hi), col.stroke_width(1)),
                    Mark::Rect(corners, fill),
                    Mark::Rect(corners, col.stroke_width(1)),
                    Mark::Line(
                        (xc - hw, b.median),
                        (xc + hw, b.median),
                        INK.stroke_width(2),
                    ),
                ]);
            }
        }
        out
    })
}

/// Proportions of one binary metric: methods along x, per configuration the share of
/// samples scoring 1 (dot) with its 95 % Wilson interval (bar).
pub fn proportion_figure(
    metric: &str,
    methods: &[String],
    series: &[PropSeries],
) -> Result<String> {
    let styles: Vec<&SeriesStyle> = series.iter().map(|s| &s.style).collect();
    let y_desc = format!("{metric} (share of samples)");
    method_chart(methods, &styles, &y_desc, (-0.02, 1.02), |slot| {
        let mut out = Vec::new();
        for (si, s) in series.iter().enumerate() {
            let (col, fill) = marks(&s.style);
            for (mi, p) in s.props.iter().enumerate() {
                let Some(p) = p else { continue };
                let xc = slot.centre(mi, si);
                out.extend([
                    Mark::Line((xc, p.lo), (xc, p.hi), col.stroke_width(2)),
                    Mark::Dot((xc, p.p), fill),
                    Mark::Dot((xc, p.p), col.stroke_width(1)),
                ]);
            }
        }
        out
    })
}

/// The stroke colour and the fill of a series' marks.
fn marks(style: &SeriesStyle) -> (RGBColor, ShapeStyle) {
    let fill = if style.hollow {
        WHITE.filled()
    } else {
        lighten(style.color, 0.55).filled()
    };
    (style.color, fill)
}

/// Where the marks of one method × configuration go: methods at x = 0, 1, …, their
/// configurations side by side within 0.8 of a unit.
#[derive(Debug, Clone, Copy)]
struct Slots {
    per_method: usize,
}

impl Slots {
    fn width(self) -> f64 {
        0.8 / self.per_method.max(1) as f64
    }
    fn centre(self, method: usize, series: usize) -> f64 {
        method as f64 - 0.4 + self.width() * (series as f64 + 0.5)
    }
    fn half_width(self) -> f64 {
        self.width() * 0.38
    }
}

/// Height of the plot and its x axis line, without the labels below it.
const PLOT_H: u32 = 344;

/// A per-method chart: the category axis of `methods` (labels turned when they do not
/// fit), `y` range and description, the elements `marks` returns, and the legend of
/// `styles` to the right of the plot.
fn method_chart<F>(
    methods: &[String],
    styles: &[&SeriesStyle],
    y_desc: &str,
    (lo, hi): (f64, f64),
    marks: F,
) -> Result<String>
where
    F: FnOnce(Slots) -> Vec<Mark>,
{
    let n = methods.len().max(1);
    let k = styles.len().max(1);
    let widest = styles
        .iter()
        .map(|s| text_width(&s.label, 12))
        .fold(text_width("configuration", 13), f64::max);
    let legend_w = widest.ceil() as u32 + 40;
    // wide enough for the legend and a plot of at least 200 pixels
    let w = ((n * k) as u32 * 16 + n as u32 * 30 + 260)
        .clamp(640, 1400)
        .max(legend_w + 2 * 12 + 60 + 200);
    let plot_w = w - (2 * 12 + legend_w + 60);
    let axis = CategoryAxis::new(methods.to_vec(), f64::from(plot_w));
    let legend_h = 36 + 20 * styles.len() as u32;
    let h = (PLOT_H + axis.area()).max(legend_h);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(fig_err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .margin_right(legend_w)
            .x_label_area_size(axis.area())
            .y_label_area_size(60)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), lo..hi)
            .map_err(fig_err)?;
        axis.draw(&root, &mut chart, y_desc)?;
        chart
            .draw_series(
                marks(Slots { per_method: k })
                    .into_iter()
                    .map(Mark::element),
            )
            .map_err(fig_err)?;
        legend(&root, styles, w - legend_w + 12)?;
        root.present().map_err(fig_err)?;
    }
    Ok(finish(svg))
}

/// The legend of `styles` at x = `left` on the root area (the plot area clips shapes).
fn legend(root: &DrawingArea<SVGBackend, Shift>, styles: &[&SeriesStyle], left: u32) -> Result<()> {
    let lx = left as i32;
    root.draw(&Text::new("configuration", (lx, 14), ink_text(13)))
        .map_err(fig_err)?;
    for (si, s) in styles.iter().enumerate() {
        let y = 36 + 20 * si as i32;
        let corners = [(lx, y - 6), (lx + 14, y + 6)];
        let (col, fill) = marks(s);
        root.draw(&Rectangle::new(corners, fill)).map_err(fig_err)?;
        root.draw(&Rectangle::new(
            corners,
            col.stroke_width(if s.hollow { 2 } else { 1 }),
        ))
        .map_err(fig_err)?;
        root.draw(&Text::new(s.label.clone(), (lx + 20, y - 7), ink_text(12)))
            .map_err(fig_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_stats_whiskers() {
        let b = box_stats(&[1.0, 2.0, 3.0, 4.0, 100.0]).unwrap();
        assert_eq!((b.q1, b.median, b.q3), (2.0, 3.0, 4.0));
        assert_eq!((b.lo, b.hi), (1.0, 4.0));
        assert!(box_stats(&[f64::NAN]).is_none());
    }

    #[test]
    fn binary_metrics_are_summarised_as_proportions() {
        assert!(mrixai_core::is_binary_metric("pointing_game"));
        assert!(!mrixai_core::is_binary_metric("emd_score"));
        let p = Proportion::of(&[1.0, 0.0, 1.0, 1.0, f64::NAN]).unwrap();
        assert_eq!(p.p, 0.75);
        let (lo, hi) = mrixai_stats::describe::wilson_interval(3, 4, 0.95).unwrap();
        assert_eq!((p.lo, p.hi), (lo, hi));
        assert!(Proportion::of(&[f64::NAN]).is_none());
    }
}
