//! The synthesis configuration (TOML), its presets and validation.

use mrixai_core::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Which labelled task the dataset is built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// The benchmark: class 0 = regular (elliptic) lesion, class 1 = irregular (lobed) lesion.
    #[default]
    Lesion,
    /// Lesion-free slices labelled by axial level bin (in-domain pre-training).
    Anatomy,
    /// Lesion (blob or ring family) present or absent (in-domain pre-training).
    Presence,
}

impl Task {
    /// Name as written in configs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Task::Lesion => "lesion",
            Task::Anatomy => "anatomy",
            Task::Presence => "presence",
        }
    }
}

impl std::str::FromStr for Task {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "lesion" => Ok(Task::Lesion),
            "anatomy" => Ok(Task::Anatomy),
            "presence" => Ok(Task::Presence),
            o => Err(Error::config(
                "task",
                format!("unknown task `{o}` (expected lesion, anatomy or presence)"),
            )),
        }
    }
}

/// Whether lesions darken or brighten tissue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Polarity {
    /// Multiply by `1 - contrast·w` (hypo-intense, like most T1 lesions).
    Darken,
    /// Multiply by `1 + contrast·w`.
    Brighten,
    /// Either, with equal probability, independent of the class.
    Both,
}

/// Fractions of subjects per split (must sum to 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SplitFractions {
    /// Training fraction.
    pub train: f64,
    /// Validation fraction.
    pub val: f64,
    /// Test fraction.
    pub test: f64,
}

/// Which axial slices are used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SliceConfig {
    /// Range of axial levels as fractions of the brain's inferior → superior extent.
    pub level_range: [f32; 2],
    /// Slices whose brain covers less than this fraction of the image are skipped.
    pub min_brain_fraction: f32,
}

/// How virtual subjects vary around their base anatomy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SubjectConfig {
    /// Largest elastic displacement, as a fraction of the image side.
    pub deform_amplitude: f32,
    /// Shortest wavelength of the elastic field, as a fraction of the volume side.
    pub deform_wavelength: f32,
    /// Largest relative change of head size (uniform in ±value).
    pub scale_jitter: f32,
    /// Largest in-plane rotation in degrees (uniform in ±value).
    pub rotate_deg: f32,
    /// Strength of the smooth multiplicative bias field (log-amplitude).
    pub bias_strength: f32,
    /// Range of the intensity gamma.
    pub gamma: [f32; 2],
    /// Range of the Gaussian noise standard deviation (relative to bright tissue).
    pub noise_std: [f32; 2],
}

/// Lesion parameters; every distribution is shared by all classes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LesionConfig {
    /// Lesions per image, inclusive range.
    pub per_image: [usize; 2],
    /// Lesion area (2-D) or volume (3-D) as a fraction of the image, drawn uniformly.
    pub area_fraction: [f32; 2],
    /// Relative intensity change at the lesion core.
    pub contrast: [f32; 2],
    /// Darken, brighten or both.
    pub polarity: Polarity,
    /// Edge softness: sigma of the edge as a fraction of the lesion's equivalent radius.
    pub edge_softness: [f32; 2],
    /// Elongation (long / short axis) range, shared by every shape.
    pub aspect: [f32; 2],
    /// Boundary irregularity of irregular lesions: total amplitude of the random radial
    /// harmonics (relative radius change).
    pub irregularity: [f32; 2],
    /// Number of random radial harmonics of a boundary (frequencies 3, 4, … in 2-D; random
    /// directions in 3-D), inclusive range.
    pub lobes: [usize; 2],
    /// Class difficulty in [0, 1]: regular lesions get the random boundary of an irregular one
    /// scaled by `0.6 · difficulty` (0: ellipses; 1: the classes differ little).
    pub difficulty: f32,
    /// Interior heterogeneity: relative amplitude of a smooth random texture of the intensity
    /// change inside a lesion (mask and weights unaffected; the peak change stays the drawn
    /// contrast).
    pub heterogeneity: [f32; 2],
    /// Place lesion centres in white matter only.
    pub white_matter_only: bool,
    /// WM probability at or above which a voxel counts as white matter.
    pub wm_threshold: f32,
    /// With `white_matter_only`, the least fraction of the footprint inside white matter.
    pub min_wm_overlap: f32,
}

/// Settings of the `anatomy` task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnatomyConfig {
    /// Number of axial level bins (classes).
    pub bins: usize,
}

