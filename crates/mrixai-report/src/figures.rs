//! Figures drawn with plotters' SVG backend: accuracy per configuration,
//! explanation-vs-accuracy scatter with per-source OLS fits, residuals against pre-trained
//! layers, and the house style they share with [`crate::method_figures`].

use mrixai_core::{Error, Result, Source, SourceName};
use plotters::chart::MeshStyle;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Width/height of single figures in pixels.
const PANEL_W: u32 = 300;
const PANEL_H: u32 = 250;
pub(crate) const FONT: &str = "sans-serif";
pub(crate) const INK: RGBColor = RGBColor(51, 51, 51);
const GRID: RGBColor = RGBColor(225, 225, 225);

pub(crate) fn fig_err<E: std::fmt::Debug>(e: E) -> Error {
    Error::invalid(format!("drawing a figure failed: {e:?}"))
}

/// Colour of a pre-training source (Okabe–Ito palette; `scratch` is grey).
pub fn source_color(source: &SourceName, all_sources: &[SourceName]) -> RGBColor {
    const PALETTE: [RGBColor; 6] = [
        RGBColor(0, 114, 178),
        RGBColor(213, 94, 0),
        RGBColor(0, 158, 115),
        RGBColor(204, 121, 167),
        RGBColor(230, 159, 0),
        RGBColor(86, 180, 233),
    ];
    match source.known() {
        Some(Source::Scratch) => RGBColor(120, 120, 120),
        Some(Source::Ood) => PALETTE[0],
        Some(Source::Mri) => PALETTE[1],
        None => {
            let others: Vec<&SourceName> = (all_sources.iter())
                .filter(|s| s.known().is_none())
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

pub(crate) fn finish(svg: String) -> String {
    // plotters writes fixed width/height; make the figure scale with the page
    svg.replacen(
        "<svg ",
        "<svg class=\"fig\" preserveAspectRatio=\"xMidYMid meet\" ",
        1,
    )
}

/// Text of `px` pixels in the figure font and ink colour.
pub(crate) fn ink_text(px: u32) -> TextStyle<'static> {
    (FONT, px).into_font().color(&INK)
}

/// The common look of a mesh: no minor lines, light grey major lines, ink axes, tick labels
/// of `label_px` and axis descriptions of `desc_px` pixels.
pub(crate) fn house_style<'m, 'a, 'b, X, Y, DB>(
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

/// Upper estimate of the width in pixels of `text` at `px` pixels in the figure font
/// (0.62 em per character: wider than the average glyph of the common sans-serif fonts).
pub(crate) fn text_width(text: &str, px: u32) -> f64 {
    text.chars().count() as f64 * 0.62 * f64::from(px)
}

/// Size of category tick labels, in pixels.
const CATEGORY_PX: u32 = 13;

/// The tick labels of a category axis (x positions 0, 1, … stand for `labels`): written
/// horizontally when the widest fits its slot, else turned to read upwards, so that no two
/// labels overlap.
pub(crate) struct CategoryAxis {
    labels: Vec<String>,
    turned: bool,
    /// Height of the label area below the plot.
    area: u32,
}

impl CategoryAxis {
    /// The axis of `labels` on a plot `plot_px` pixels wide.
    pub(crate) fn new(labels: Vec<String>, plot_px: f64) -> Self {
        let slot = plot_px / labels.len().max(1) as f64;
        let widest = labels
            .iter()
            .map(|l| text_width(l, CATEGORY_PX))
            .fold(0.0, f64::max);
        let turned = widest + 8.0 > slot;
        Self {
            area: if turned {
                widest.ceil() as u32 + 16
            } else {
                36
            },
            turned,
            labels,
        }
    }

    /// Height of the label area below the plot.
    pub(crate) fn area(&self) -> u32 {
        self.area
    }

    /// Draws the chart's mesh (with `y_desc` on the y axis) and the labels; turned labels
    /// are drawn on `root`, ending just below their tick.
    pub(crate) fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
        y_desc: &str,
    ) -> Result<()> {
        let labels = if self.turned {
            Vec::new()
        } else {
            self.labels.clone()
        };
        let fmt = move |x: &f64| {
            let r = x.round();
            if (x - r).abs() < 1e-6 && r >= 0.0 && (r as usize) < labels.len() {
                labels[r as usize].clone()
            } else {
                String::new()
            }
        };
        let n = self.labels.len().max(1);
        let mut mesh = chart.configure_mesh();
        mesh.disable_x_mesh()
            .x_labels(2 * n + 2)
            .x_label_formatter(&fmt)
            .y_desc(y_desc);
        house_style(&mut mesh, CATEGORY_PX, 14)
            .draw()
            .map_err(fig_err)?;
        if self.turned {
            let y0 = chart.y_range().start;
            let style = ink_text(CATEGORY_PX)
                .transform(FontTransform::Rotate270)
                .pos(Pos::new(HPos::Right, VPos::Center));
            for (i, label) in self.labels.iter().enumerate() {
                let (x, y) = chart.backend_coord(&(i as f64, y0));
                root.draw(&Text::new(label.clone(), (x, y + 8), style.clone()))
                    .map_err(fig_err)?;
            }
        }
        Ok(())
    }
}

pub(crate) fn padded(lo: f64, hi: f64, frac: f64) -> (f64, f64) {
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
    pub source: SourceName,
    /// Accuracy of each model (seed) of this configuration.
    pub values: Vec<f64>,
}

/// Accuracy per configuration: one dot per model, a bar at the mean.
pub fn accuracy_figure(configs: &[ConfigPoints], sources: &[SourceName]) -> Result<String> {
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
    let labels: Vec<String> = configs.iter().map(|c| c.label.clone()).collect();
    let axis = CategoryAxis::new(labels, f64::from(w - 2 * 12 - 56));
    {
        let h = 340 + axis.area() - 36;
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(fig_err)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(axis.area())
            .y_label_area_size(56)
            .build_cartesian_2d(
                -0.5f64..(n as f64 - 0.5),
                lo.max(0.0)..hi.min(1.0).max(lo + 0.01),
            )
            .map_err(fig_err)?;
        axis.draw(&root, &mut chart, "test accuracy")?;
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

/// A point of a scatter panel.
#[derive(Debug, Clone)]
pub struct Point {
    /// x value.
    pub x: f64,
    /// y value.
    pub y: f64,
    /// Source (colour group).
    pub source: SourceName,
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
    sources: &[SourceName],
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
                .draw(&Text::new(s.as_str(), (x + 15, 10), ink_text(13)))
                .map_err(fig_err)?;
            x += 30 + 8 * s.as_str().len() as i32;
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
    fn figures_are_svg() {
        let s = accuracy_figure(
            &[ConfigPoints {
                label: "scratch".into(),
                source: "scratch".into(),
                values: vec![0.8, 0.85],
            }],
            &[Source::Scratch.into()],
        )
        .unwrap();
        assert!(s.starts_with("<svg class=\"fig\""));
        assert!(s.contains("scratch"));
    }
}
