//! The statistical half of classification: a multinomial logistic regression over the ticket's
//! n-grams ([`super::features`]), read from a reviewed text file
//! (`rules/classification_model.tsv`) and combined with the rules in [`Blend`].
//!
//! The file is one feature per line with its weight for each category, so a reviewer can see
//! what the model learnt ("w:restore" for `project_group_change`), and `git diff` shows what a
//! retraining changed. It is produced by `examples/train_classifier.rs` from the team and
//! authored corpora only; the blind split is never read by it.

use super::features::{self, FeatureShape};
use crate::workflow::Category;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::{BuildHasherDefault, Hasher};

/// How many features a reason names: enough to show the evidence, short enough to read.
const REASON_FEATURES: usize = 3;

const MAGIC: &str = "onbehalf-ticket-model 1";

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model file line {line}: {message}")]
    Line { line: usize, message: String },
    #[error("model file: {0}")]
    Invalid(String),
}

/// How rules and model make one decision. The rules' scores (each action category's evidence,
/// and `other`'s threshold plus its evidence) decide alone when their winner leads by at least
/// `sure_margin`; otherwise `model_weight` × the model's centred log-probabilities is added to
/// each score and the highest wins — but the model overrules the rules' winner only with at
/// least `overrule_probability` for its own (an unsure model does not overturn the rules).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Blend {
    pub model_weight: f64,
    pub sure_margin: f64,
    pub overrule_probability: f64,
}

impl Blend {
    /// The category for the rules' and the model's scores (in [`Category::ALL`] order), and
    /// whether the rules decided alone.
    pub fn decide(&self, rules: [f64; 3], model: Option<[f64; 3]>) -> (Category, bool) {
        let (rules_best, margin) = leader(rules);
        let Some(m) = model.filter(|_| margin < self.sure_margin) else {
            return (rules_best, true);
        };
        let mut blended = rules;
        for (b, m) in blended.iter_mut().zip(m) {
            *b += self.model_weight * m;
        }
        let best = leader(blended).0;
        if best != rules_best && probabilities(m)[index(best)] < self.overrule_probability {
            return (rules_best, false);
        }
        (best, false)
    }
}

fn index(c: Category) -> usize {
    Category::ALL.iter().position(|&x| x == c).unwrap_or(2)
}

/// Softmax of (centred) log-probabilities.
pub(super) fn probabilities(scores: [f64; 3]) -> [f64; 3] {
    let top = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let exp = scores.map(|s| (s - top).exp());
    let sum: f64 = exp.iter().sum();
    exp.map(|e| e / sum)
}

/// The best category and its lead over the next; an exact tie goes to the earlier category
/// (the project category: acting on a project is the more common request).
pub(super) fn leader(scores: [f64; 3]) -> (Category, f64) {
    let mut best = 0;
    for i in 1..3 {
        if scores[i] > scores[best] {
            best = i;
        }
    }
    let second = (0..3)
        .filter(|&i| i != best)
        .map(|i| scores[i])
        .fold(f64::NEG_INFINITY, f64::max);
    (Category::ALL[best], scores[best] - second)
}

/// Keys are FNV hashes already: the map uses them as they are.
#[derive(Debug, Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[derive(Debug)]
pub struct Model {
    pub(super) shape: FeatureShape,
    pub(super) blend: Blend,
    pub(super) bias: [f32; 3],
    /// Feature key → row in `names` and `weights`.
    index: HashMap<u64, u32, BuildHasherDefault<KeyHasher>>,
    names: Vec<String>,
    weights: Vec<[f32; 3]>,
}

/// What the model says about one ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelScore {
    /// Centred log-probabilities, in [`Category::ALL`] order (they sum to 0).
    pub scores: [f64; 3],
    pub probabilities: [f64; 3],
    /// Per category, the features that spoke most for it, strongest first.
    pub evidence: [Vec<String>; 3],
}

