//! `arch.json`: the description of a torchvision-style VGG, and the named presets.
//!
//! ```json
//! {"family":"vgg","in_channels":1,"input_size":[64,64],"features":[8,"M",16,"M",32,32,"M"],
//!  "avgpool":[4,4],"classifier":[64,64],"num_classes":2,"batch_norm":false}
//! ```
//!
//! An int `c` in `features` is `Conv2d(prev, c, 3, padding=1)` (+ `BatchNorm2d(c)` with
//! `batch_norm`) + `ReLU`; `"M"` is `MaxPool2d(2, 2)`. Then `AdaptiveAvgPool2d(avgpool)`,
//! flatten, and `Linear, ReLU, Dropout, Linear, ReLU, Dropout, Linear` — exactly torchvision's
//! `VGG`, so module indices and state-dict names are the same.
//!
//! Three entries in `input_size` and `avgpool` (`[D, H, W]`) make the volumetric twin:
//! `Conv3d(prev, c, 3, padding=1)`, `BatchNorm3d`, `MaxPool3d(2, 2)`, `AdaptiveAvgPool3d`, the
//! same classifier and the same module names (convolution weights `[out, in, 3, 3, 3]`).

use mrixai_core::{Error, LayerKind, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One entry of `features`: a convolution width or the max-pool marker `"M"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum FeatureItem {
    /// `Conv2d(prev, c, 3, padding=1)` followed by (BatchNorm2d and) ReLU.
    Conv(usize),
    /// Must be `"M"`: `MaxPool2d(2, 2)`.
    Pool(String),
}

impl<'de> Deserialize<'de> for FeatureItem {
    /// A positive whole number (a convolution width) or `"M"`; anything else is refused with
    /// a sentence that says so (not serde's "did not match any variant").
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Number(n) => match n.as_u64() {
                Some(c) => Ok(FeatureItem::Conv(c as usize)),
                None => Err(D::Error::custom(format!(
                    "features: {n} is not a convolution width (a whole number ≥ 1) nor \"M\""
                ))),
            },
            serde_json::Value::String(s) => Ok(FeatureItem::Pool(s)),
            other => Err(D::Error::custom(format!(
                "features: {other} is not a convolution width (a whole number ≥ 1) nor \"M\""
            ))),
        }
    }
}

/// Per-channel input normalisation `(x - mean) / std`, applied by [`crate::Vgg::prepare`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputNorm {
    /// Channel means.
    pub mean: Vec<f32>,
    /// Channel standard deviations.
    pub std: Vec<f32>,
}

impl InputNorm {
    /// The ImageNet normalisation of torchvision's pre-trained models.
    pub fn imagenet() -> Self {
        Self {
            mean: vec![0.485, 0.456, 0.406],
            std: vec![0.229, 0.224, 0.225],
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn default_dropout() -> f32 {
    0.5
}

fn is_default_dropout(p: &f32) -> bool {
    *p == 0.5
}

/// A VGG architecture (the content of `arch.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Arch {
    /// Always `"vgg"`.
    pub family: String,
    /// Input channels of `features.0`.
    pub in_channels: usize,
    /// Input size the model is meant for: `[H, W]`, or `[D, H, W]` for a volumetric model.
    pub input_size: Vec<usize>,
    /// Convolution widths and `"M"` pool markers.
    pub features: Vec<FeatureItem>,
    /// Output size of the adaptive average pool, one entry per spatial axis like `input_size`.
    pub avgpool: Vec<usize>,
    /// Widths of the two hidden linear layers.
    pub classifier: Vec<usize>,
    /// Number of classes (outputs of `classifier.6`).
    pub num_classes: usize,
    /// Conv + BatchNorm2d + ReLU blocks instead of Conv + ReLU.
    #[serde(default, skip_serializing_if = "is_false")]
    pub batch_norm: bool,
    /// Dropout probability of the classifier (torchvision: 0.5).
    #[serde(
        default = "default_dropout",
        skip_serializing_if = "is_default_dropout"
    )]
    pub dropout: f32,
    /// Input normalisation applied before `features.0` (ImageNet models); absent = none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_norm: Option<InputNorm>,
}