/// The full synthesis configuration. Fields missing from a TOML file take the value of the
/// quick profile; unknown fields are errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SynthConfig {
    /// The labelled task.
    pub task: Task,
    /// 2 for axial slices `[N,1,H,W]`, 3 for volumes `[N,1,D,H,W]`.
    pub dims: usize,
    /// Output size: `[H, W]` for 2-D, `[D, H, W]` for 3-D.
    pub size: Vec<usize>,
    /// Number of virtual subjects (spread evenly over the base volumes).
    pub subjects: usize,
    /// Images drawn from each subject.
    pub samples_per_subject: usize,
    /// Fractions of subjects per split.
    pub split: SplitFractions,
    /// Slice selection.
    pub slices: SliceConfig,
    /// Subject variability.
    pub subject: SubjectConfig,
    /// Lesions.
    pub lesion: LesionConfig,
    /// The anatomy task.
    pub anatomy: AnatomyConfig,
}

impl Default for SplitFractions {
    /// The value of the quick profile.
    fn default() -> Self {
        SynthConfig::quick().split
    }
}

impl Default for SliceConfig {
    /// The value of the quick profile.
    fn default() -> Self {
        SynthConfig::quick().slices
    }
}

impl Default for SubjectConfig {
    /// The value of the quick profile.
    fn default() -> Self {
        SynthConfig::quick().subject
    }
}

impl Default for LesionConfig {
    /// The value of the quick profile.
    fn default() -> Self {
        SynthConfig::quick().lesion
    }
}

impl Default for AnatomyConfig {
    /// The value of the quick profile.
    fn default() -> Self {
        SynthConfig::quick().anatomy
    }
}

impl Default for SynthConfig {
    /// The quick profile ([`SynthConfig::quick`]).
    fn default() -> Self {
        SynthConfig::quick()
    }
}

/// A TOML error as one line: `line L, column C: message` (the parser's own text spans
/// several lines with a source excerpt).
pub fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let mut msg = e.message().trim().replace('\n', "; ");
    if msg.starts_with("duplicate key") {
        msg.push_str(" (a key written twice, or a value and a [section] of the same name)");
    } else if let Some(rest) = msg.strip_prefix("invalid type: ")
        && rest.contains("expected struct")
    {
        msg = format!("{rest}: this key names a [section] of settings, not a single value");
    }
    match e.span() {
        // the whole document (a missing top-level key): no line to point at
        Some(span) if span.end == 0 => msg,
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.chars().rev().take_while(|c| *c != '\n').count() + 1;
            match key_at(text, span.start) {
                Some(key) => format!("line {line}, column {col} (`{key}`): {msg}"),
                None => format!("line {line}, column {col}: {msg}"),
            }
        }
        None => msg,
    }
}

/// The dotted key (`section.key`) of the `key = value` line holding byte `offset` of the
/// TOML `text`, if that line is one.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].lines().next().unwrap_or("");
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches('"');
    if key.is_empty() || key.starts_with('#') || key.starts_with('[') {
        return None;
    }
    let section = text[..start].lines().rev().find_map(|l| {
        let l = l.split('#').next().unwrap_or("").trim();
        (l.starts_with('[') && l.ends_with(']'))
            .then(|| l.trim_matches(|c| c == '[' || c == ']').trim().to_string())
    });
    Some(match section {
        Some(sec) if !sec.is_empty() => format!("{sec}.{key}"),
        _ => key.to_string(),
    })
}

fn range_check(field: &str, r: [f32; 2], lo: f32, hi: f32) -> Result<()> {
    if !r.iter().all(|v| v.is_finite()) {
        return Err(Error::config(field, "must be finite"));
    }
    if r[0] > r[1] {
        return Err(Error::config(
            field,
            format!("minimum {} exceeds maximum {}", r[0], r[1]),
        ));
    }
    if r[0] < lo || r[1] > hi {
        return Err(Error::config(
            field,
            format!("values must lie in [{lo}, {hi}], got [{}, {}]", r[0], r[1]),
        ));
    }
    Ok(())
}

fn value_check(field: &str, v: f32, lo: f32, hi: f32) -> Result<()> {
    if !v.is_finite() || v < lo || v > hi {
        return Err(Error::config(
            field,
            format!("must lie in [{lo}, {hi}], got {v}"),
        ));
    }
    Ok(())
}