impl Model {
    pub fn new(
        shape: FeatureShape,
        blend: Blend,
        bias: [f32; 3],
        features: Vec<(String, [f32; 3])>,
    ) -> Model {
        let mut index = HashMap::with_capacity_and_hasher(features.len(), Default::default());
        let mut names = Vec::with_capacity(features.len());
        let mut weights = Vec::with_capacity(features.len());
        for (name, w) in features {
            index.insert(features::key(&name), names.len() as u32);
            names.push(name);
            weights.push(w);
        }
        Model {
            shape,
            blend,
            bias,
            index,
            names,
            weights,
        }
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn blend(&self) -> Blend {
        self.blend
    }

    /// The model's view of a normalised ticket text (see [`super::prepare`]) and its tags.
    pub fn score(&self, text: &str, tags: &[String]) -> ModelScore {
        let mut emitted = 0usize;
        let mut rows: Vec<u32> = Vec::new();
        features::for_each(self.shape, text, tags, |f| {
            emitted += 1;
            if let Some(&row) = self.index.get(&f.key()) {
                rows.push(row);
            }
        });
        rows.sort_unstable();
        rows.dedup();
        let value = features::value(emitted);
        let mut z: [f64; 3] = self.bias.map(f64::from);
        for &row in &rows {
            let w = self.weights[row as usize];
            for c in 0..3 {
                z[c] += value * f64::from(w[c]);
            }
        }
        let mean = z.iter().sum::<f64>() / 3.0;
        let scores = z.map(|v| v - mean);
        let probabilities = probabilities(scores);
        let evidence = [0, 1, 2].map(|c| self.strongest_for(c, &rows));
        ModelScore {
            scores,
            probabilities,
            evidence,
        }
    }

    /// The readable features (words and word pairs before character n-grams) that pull most
    /// towards category `c` against the other two.
    fn strongest_for(&self, c: usize, rows: &[u32]) -> Vec<String> {
        let mut pull: Vec<(bool, f32, u32)> = rows
            .iter()
            .map(|&r| {
                let w = self.weights[r as usize];
                let others = (w.iter().sum::<f32>() - w[c]) / 2.0;
                let readable = !self.names[r as usize].starts_with("c:");
                (readable, w[c] - others, r)
            })
            .filter(|&(_, p, _)| p > 0.0)
            .collect();
        pull.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.total_cmp(&a.1)).then(a.2.cmp(&b.2)));
        pull.iter()
            .take(REASON_FEATURES)
            .map(|&(_, _, r)| display(&self.names[r as usize]))
            .collect()
    }

    pub fn parse(text: &str) -> Result<Model, ModelError> {
        let mut lines = text
            .lines()
            .enumerate()
            .map(|(i, l)| (i + 1, l))
            .filter(|(_, l)| !l.starts_with('#') && !l.trim().is_empty());
        let mut next = |what: &str| -> Result<(usize, Vec<&str>), ModelError> {
            let (n, l) = lines
                .next()
                .ok_or_else(|| ModelError::Invalid(format!("ends before the {what} line")))?;
            Ok((n, l.split('\t').collect()))
        };
        let bad = |line: usize, message: String| ModelError::Line { line, message };
        let (n, magic) = next("format")?;
        if magic.join("\t") != MAGIC {
            return Err(bad(n, format!("expected {MAGIC:?}")));
        }
        let (n, classes) = next("classes")?;
        let expected: Vec<&str> = std::iter::once("classes")
            .chain(Category::ALL.iter().map(|c| c.as_str()))
            .collect();
        if classes != expected {
            return Err(bad(n, format!("expected {:?}", expected.join("\t"))));
        }
        let (n, shape) = next("chars")?;
        let shape = match shape.as_slice() {
            ["chars", lo, hi] => {
                let lo: usize = number(lo).map_err(|m| bad(n, m))?;
                let hi: usize = number(hi).map_err(|m| bad(n, m))?;
                if lo == 0 || hi < lo || hi > 8 {
                    return Err(bad(n, format!("character n-grams {lo}..{hi} out of 1..8")));
                }
                FeatureShape {
                    char_min: lo,
                    char_max: hi,
                }
            }
            _ => return Err(bad(n, "expected \"chars\\t<min>\\t<max>\"".into())),
        };
        let (n, blend) = next("blend")?;
        let blend = match blend.as_slice() {
            ["blend", w, m, p] => Blend {
                model_weight: number(w).map_err(|m| bad(n, m))?,
                sure_margin: number(m).map_err(|m| bad(n, m))?,
                overrule_probability: number(p).map_err(|m| bad(n, m))?,
            },
            _ => {
                return Err(bad(
                    n,
                    "expected \"blend\\t<weight>\\t<sure margin>\\t<overrule probability>\"".into(),
                ));
            }
        };
        let (n, bias) = next("bias")?;
        let bias = match bias.as_slice() {
            ["bias", rest @ ..] => three(rest).map_err(|m| bad(n, m))?,
            _ => return Err(bad(n, "expected \"bias\\t<w>\\t<w>\\t<w>\"".into())),
        };
        let mut features = Vec::new();
        for (n, line) in lines {
            let fields: Vec<&str> = line.split('\t').collect();
            let (name, rest) = fields
                .split_first()
                .ok_or_else(|| bad(n, "empty line".into()))?;
            if !matches!(name.get(..2), Some("w:" | "b:" | "c:" | "t:")) {
                return Err(bad(n, format!("feature {name:?} is not w:, b:, c: or t:")));
            }
            features.push((name.to_string(), three(rest).map_err(|m| bad(n, m))?));
        }
        let model = Model::new(shape, blend, bias, features);
        if model.index.len() != model.names.len() {
            return Err(ModelError::Invalid(
                "two features share a name or a key".into(),
            ));
        }
        Ok(model)
    }

    /// The file form: a header saying what the file is, then one line per feature.
    pub fn to_text(&self, header: &str) -> String {
        let mut out = String::with_capacity(self.names.len() * 32);
        for line in header.lines() {
            let _ = writeln!(out, "# {line}");
        }
        let _ = writeln!(out, "{MAGIC}");
        let _ = writeln!(out, "classes\tproject_group_change\taccount_access\tother");
        let _ = writeln!(
            out,
            "chars\t{}\t{}",
            self.shape.char_min, self.shape.char_max
        );
        let _ = writeln!(
            out,
            "blend\t{}\t{}\t{}",
            self.blend.model_weight, self.blend.sure_margin, self.blend.overrule_probability
        );
        let _ = writeln!(out, "bias\t{}", row(self.bias));
        for (name, w) in self.names.iter().zip(&self.weights) {
            let _ = writeln!(out, "{name}\t{}", row(*w));
        }
        out
    }
}

