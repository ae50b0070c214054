//! Figures drawn with plotters' SVG backend: accuracy per configuration, box plots of a
//! metric per method × configuration, explanation-vs-accuracy scatter with per-source OLS
//! fits, and residuals against pre-trained layers.

use mrixai_core::{Error, Result};
use plotters::chart::MeshStyle;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

/// Width/height of single figures in pixels.
const PANEL_W: u32 = 300;
const PANEL_H: u32 = 250;
const FONT: &str = "sans-serif";
const INK: RGBColor = RGBColor(51, 51, 51);
const GRID: RGBColor = RGBColor(225, 225, 225);

fn fig_err<E: std::fmt::Debug>(e: E) -> Error {
    Error::invalid(format!("drawing a figure failed: {e:?}"))
}

/// Colour of a pre-training source (Okabe–Ito palette; `scratch` is grey).
pub fn source_color(source: &str, all_sources: &[String]) -> RGBColor {
    const PALETTE: [RGBColor; 6] = [
        RGBColor(0, 114, 178),
        RGBColor(213, 94, 0),
        RGBColor(0, 158, 115),
        RGBColor(204, 121, 167),
        RGBColor(230, 159, 0),
        RGBColor(86, 180, 233),
    ];
    match source {
        "scratch" => RGBColor(120, 120, 120),
        "ood" => PALETTE[0],
        "mri" => PALETTE[1],
        _ => {
            let others: Vec<&String> = all_sources
                .iter()
                .filter(|s| !matches!(s.as_str(), "scratch" | "ood" | "mri"))
                .collect();
            let i = others.iter().position(|s| *s == source).unwrap_or(0);
            PALETTE[2 + i % 4]
        }
    }
}

/// `c` lightened towards white by `t` ∈ [0, 1].
pub fn lighten(c: RGBColor, t: f64) -> RGBColor {
    let f = |v: u8| (v as f64 + (255.0 - v as f64) * t).round() as u8;
    RGBColor(f(c.0), f(c.1), f(c.2))
}

/// CSS hex of a colour.
pub fn hex(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

fn finish(svg: String) -> String {
    // plotters writes fixed width/height; make the figure scale with the page
    svg.replacen(
        "<svg ",
        "<svg class=\"fig\" preserveAspectRatio=\"xMidYMid meet\" ",
        1,
    )
}

/// Text of `px` pixels in the figure font and ink colour.
fn ink_text(px: u32) -> TextStyle<'static> {
    (FONT, px).into_font().color(&INK)
}

/// The common look of a mesh: no minor lines, light grey major lines, ink axes, tick labels
/// of `label_px` and axis descriptions of `desc_px` pixels.
fn house_style<'m, 'a, 'b, X, Y, DB>(
    mesh: &'m mut MeshStyle<'a, 'b, X, Y, DB>,
    label_px: u32,
    desc_px: u32,
) -> &'m mut MeshStyle<'a, 'b, X, Y, DB>
where
    X: Ranged,
    Y: Ranged,
    DB: DrawingBackend,
{
    mesh.light_line_style(WHITE)
        .bold_line_style(GRID)
        .axis_style(INK)
        .label_style(ink_text(label_px))
        .axis_desc_style(ink_text(desc_px))
}

/// Draws the mesh of a chart whose x positions 0, 1, … stand for the categories `labels`
/// (one tick label under each), with `y_desc` on the y axis.
fn draw_category_mesh<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    labels: Vec<String>,
    y_desc: &str,
) -> Result<()> {
    let n = labels.len().max(1);
    let fmt = move |x: &f64| {
        let r = x.round();
        if (x - r).abs() < 1e-6 && r >= 0.0 && (r as usize) < labels.len() {
            labels[r as usize].clone()
        } else {
            String::new()
        }
    };
    let mut mesh = chart.configure_mesh();
    mesh.disable_x_mesh()
        .x_labels(2 * n + 2)
        .x_label_formatter(&fmt)
        .y_desc(y_desc);
    house_style(&mut mesh, 13, 14).draw().map_err(fig_err)
}

fn padded(lo: f64, hi: f64, frac: f64) -> (f64, f64) {
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    let span = (hi - lo).abs().max(1e-6);
    (lo - span * frac, hi + span * frac)
}

/// A configuration on the accuracy figure: label, source, and model accuracies.
#[derive(Debug, Clone)]
pub struct ConfigPoints {
    /// Axis label.
    pub label: String,
    /// Pre-training source (for colour).
    pub source: String,
    /// Accuracy of each model (seed) of this configuration.
    pub values: Vec<f64>,
}