impl SynthConfig {
    /// Quick profile: 64×64 slices, 150 subjects × 12 slices = 1800 images (1260/180/360).
    pub fn quick() -> Self {
        SynthConfig {
            task: Task::Lesion,
            dims: 2,
            size: vec![64, 64],
            subjects: 150,
            samples_per_subject: 12,
            split: SplitFractions {
                train: 0.7,
                val: 0.1,
                test: 0.2,
            },
            slices: SliceConfig {
                level_range: [0.3, 0.8],
                min_brain_fraction: 0.2,
            },
            subject: SubjectConfig {
                deform_amplitude: 0.05,
                deform_wavelength: 0.5,
                scale_jitter: 0.06,
                rotate_deg: 6.0,
                bias_strength: 0.2,
                gamma: [0.85, 1.2],
                noise_std: [0.01, 0.04],
            },
            lesion: LesionConfig {
                per_image: [1, 1],
                area_fraction: [0.03, 0.06],
                contrast: [0.5, 0.8],
                polarity: Polarity::Darken,
                edge_softness: [0.05, 0.2],
                aspect: [1.0, 1.6],
                irregularity: [0.5, 0.6],
                lobes: [3, 6],
                difficulty: 0.15,
                heterogeneity: [0.05, 0.15],
                white_matter_only: true,
                wm_threshold: 0.5,
                min_wm_overlap: 0.6,
            },
            anatomy: AnatomyConfig { bins: 4 },
        }
    }

    /// Paper profile: 224×224 slices (the input size of ImageNet-pretrained VGG), 500 subjects
    /// × 16 slices = 8000 images (5600/800/1600).
    pub fn paper() -> Self {
        let mut c = Self::quick();
        c.size = vec![224, 224];
        c.subjects = 500;
        c.samples_per_subject = 16;
        c
    }