fn row(w: [f32; 3]) -> String {
    w.map(|x| format!("{x}")).join("\t")
}

fn number<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("{s:?} is not a number"))
}

fn three(fields: &[&str]) -> Result<[f32; 3], String> {
    let [a, b, c] = fields else {
        return Err(format!("expected 3 weights, got {}", fields.len()));
    };
    let w = [number::<f32>(a)?, number(b)?, number(c)?];
    if w.iter().all(|x| x.is_finite()) {
        Ok(w)
    } else {
        Err("weights must be finite".into())
    }
}

/// A feature as a reason shows it: the words in quotes, a tag as `tag x`, a character
/// n-gram with its padding shown as word edges.
fn display(name: &str) -> String {
    let (kind, body) = name.split_at(2);
    match kind {
        "t:" => format!("tag {body}"),
        "c:" => format!("{:?}", body.replace('_', "·")),
        _ => format!("{body:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Model {
        Model::new(
            FeatureShape::default(),
            Blend {
                model_weight: 2.0,
                sure_margin: 3.0,
                overrule_probability: 0.5,
            },
            [0.0, 0.0, 0.1],
            vec![
                ("w:restore".into(), [4.0, -2.0, -2.0]),
                ("b:my phone".into(), [-1.0, 3.0, -2.0]),
                ("c:_res".into(), [1.0, -0.5, -0.5]),
                ("t:billing".into(), [-1.0, -1.0, 2.0]),
            ],
        )
    }

    #[test]
    fn scores_and_names_the_features_that_decided() {
        let m = tiny();
        let s = m.score("please restore it", &[]);
        assert!(s.probabilities[0] > s.probabilities[1]);
        assert_eq!(s.evidence[0], vec!["\"restore\"", "\"·res\""]);
        let s = m.score("x", &["Billing".into()]);
        assert_eq!(s.evidence[2], vec!["tag billing"]);
        assert!((s.scores.iter().sum::<f64>()).abs() < 1e-9);
    }

    #[test]
    fn the_file_form_reads_back_to_the_same_model() {
        let m = tiny();
        let again = Model::parse(&m.to_text("test model\ntwo lines")).unwrap();
        assert_eq!(again.to_text(""), m.to_text(""));
        let s = again.score("please restore my phone", &[]);
        assert_eq!(s, m.score("please restore my phone", &[]));
    }

    #[test]
    fn a_bad_file_names_the_line() {
        let text = tiny().to_text("");
        let broken = text.replace("w:restore\t4", "w:restore\tfour");
        let e = Model::parse(&broken).unwrap_err().to_string();
        assert!(e.contains("line") && e.contains("four"), "{e}");
        let e = Model::parse(&text.replace("w:restore", "x:restore"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("x:restore"), "{e}");
        assert!(Model::parse("").is_err());
    }

    #[test]
    fn sure_rules_decide_alone_and_unsure_ones_hear_the_model() {
        let blend = Blend {
            model_weight: 2.0,
            sure_margin: 3.0,
            overrule_probability: 0.5,
        };
        let model = Some([-1.0, 2.0, -1.0]);
        assert_eq!(
            blend.decide([5.0, 0.0, 2.0], model),
            (Category::ProjectGroupChange, true)
        );
        assert_eq!(
            blend.decide([0.0, 0.0, 2.0], model),
            (Category::AccountAccess, false)
        );
        assert_eq!(blend.decide([0.0, 0.0, 2.0], None), (Category::Other, true));
        // A model below the overrule probability leaves the rules' winner.
        let unsure = Some([0.3, 0.2, -0.5]);
        let strict = Blend {
            model_weight: 10.0,
            overrule_probability: 0.6,
            ..blend
        };
        assert_eq!(
            strict.decide([0.0, 0.0, 2.0], unsure),
            (Category::Other, false)
        );
    }
}