/// Accuracy per configuration: one dot per model, a bar at the mean.
pub fn accuracy_figure(configs: &[ConfigPoints], sources: &[String]) -> Result<String> {
    let n = configs.len().max(1);
    let w = (90 * n as u32 + 120).max(560);
    let mut svg = String::new();
    let all: Vec<f64> = configs
        .iter()
        .flat_map(|c| c.values.iter().copied())
        .collect();
    let (lo, hi) = padded(
        all.iter().copied().fold(f64::INFINITY, f64::min),
        all.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        0.15,
    );
    {
        let root = SVGBackend::with_string(&mut svg, (w, 340)).into_drawing_area();
        root.fill(&WHITE).map_err(fig_err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(
                -0.5f64..(n as f64 - 0.5),
                lo.max(0.0)..hi.min(1.0).max(lo + 0.01),
            )
            .map_err(fig_err)?;
        let labels: Vec<String> = configs.iter().map(|c| c.label.clone()).collect();
        draw_category_mesh(&mut chart, labels, "test accuracy")?;
        for (i, c) in configs.iter().enumerate() {
            let col = source_color(&c.source, sources);
            let m = c.values.iter().sum::<f64>() / c.values.len().max(1) as f64;
            let x = i as f64;
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x - 0.32, lo.max(0.0)), (x + 0.32, m)],
                    lighten(col, 0.75).filled(),
                )))
                .map_err(fig_err)?;
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x - 0.32, m), (x + 0.32, m)],
                    col.stroke_width(2),
                )))
                .map_err(fig_err)?;
            let k = c.values.len().max(1) as f64;
            chart
                .draw_series(c.values.iter().enumerate().map(|(j, v)| {
                    let dx = if k > 1.0 {
                        (j as f64 / (k - 1.0) - 0.5) * 0.36
                    } else {
                        0.0
                    };
                    Circle::new((x + dx, *v), 4, col.filled())
                }))
                .map_err(fig_err)?;
        }
        root.present().map_err(fig_err)?;
    }
    Ok(finish(svg))
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

/// One box series: a configuration (legend entry) with one box per method.
#[derive(Debug, Clone)]
pub struct BoxSeries {
    /// Legend label.
    pub label: String,
    /// Colour.
    pub color: RGBColor,
    /// Box per method (None where there is no data).
    pub boxes: Vec<Option<BoxStats>>,
}

/// Box plots of one metric: methods along x, one box per configuration within a method.
pub fn box_figure(metric: &str, methods: &[String], series: &[BoxSeries]) -> Result<String> {
    let n = methods.len().max(1);
    let k = series.len().max(1);
    let w = ((n * k) as u32 * 16 + n as u32 * 30 + 260).clamp(640, 1400);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for b in series.iter().flat_map(|s| s.boxes.iter().flatten()) {
        lo = lo.min(b.lo);
        hi = hi.max(b.hi);
    }
    let (lo, hi) = padded(lo, hi, 0.05);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, 380)).into_drawing_area();
        root.fill(&WHITE).map_err(fig_err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .margin_right(170)
            .x_label_area_size(36)
            .y_label_area_size(60)
            .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), lo..hi)
            .map_err(fig_err)?;
        draw_category_mesh(&mut chart, methods.to_vec(), metric)?;
        let slot = 0.8 / k as f64;
        for (si, s) in series.iter().enumerate() {
            let col = s.color;
            let mut elems: Vec<DynElement<'static, SVGBackend, (f64, f64)>> = Vec::new();
            for (mi, b) in s.boxes.iter().enumerate() {
                let Some(b) = b else { continue };
                let xc = mi as f64 - 0.4 + slot * (si as f64 + 0.5);
                let hw = slot * 0.38;
                elems.push(
                    PathElement::new(vec![(xc, b.lo), (xc, b.q1)], col.stroke_width(1)).into_dyn(),
                );
                elems.push(
                    PathElement::new(vec![(xc, b.q3), (xc, b.hi)], col.stroke_width(1)).into_dyn(),
                );
                elems.push(
                    Rectangle::new(
                        [(xc - hw, b.q1), (xc + hw, b.q3)],
                        lighten(col, 0.55).filled(),
                    )
                    .into_dyn(),
                );
                elems.push(
                    Rectangle::new([(xc - hw, b.q1), (xc + hw, b.q3)], col.stroke_width(1))
                        .into_dyn(),
                );
                elems.push(
                    PathElement::new(
                        vec![(xc - hw, b.median), (xc + hw, b.median)],
                        INK.stroke_width(2),
                    )
                    .into_dyn(),
                );
            }
            chart.draw_series(elems).map_err(fig_err)?;
        }
        // legend on the root area, right of the plot (the plot area clips shapes)
        let lx = w as i32 - 158;
        root.draw(&Text::new("configuration", (lx, 14), ink_text(13)))
            .map_err(fig_err)?;
        for (si, s) in series.iter().enumerate() {
            let y = 36 + 20 * si as i32;
            root.draw(&Rectangle::new(
                [(lx, y - 6), (lx + 14, y + 6)],
                lighten(s.color, 0.55).filled(),
            ))
            .map_err(fig_err)?;
            root.draw(&Rectangle::new(
                [(lx, y - 6), (lx + 14, y + 6)],
                s.color.stroke_width(1),
            ))
            .map_err(fig_err)?;
            root.draw(&Text::new(s.label.clone(), (lx + 20, y - 7), ink_text(12)))
                .map_err(fig_err)?;
        }
        root.present().map_err(fig_err)?;
    }
    Ok(finish(svg))
}