    /// Reads and validates a TOML config file.
    pub fn from_toml_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let c: SynthConfig = toml::from_str(&text).map_err(|e| {
            Error::format(
                path,
                format!("invalid synth config: {}", toml_error(&text, &e)),
            )
        })?;
        // a value out of range names the file as well as the field
        c.validate()
            .map_err(|e| Error::format(path, e.to_string()))?;
        Ok(c)
    }

    /// The config as TOML text.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// Number of classes of the configured task.
    pub fn num_classes(&self) -> usize {
        match self.task {
            Task::Lesion | Task::Presence => 2,
            Task::Anatomy => self.anatomy.bins,
        }
    }

    /// Class names of the configured task.
    pub fn class_names(&self) -> Vec<String> {
        match self.task {
            Task::Lesion => vec!["regular".into(), "irregular".into()],
            Task::Presence => vec!["absent".into(), "present".into()],
            Task::Anatomy => {
                let n = self.anatomy.bins.max(1);
                let [a, b] = self.slices.level_range;
                (0..n)
                    .map(|i| {
                        let lo = a + (b - a) * i as f32 / n as f32;
                        let hi = a + (b - a) * (i + 1) as f32 / n as f32;
                        format!("level_{lo:.2}_{hi:.2}")
                    })
                    .collect()
            }
        }
    }

    /// Number of subjects per split (train, val, test).
    pub fn subjects_per_split(&self) -> [usize; 3] {
        let n = self.subjects as f64;
        let train = (self.split.train * n).round() as usize;
        let val = ((self.split.val * n).round() as usize).min(self.subjects.saturating_sub(train));
        [train, val, self.subjects.saturating_sub(train + val)]
    }

    /// Rejects impossible configurations with an error naming the field.
    pub fn validate(&self) -> Result<()> {
        self.validate_shape()?;
        self.validate_split()?;
        self.validate_sampling()?;
        self.validate_lesion()?;
        self.validate_task()
    }

    /// Dimensions, image size and samples per subject.
    fn validate_shape(&self) -> Result<()> {
        if self.dims != 2 && self.dims != 3 {
            return Err(Error::config(
                "dims",
                format!("must be 2 or 3, got {}", self.dims),
            ));
        }
        if self.size.len() != self.dims {
            return Err(Error::config(
                "size",
                format!(
                    "dims = {} needs {} entries, got {:?}",
                    self.dims, self.dims, self.size
                ),
            ));
        }
        if let Some(s) = self.size.iter().find(|&&s| !(8..=1024).contains(&s)) {
            return Err(Error::config(
                "size",
                format!("each side must lie in [8, 1024], got {s}"),
            ));
        }
        if self.samples_per_subject == 0 {
            return Err(Error::config("samples_per_subject", "must be at least 1"));
        }
        Ok(())
    }

    /// The split fractions and the subjects they give.
    fn validate_split(&self) -> Result<()> {
        let fr = [
            ("split.train", self.split.train),
            ("split.val", self.split.val),
            ("split.test", self.split.test),
        ];
        for (f, v) in fr {
            if !v.is_finite() || !(0.0..=1.0).contains(&v) {
                return Err(Error::config(f, format!("must lie in [0, 1], got {v}")));
            }
        }
        let sum = self.split.train + self.split.val + self.split.test;
        if (sum - 1.0).abs() > 1e-6 {
            return Err(Error::config(
                "split",
                format!("fractions must sum to 1, got {sum}"),
            ));
        }
        let per = self.subjects_per_split();
        for (i, name) in ["split.train", "split.val", "split.test"]
            .iter()
            .enumerate()
        {
            if per[i] == 0 {
                return Err(Error::config(
                    *name,
                    format!(
                        "gives 0 of {} subjects; raise `subjects` or this fraction",
                        self.subjects
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Slice levels and the subject variation.
    fn validate_sampling(&self) -> Result<()> {
        range_check("slices.level_range", self.slices.level_range, 0.0, 1.0)?;
        if self.slices.level_range[0] == self.slices.level_range[1] && self.dims == 2 {
            return Err(Error::config("slices.level_range", "is empty"));
        }
        value_check(
            "slices.min_brain_fraction",
            self.slices.min_brain_fraction,
            0.0,
            0.9,
        )?;
        let s = &self.subject;
        value_check("subject.deform_amplitude", s.deform_amplitude, 0.0, 0.2)?;
        value_check("subject.deform_wavelength", s.deform_wavelength, 0.05, 4.0)?;
        value_check("subject.scale_jitter", s.scale_jitter, 0.0, 0.3)?;
        value_check("subject.rotate_deg", s.rotate_deg, 0.0, 45.0)?;
        value_check("subject.bias_strength", s.bias_strength, 0.0, 1.0)?;
        range_check("subject.gamma", s.gamma, 0.2, 5.0)?;
        range_check("subject.noise_std", s.noise_std, 0.0, 0.5)?;
        Ok(())
    }

    /// The lesion distributions, against the image and brain size.
    fn validate_lesion(&self) -> Result<()> {
        let l = &self.lesion;
        if l.per_image[0] > l.per_image[1] {
            return Err(Error::config("lesion.per_image", "minimum exceeds maximum"));
        }
        if l.per_image[0] == 0 {
            return Err(Error::config(
                "lesion.per_image",
                "must be at least 1 lesion per lesion image",
            ));
        }
        if l.per_image[1] > 16 {
            return Err(Error::config(
                "lesion.per_image",
                "at most 16 lesions per image",
            ));
        }
        range_check("lesion.area_fraction", l.area_fraction, 0.0, 1.0)?;
        if l.area_fraction[0] <= 0.0 {
            return Err(Error::config(
                "lesion.area_fraction",
                "lesion size must be > 0",
            ));
        }
        let min_px = l.area_fraction[0] * self.size.iter().product::<usize>() as f32;
        if min_px < 4.0 {
            return Err(Error::config(
                "lesion.area_fraction",
                format!(
                    "smallest lesion covers {min_px:.1} voxel(s) at this size; needs at least 4"
                ),
            ));
        }
        // Lesions must fit inside the brain with room to move: at most half the smallest brain.
        let brain_floor = if self.dims == 2 {
            self.slices.min_brain_fraction.max(0.05)
        } else {
            0.15
        };
        let worst = l.area_fraction[1] * l.per_image[1] as f32;
        if worst > 0.5 * brain_floor {
            return Err(Error::config(
                "lesion.area_fraction",
                format!(
                    "lesions larger than the brain: up to {} lesion(s) of {:.3} of the image cannot fit in a brain \
                     covering as little as {:.3} (keep per_image × max area ≤ half of it)",
                    l.per_image[1], l.area_fraction[1], brain_floor
                ),
            ));
        }
        let cmax = if l.polarity == Polarity::Brighten {
            3.0
        } else {
            0.95
        };
        range_check("lesion.contrast", l.contrast, 0.0, cmax)?;
        if l.contrast[0] <= 0.0 {
            return Err(Error::config(
                "lesion.contrast",
                "must be > 0 (a lesion must change intensity)",
            ));
        }
        range_check("lesion.edge_softness", l.edge_softness, 0.0, 1.0)?;
        range_check("lesion.aspect", l.aspect, 1.0, 4.0)?;
        range_check("lesion.irregularity", l.irregularity, 0.05, 0.6)?;
        value_check("lesion.difficulty", l.difficulty, 0.0, 1.0)?;
        range_check("lesion.heterogeneity", l.heterogeneity, 0.0, 0.9)?;
        if l.lobes[0] < 2 || l.lobes[0] > l.lobes[1] || l.lobes[1] > 12 {
            return Err(Error::config(
                "lesion.lobes",
                format!("must satisfy 2 ≤ min ≤ max ≤ 12, got {:?}", l.lobes),
            ));
        }
        value_check("lesion.wm_threshold", l.wm_threshold, 0.0, 1.0)?;
        value_check("lesion.min_wm_overlap", l.min_wm_overlap, 0.0, 1.0)?;
        Ok(())
    }

    /// What the task needs of the rest.
    fn validate_task(&self) -> Result<()> {
        if self.task == Task::Anatomy {
            if self.dims != 2 {
                return Err(Error::config(
                    "task",
                    "the anatomy task labels axial levels and needs dims = 2",
                ));
            }
            if self.anatomy.bins < 2 || self.anatomy.bins > 32 {
                return Err(Error::config(
                    "anatomy.bins",
                    format!("must lie in [2, 32], got {}", self.anatomy.bins),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TOML error names the dotted key of its line, whatever comments follow the section
    /// header; a key line before any header is a top-level key.
    #[test]
    fn errors_name_the_dotted_key() {
        let text = "seed = 1\n[lesion]   # comment = x\npolarity = 3\n";
        assert_eq!(
            key_at(text, text.find("polarity").unwrap()).as_deref(),
            Some("lesion.polarity")
        );
        assert_eq!(key_at(text, 0).as_deref(), Some("seed"));
        assert_eq!(key_at(text, text.find("[lesion]").unwrap()), None);
    }

    #[test]
    fn presets_validate_and_roundtrip() {
        for c in [SynthConfig::quick(), SynthConfig::paper()] {
            c.validate().unwrap();
            let back: SynthConfig = toml::from_str(&c.to_toml()).unwrap();
            assert_eq!(back, c);
        }
        assert_eq!(SynthConfig::quick().subjects_per_split(), [105, 15, 30]);
        let partial: SynthConfig =
            toml::from_str("size = [32, 32]\n[lesion]\ncontrast = [0.2, 0.3]\n").unwrap();
        assert_eq!(partial.size, [32, 32]);
        assert_eq!(partial.lesion.contrast, [0.2, 0.3]);
        assert_eq!(partial.lesion.lobes, SynthConfig::quick().lesion.lobes);
        assert!(toml::from_str::<SynthConfig>("[lesion]\ncontrast_typo = 1\n").is_err());
        for (text, needle) in [
            ("subject = 20\n", "names a [section]"),
            ("subject = 20\n[subject]\nrotate_deg = 3.0\n", "same name"),
        ] {
            let e = toml::from_str::<SynthConfig>(text).unwrap_err();
            let line = toml_error(text, &e);
            assert!(line.contains(needle) && !line.contains('\n'), "{line}");
        }
    }

    #[test]
    fn impossible_configs_name_the_field() {
        type Edit = Box<dyn Fn(&mut SynthConfig)>;
        let cases: Vec<(&str, Edit)> = vec![
            (
                "lesion.area_fraction",
                Box::new(|c| c.lesion.area_fraction = [0.0, 0.02]),
            ),
            (
                "lesion.area_fraction",
                Box::new(|c| c.lesion.area_fraction = [0.2, 0.5]),
            ),
            ("split", Box::new(|c| c.split.test = 0.5)),
            (
                "split.val",
                Box::new(|c| {
                    c.subjects = 3;
                    c.split = SplitFractions {
                        train: 0.9,
                        val: 0.05,
                        test: 0.05,
                    };
                }),
            ),
            ("size", Box::new(|c| c.size = vec![64])),
            ("size", Box::new(|c| c.size = vec![0, 64])),
            ("dims", Box::new(|c| c.dims = 4)),
            (
                "samples_per_subject",
                Box::new(|c| c.samples_per_subject = 0),
            ),
            (
                "lesion.contrast",
                Box::new(|c| c.lesion.contrast = [0.5, 0.2]),
            ),
            (
                "lesion.per_image",
                Box::new(|c| c.lesion.per_image = [0, 1]),
            ),
            (
                "anatomy.bins",
                Box::new(|c| {
                    c.task = Task::Anatomy;
                    c.anatomy.bins = 1;
                }),
            ),
            (
                "subject.gamma",
                Box::new(|c| c.subject.gamma = [f32::NAN, 1.0]),
            ),
        ];
        for (field, f) in cases {
            let mut c = SynthConfig::quick();
            f(&mut c);
            let e = c.validate().unwrap_err().to_string();
            assert!(
                e.contains(&format!("`{field}`")),
                "expected field {field}: {e}"
            );
        }
    }
}