/// What one layer of the torchvision module list is.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerSpec {
    /// torchvision module name, e.g. `features.0`, `avgpool`, `flatten`, `classifier.6`.
    pub name: String,
    /// Layer kind.
    pub kind: LayerKind,
    /// Input and output channels (or features) for Conv/Linear/BatchNorm; zeros otherwise.
    pub in_out: (usize, usize),
}

/// The names of the presets accepted by [`Arch::preset`].
pub const PRESETS: [&str; 4] = ["vgg-small", "vgg-small-3d", "vgg16", "vgg16-bn"];

impl Arch {
    /// A named preset: `vgg-small` (the CPU default for 64×64 grayscale), `vgg-small-3d`
    /// (its CPU-sized volumetric twin, `input_size` `[D, H, W]`), `vgg16`, `vgg16-bn`
    /// (torchvision's configuration "D", 3 input channels with ImageNet normalisation, so
    /// ImageNet checkpoints load unchanged; grayscale inputs are replicated to 3 channels by
    /// [`crate::Vgg::prepare`]). `input_size` has one entry per spatial axis.
    pub fn preset(name: &str, num_classes: usize, input_size: &[usize]) -> Result<Arch> {
        let c = FeatureItem::Conv;
        let m = || FeatureItem::Pool("M".into());
        let input_size = input_size.to_vec();
        let arch = match name {
            "vgg-small" => Arch {
                family: "vgg".into(),
                in_channels: 1,
                avgpool: vec![4; input_size.len()],
                input_size,
                features: vec![c(16), m(), c(32), m(), c(64), c(64), m()],
                classifier: vec![128, 128],
                num_classes,
                batch_norm: true,
                dropout: 0.5,
                input_norm: None,
            },
            "vgg-small-3d" => Arch {
                family: "vgg".into(),
                in_channels: 1,
                avgpool: vec![2; input_size.len()],
                input_size,
                features: vec![c(8), m(), c(16), m(), c(32), m()],
                classifier: vec![64, 64],
                num_classes,
                batch_norm: true,
                dropout: 0.5,
                input_norm: None,
            },
            "vgg16" | "vgg16-bn" => {
                let mut features = Vec::new();
                for (width, reps) in [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)] {
                    for _ in 0..reps {
                        features.push(c(width));
                    }
                    features.push(m());
                }
                Arch {
                    family: "vgg".into(),
                    in_channels: 3,
                    avgpool: vec![7; input_size.len()],
                    input_size,
                    features,
                    classifier: vec![4096, 4096],
                    num_classes,
                    batch_norm: name == "vgg16-bn",
                    dropout: 0.5,
                    input_norm: Some(InputNorm::imagenet()),
                }
            }
            other => {
                return Err(Error::config(
                    "arch",
                    format!(
                        "unknown preset `{other}` (expected one of {})",
                        PRESETS.join(", ")
                    ),
                ));
            }
        };
        arch.validate()?;
        Ok(arch)
    }

    /// Reads and validates an `arch.json` file.
    pub fn read(path: &Path) -> Result<Arch> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let arch: Arch = serde_json::from_str(&text)
            .map_err(|e| Error::format(path, format!("invalid arch.json: {e}")))?;
        arch.validate()
            .map_err(|e| Error::format(path, e.to_string()))?;
        Ok(arch)
    }

    /// Checks that the description is a buildable VGG.
    pub fn validate(&self) -> Result<()> {
        if self.family != "vgg" {
            return Err(Error::config(
                "family",
                format!("`{}` is not supported (only `vgg`)", self.family),
            ));
        }
        if self.in_channels == 0 {
            return Err(Error::config("in_channels", "must be at least 1"));
        }
        if self.num_classes < 2 {
            return Err(Error::config(
                "num_classes",
                format!("must be at least 2, got {}", self.num_classes),
            ));
        }
        if self.classifier.len() != 2 || self.classifier.contains(&0) {
            return Err(Error::config(
                "classifier",
                format!(
                    "expected two positive hidden widths [h1, h2], got {:?}",
                    self.classifier
                ),
            ));
        }
        if !(2..=3).contains(&self.input_size.len()) {
            return Err(Error::config(
                "input_size",
                format!("expected [H, W] or [D, H, W], got {:?}", self.input_size),
            ));
        }
        if self.avgpool.len() != self.input_size.len() {
            return Err(Error::config(
                "avgpool",
                format!(
                    "{:?} needs one entry per axis of input_size {:?}",
                    self.avgpool, self.input_size
                ),
            ));
        }
        if self.avgpool.contains(&0) {
            return Err(Error::config("avgpool", "output size must be positive"));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::config(
                "dropout",
                format!("must be in [0, 1), got {}", self.dropout),
            ));
        }
        let mut pools = 0u32;
        let mut convs = 0;
        for (i, f) in self.features.iter().enumerate() {
            match f {
                FeatureItem::Conv(0) => {
                    return Err(Error::config(
                        format!("features[{i}]"),
                        "width must be positive",
                    ));
                }
                FeatureItem::Conv(_) => convs += 1,
                FeatureItem::Pool(s) if s == "M" => pools += 1,
                FeatureItem::Pool(s) => {
                    return Err(Error::config(
                        format!("features[{i}]"),
                        format!("`{s}` is neither an int nor \"M\""),
                    ));
                }
            }
        }
        if convs == 0 {
            return Err(Error::config("features", "needs at least one convolution"));
        }
        let min = 1usize << pools;
        if self.input_size.iter().any(|&n| n < min) {
            return Err(Error::config(
                "input_size",
                format!(
                    "{:?} is too small for {pools} max-pool(s) (needs at least {min})",
                    self.input_size
                ),
            ));
        }
        if let Some(n) = &self.input_norm
            && (n.mean.len() != self.in_channels
                || n.std.len() != self.in_channels
                || n.std.iter().any(|s| *s <= 0.0))
        {
            return Err(Error::config(
                "input_norm",
                format!(
                    "needs {} means and {} positive stds",
                    self.in_channels, self.in_channels
                ),
            ));
        }
        Ok(())
    }

    /// Number of spatial axes: 2 (images) or 3 (volumes).
    pub fn spatial_dims(&self) -> usize {
        self.input_size.len()
    }

    /// The kind of the convolutions: [`LayerKind::Conv3d`] for volumes, else
    /// [`LayerKind::Conv2d`].
    pub fn conv_kind(&self) -> LayerKind {
        if self.spatial_dims() == 3 {
            LayerKind::Conv3d
        } else {
            LayerKind::Conv2d
        }
    }

    /// Output channels of the last convolution.
    pub fn last_conv_channels(&self) -> usize {
        self.features
            .iter()
            .rev()
            .find_map(|f| match f {
                FeatureItem::Conv(c) => Some(*c),
                FeatureItem::Pool(_) => None,
            })
            .unwrap_or(self.in_channels)
    }

    /// The torchvision module list: every layer with its name and kind.
    pub fn layers(&self) -> Vec<LayerSpec> {
        let mut out = Vec::new();
        let mut idx = 0;
        let mut prev = self.in_channels;
        let spec = |name: String, kind, in_out| LayerSpec { name, kind, in_out };
        for f in &self.features {
            match f {
                FeatureItem::Conv(c) => {
                    out.push(spec(
                        format!("features.{idx}"),
                        self.conv_kind(),
                        (prev, *c),
                    ));
                    idx += 1;
                    if self.batch_norm {
                        out.push(spec(
                            format!("features.{idx}"),
                            LayerKind::BatchNorm,
                            (*c, *c),
                        ));
                        idx += 1;
                    }
                    out.push(spec(format!("features.{idx}"), LayerKind::Relu, (0, 0)));
                    idx += 1;
                    prev = *c;
                }
                FeatureItem::Pool(_) => {
                    out.push(spec(format!("features.{idx}"), LayerKind::MaxPool, (0, 0)));
                    idx += 1;
                }
            }
        }
        out.push(spec("avgpool".into(), LayerKind::AdaptiveAvgPool, (0, 0)));
        out.push(spec("flatten".into(), LayerKind::Flatten, (0, 0)));
        let flat = prev * self.avgpool.iter().product::<usize>();
        let (h1, h2) = (self.classifier[0], self.classifier[1]);
        out.push(spec("classifier.0".into(), LayerKind::Linear, (flat, h1)));
        out.push(spec("classifier.1".into(), LayerKind::Relu, (0, 0)));
        out.push(spec("classifier.2".into(), LayerKind::Dropout, (0, 0)));
        out.push(spec("classifier.3".into(), LayerKind::Linear, (h1, h2)));
        out.push(spec("classifier.4".into(), LayerKind::Relu, (0, 0)));
        out.push(spec("classifier.5".into(), LayerKind::Dropout, (0, 0)));
        out.push(spec(
            "classifier.6".into(),
            LayerKind::Linear,
            (h2, self.num_classes),
        ));
        out
    }

    /// Number of weight layers (convolutions and linear layers), the range of `pretrained_layers`.
    pub fn weight_layers(&self) -> usize {
        self.layers()
            .iter()
            .filter(|l| l.kind.has_weights() && l.kind != LayerKind::BatchNorm)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torchvision_names_and_presets() {
        let a = Arch::preset("vgg16-bn", 1000, &[224, 224]).unwrap();
        let l = a.layers();
        assert_eq!(l[0].name, "features.0");
        assert_eq!(l[1].kind, LayerKind::BatchNorm);
        assert_eq!(
            l.iter()
                .rfind(|s| s.kind == LayerKind::MaxPool)
                .unwrap()
                .name,
            "features.43"
        );
        assert_eq!(a.weight_layers(), 16);
        let v = Arch::preset("vgg16", 1000, &[224, 224]).unwrap();
        assert_eq!(
            v.layers()
                .iter()
                .rfind(|s| s.kind == LayerKind::MaxPool)
                .unwrap()
                .name,
            "features.30"
        );
        assert!(
            Arch::preset("resnet", 2, &[64, 64])
                .unwrap_err()
                .to_string()
                .contains("resnet")
        );
        let json =
            serde_json::to_string(&Arch::preset("vgg-small", 2, &[64, 64]).unwrap()).unwrap();
        assert!(
            json.contains(r#""features":[16,"M",32,"M",64,64,"M"]"#),
            "{json}"
        );
        let back: Arch = serde_json::from_str(&json).unwrap();
        assert_eq!(back, Arch::preset("vgg-small", 2, &[64, 64]).unwrap());
        let mut bad = back.clone();
        bad.features.push(FeatureItem::Pool("X".into()));
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("features[7]")
        );
    }

    /// The volumetric preset has Conv3d layers under the same names; `input_size` and
    /// `avgpool` need two or three matching entries.
    #[test]
    fn volumetric_presets_and_their_errors() {
        let a = Arch::preset("vgg-small-3d", 2, &[24, 24, 24]).unwrap();
        assert_eq!((a.spatial_dims(), a.avgpool.clone()), (3, vec![2, 2, 2]));
        let l = a.layers();
        assert_eq!(
            (l[0].name.as_str(), l[0].kind),
            ("features.0", LayerKind::Conv3d)
        );
        assert_eq!(a.weight_layers(), 6);
        let bad = |f: fn(&mut Arch)| {
            let mut b = a.clone();
            f(&mut b);
            b.validate().unwrap_err().to_string()
        };
        assert!(bad(|b| b.avgpool = vec![2, 2]).contains("avgpool"));
        assert!(bad(|b| b.input_size = vec![24]).contains("input_size"));
        assert!(bad(|b| b.input_size = vec![4, 24, 24]).contains("too small"));
    }
}