/// A point of a scatter panel.
#[derive(Debug, Clone)]
pub struct Point {
    /// x value.
    pub x: f64,
    /// y value.
    pub y: f64,
    /// Source (colour group).
    pub source: String,
}

/// One panel of a small-multiples scatter.
#[derive(Debug, Clone)]
pub struct Panel {
    /// Panel title.
    pub title: String,
    /// Points.
    pub points: Vec<Point>,
}

/// Least-squares line y = a + b x through points; None when x is constant or n < 2.
fn ols_line(pts: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = pts.len() as f64;
    if pts.len() < 2 {
        return None;
    }
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    if sxx <= 1e-15 {
        return None;
    }
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let b = sxy / sxx;
    Some((my - b * mx, b))
}

/// Small multiples: one scatter panel per method, coloured by source; `fit` draws a
/// per-source OLS line, `zero_line` a horizontal line at 0; `jitter` spreads sources
/// horizontally (for integer x such as layer counts).
#[allow(clippy::too_many_arguments)]
pub fn panels_figure(
    panels: &[Panel],
    sources: &[String],
    x_desc: &str,
    y_desc: &str,
    fit: bool,
    zero_line: bool,
    jitter: f64,
) -> Result<String> {
    let cols = panels.len().clamp(1, 4);
    let rows = panels.len().div_ceil(cols).max(1);
    let legend_h = 34u32;
    let (w, h) = (PANEL_W * cols as u32, PANEL_H * rows as u32 + legend_h);
    let all: Vec<&Point> = panels.iter().flat_map(|p| p.points.iter()).collect();
    let (xlo, xhi) = padded(
        all.iter().map(|p| p.x).fold(f64::INFINITY, f64::min),
        all.iter().map(|p| p.x).fold(f64::NEG_INFINITY, f64::max),
        0.08,
    );
    let (ylo, yhi) = padded(
        all.iter().map(|p| p.y).fold(f64::INFINITY, f64::min),
        all.iter().map(|p| p.y).fold(f64::NEG_INFINITY, f64::max),
        0.08,
    );
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(fig_err)?;
        let (legend, body) = root.split_vertically(legend_h);
        // shared legend
        let mut x = 10i32;
        for s in sources {
            let col = source_color(s, sources);
            legend
                .draw(&Circle::new((x + 5, 17), 5, col.filled()))
                .map_err(fig_err)?;
            legend
                .draw(&Text::new(s.clone(), (x + 15, 10), ink_text(13)))
                .map_err(fig_err)?;
            x += 30 + 8 * s.len() as i32;
        }
        let areas: Vec<DrawingArea<SVGBackend, Shift>> = body.split_evenly((rows, cols));
        for (panel, area) in panels.iter().zip(areas.iter()) {
            let mut chart = ChartBuilder::on(area)
                .caption(&panel.title, ink_text(14))
                .margin(8)
                .x_label_area_size(34)
                .y_label_area_size(50)
                .build_cartesian_2d(xlo..xhi, ylo..yhi)
                .map_err(fig_err)?;
            let mut mesh = chart.configure_mesh();
            mesh.x_desc(x_desc).y_desc(y_desc).x_labels(5).y_labels(5);
            house_style(&mut mesh, 11, 12).draw().map_err(fig_err)?;
            if zero_line {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(xlo, 0.0), (xhi, 0.0)],
                        INK.mix(0.6).stroke_width(1),
                    )))
                    .map_err(fig_err)?;
            }
            for (si, s) in sources.iter().enumerate() {
                let col = source_color(s, sources);
                let pts: Vec<(f64, f64)> = panel
                    .points
                    .iter()
                    .filter(|p| &p.source == s)
                    .map(|p| (p.x, p.y))
                    .collect();
                let off = if sources.len() > 1 {
                    (si as f64 / (sources.len() - 1) as f64 - 0.5) * jitter
                } else {
                    0.0
                };
                chart
                    .draw_series(
                        pts.iter()
                            .map(|(x, y)| Circle::new((x + off, *y), 4, col.mix(0.85).filled())),
                    )
                    .map_err(fig_err)?;
                if fit && let Some((a, b)) = ols_line(&pts) {
                    let x0 = pts.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
                    let x1 = pts.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
                    chart
                        .draw_series(std::iter::once(PathElement::new(
                            vec![(x0, a + b * x0), (x1, a + b * x1)],
                            col.stroke_width(2),
                        )))
                        .map_err(fig_err)?;
                }
            }
        }
        root.present().map_err(fig_err)?;
    }
    Ok(finish(svg))
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
    fn figures_are_svg() {
        let s = accuracy_figure(
            &[ConfigPoints {
                label: "scratch".into(),
                source: "scratch".into(),
                values: vec![0.8, 0.85],
            }],
            &["scratch".to_string()],
        )
        .unwrap();
        assert!(s.starts_with("<svg class=\"fig\""));
        assert!(s.contains("scratch"));
    }
}
