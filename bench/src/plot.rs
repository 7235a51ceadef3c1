//! SVG plots beside the benchmark tables (the bins' `--svg DIR` option).
//!
//! plotters' SVG backend only: text is written as SVG `<text>` elements set in the viewer's
//! `sans-serif` font, so no font file or system font library is read (plotters lays text out
//! with a crude width estimate, which is why labels are kept short).

use std::error::Error;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
pub use plotters::style::RGBColor;

/// What a plot function returns.
pub type PlotResult = Result<(), Box<dyn Error>>;

const FONT: &str = "sans-serif";

/// The official SDKs' schedule (grey).
pub const OFFICIAL: RGBColor = RGBColor(105, 105, 105);
/// The core's static policy (calibration off; blue).
pub const STATIC: RGBColor = RGBColor(31, 119, 180);
/// The calibrated default (orange).
pub const CALIBRATED: RGBColor = RGBColor(217, 95, 2);
/// A third-party client (green).
pub const OTHER: RGBColor = RGBColor(27, 158, 119);
const BAND: RGBColor = RGBColor(255, 221, 140);

/// One labelled set of figures (a row of a panel, or a line of it).
#[derive(Debug, Clone)]
pub struct Series {
    /// The legend or row label.
    pub label: String,
    /// Its colour.
    pub color: RGBColor,
    /// The figures (poll instants, latencies, per-run figures, by plot).
    pub values: Vec<f64>,
}

impl Series {
    /// A series.
    pub fn new(label: impl Into<String>, color: RGBColor, values: Vec<f64>) -> Self {
        Self {
            label: label.into(),
            color,
            values,
        }
    }
}

/// One panel of a figure.
#[derive(Debug, Clone)]
pub struct Panel {
    /// The caption above it.
    pub title: String,
    /// A shaded x range (the solve-time range tasks were drawn from), if any.
    pub band: Option<(f64, f64)>,
    /// The x axis ends here (figures beyond are not drawn).
    pub x_max: f64,
    /// Its series, drawn top to bottom (category plots) or in order (line plots).
    pub series: Vec<Series>,
}

/// A white figure with a title and a note line; returns the area below them.
fn figure<'a>(
    path: &'a Path,
    size: (u32, u32),
    title: &str,
    note: &str,
) -> Result<DrawingArea<SVGBackend<'a>, Shift>, Box<dyn Error>> {
    let root = SVGBackend::new(path, size).into_drawing_area();
    root.fill(&WHITE)?;
    let (head, body) = root.split_vertically(if note.is_empty() { 40 } else { 64 });
    head.draw_text(title, &(FONT, 21).into_font().color(&BLACK), (14, 10))?;
    for (i, line) in note.lines().enumerate() {
        let y = 38 + 15 * i32::try_from(i).unwrap_or(0);
        head.draw_text(
            line,
            &(FONT, 13).into_font().color(&RGBColor(70, 70, 70)),
            (14, y),
        )?;
    }
    Ok(body)
}

fn grid<'a>(
    body: &DrawingArea<SVGBackend<'a>, Shift>,
    panels: usize,
    cols: usize,
) -> Vec<DrawingArea<SVGBackend<'a>, Shift>> {
    let cols = cols.max(1);
    body.split_evenly((panels.div_ceil(cols).max(1), cols))
}

/// The label of category `y` (row `i` drawn at `y = n − 1 − i`), empty between rows.
fn category(labels: &[String], y: f64) -> String {
    let r = y.round();
    if (y - r).abs() > 1e-6 || r < 0.0 {
        return String::new();
    }
    let n = labels.len();
    let i = r as usize;
    if i >= n {
        return String::new();
    }
    labels[n - 1 - i].clone()
}

/// Poll instants as dots, one row per schedule, over the shaded solve-time range; panels in
/// `cols` columns. Figures beyond a panel's `x_max` are left out (its title says so).
pub fn schedules(
    path: &Path,
    size: (u32, u32),
    title: &str,
    note: &str,
    x_desc: &str,
    panels: &[Panel],
    cols: usize,
) -> PlotResult {
    let body = figure(path, size, title, note)?;
    for (area, p) in grid(&body, panels.len(), cols).iter().zip(panels) {
        let n = p.series.len();
        let labels: Vec<String> = p.series.iter().map(|s| s.label.clone()).collect();
        let top = n as f64 - 0.4;
        let mut chart = ChartBuilder::on(area)
            .caption(&p.title, (FONT, 14))
            .margin(6)
            .margin_right(18)
            .x_label_area_size(36)
            .y_label_area_size(78)
            .build_cartesian_2d(0f64..p.x_max, -0.6f64..top)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(TRANSPARENT)
            .y_labels(2 * n + 2)
            .y_label_formatter(&|y| category(&labels, *y))
            .x_desc(x_desc)
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 12))
            .draw()?;
        if let Some((lo, hi)) = p.band {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(lo, -0.6), (hi.min(p.x_max), top)],
                BAND.mix(0.55).filled(),
            )))?;
        }
        for (i, s) in p.series.iter().enumerate() {
            let y = (n - 1 - i) as f64;
            let color = s.color;
            chart.draw_series(
                s.values
                    .iter()
                    .filter(|&&x| x <= p.x_max)
                    .map(move |&x| Circle::new((x, y), 3, color.filled())),
            )?;
        }
    }
    body.present()?;
    Ok(())
}

/// The empirical distribution function of each series (share of figures ≤ x), one line per
/// series, a legend per panel; panels in `cols` columns. Earlier series are drawn wider, so
/// that a later one drawn over an identical one leaves it visible at its edges.
pub fn cdfs(
    path: &Path,
    size: (u32, u32),
    title: &str,
    note: &str,
    x_desc: &str,
    panels: &[Panel],
    cols: usize,
) -> PlotResult {
    let body = figure(path, size, title, note)?;
    for (area, p) in grid(&body, panels.len(), cols).iter().zip(panels) {
        let mut chart = ChartBuilder::on(area)
            .caption(&p.title, (FONT, 14))
            .margin(6)
            .margin_right(18)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(0f64..p.x_max, 0f64..1.0)?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc("share of tasks")
            .light_line_style(TRANSPARENT)
            .y_labels(6)
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 12))
            .draw()?;
        let count = p.series.len() as u32;
        for (i, s) in p.series.iter().enumerate() {
            let width = 2 + 2 * (count - 1 - i as u32);
            let mut v = s.values.clone();
            v.sort_by(f64::total_cmp);
            if v.is_empty() {
                continue;
            }
            // The quantiles at 0.5 % steps (a small file, the same shape).
            let last = (v.len() - 1) as f64;
            let mut pts = vec![(0.0, 0.0)];
            for k in 0..=200 {
                let q = f64::from(k) / 200.0;
                let x = v[(last * q).round() as usize];
                pts.push((x.min(p.x_max), q));
            }
            let color = s.color;
            chart
                .draw_series(LineSeries::new(pts, color.stroke_width(width)))?
                .label(s.label.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(width))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.3))
            .label_font((FONT, 12))
            .draw()?;
    }
    body.present()?;
    Ok(())
}

/// Horizontal bars at the median of each series, every run as a dot on its bar and the
/// median written at its end; one row per series, panels (one per measure) side by side.
pub fn bars(
    path: &Path,
    size: (u32, u32),
    title: &str,
    note: &str,
    panels: &[Panel],
) -> PlotResult {
    let body = figure(path, size, title, note)?;
    for (area, p) in grid(&body, panels.len(), panels.len()).iter().zip(panels) {
        let n = p.series.len();
        let labels: Vec<String> = p.series.iter().map(|s| s.label.clone()).collect();
        let top = n as f64 - 0.4;
        let mut chart = ChartBuilder::on(area)
            .caption(&p.title, (FONT, 14))
            .margin(6)
            .margin_right(24)
            .x_label_area_size(36)
            .y_label_area_size(128)
            .build_cartesian_2d(0f64..p.x_max, -0.6f64..top)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(TRANSPARENT)
            .x_labels(6)
            .x_label_formatter(&|x| figure_text(*x, p.x_max))
            .y_labels(2 * n + 2)
            .y_label_formatter(&|y| category(&labels, *y))
            .label_style((FONT, 12))
            .draw()?;
        for (i, s) in p.series.iter().enumerate() {
            let y = (n - 1 - i) as f64;
            let (med, _, _) = crate::median_spread(&mut s.values.clone());
            if !med.is_finite() {
                continue;
            }
            chart.draw_series(std::iter::once(Rectangle::new(
                [(0.0, y - 0.3), (med.min(p.x_max), y + 0.3)],
                s.color.mix(0.45).filled(),
            )))?;
            chart.draw_series(
                s.values
                    .iter()
                    .filter(|x| x.is_finite())
                    .map(|&x| Circle::new((x.min(p.x_max), y), 3, BLACK.filled())),
            )?;
            let text = figure_text(med, med);
            chart.draw_series(std::iter::once(
                EmptyElement::at((med.min(p.x_max), y))
                    + Text::new(text, (6, -16), (FONT, 12).into_font()),
            ))?;
        }
    }
    body.present()?;
    Ok(())
}

/// A figure printed with as many decimals as its scale (`scale`) calls for.
fn figure_text(x: f64, scale: f64) -> String {
    if scale >= 100.0 {
        format!("{x:.0}")
    } else if scale >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    }
}
