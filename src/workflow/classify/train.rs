//! Fits the [`Model`]: multinomial logistic regression by stochastic gradient descent with L2
//! regularisation, over binary features scaled to unit length. Deterministic: tickets are
//! visited in an order drawn from a fixed seed, features are numbered in name order, and
//! nothing depends on hash-map iteration, so the same corpus gives the same file.

use super::features::{self, FeatureShape};
use super::model::{Blend, Model};
use crate::workflow::Category;
use std::collections::BTreeMap;

/// One labelled ticket, already prepared the way classification prepares it.
#[derive(Debug, Clone)]
pub struct Example {
    /// `prepare(subject, description)`.
    pub text: String,
    pub tags: Vec<String>,
    pub label: Category,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainOptions {
    pub shape: FeatureShape,
    pub epochs: usize,
    pub l2: f64,
    pub learning_rate: f64,
    /// A feature must occur in at least this many training tickets to be learnt.
    pub min_tickets: usize,
    /// Features whose weights all lie within this of their mean are left out of the file.
    pub prune: f32,
    pub seed: u64,
}

impl Default for TrainOptions {
    fn default() -> TrainOptions {
        TrainOptions {
            shape: FeatureShape::default(),
            epochs: 30,
            l2: 1e-5,
            learning_rate: 0.5,
            min_tickets: 2,
            prune: 0.05,
            seed: 16,
        }
    }
}

fn class(c: Category) -> usize {
    Category::ALL.iter().position(|&x| x == c).unwrap_or(2)
}

/// A model fitted to `examples`, with `blend` as its combination with the rules.
pub fn train(examples: &[&Example], options: &TrainOptions, blend: Blend) -> Model {
    // Each ticket's distinct feature names, then the vocabulary with ticket counts.
    let per_ticket: Vec<(Vec<String>, usize)> = examples
        .iter()
        .map(|e| {
            let mut names = Vec::new();
            features::for_each(options.shape, &e.text, &e.tags, |f| names.push(f.name()));
            let emitted = names.len();
            names.sort_unstable();
            names.dedup();
            (names, emitted)
        })
        .collect();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (names, _) in &per_ticket {
        for n in names {
            *counts.entry(n.as_str()).or_default() += 1;
        }
    }
    let vocabulary: Vec<&str> = counts
        .iter()
        .filter(|&(_, &n)| n >= options.min_tickets)
        .map(|(&name, _)| name)
        .collect();
    let number: BTreeMap<&str, u32> = vocabulary
        .iter()
        .enumerate()
        .map(|(i, &n)| (n, i as u32))
        .collect();
    // Rows: (feature numbers, value of each, class).
    let rows: Vec<(Vec<u32>, f64, usize)> = per_ticket
        .iter()
        .zip(examples)
        .map(|((names, emitted), e)| {
            let value = features::value(*emitted);
            let found = names
                .iter()
                .filter_map(|n| number.get(n.as_str()).copied())
                .collect();
            (found, value, class(e.label))
        })
        .collect();

    let mut weights = vec![[0.0f64; 3]; vocabulary.len()];
    let mut bias = [0.0f64; 3];
    // Weights are stored divided by `scale`, so the L2 shrink of every weight is one multiply.
    let mut scale = 1.0f64;
    let mut order: Vec<usize> = (0..rows.len()).collect();
    let mut random = options.seed.max(1);
    let mut step = 0u64;
    for _ in 0..options.epochs {
        shuffle(&mut order, &mut random);
        for &i in &order {
            let (found, value, label) = &rows[i];
            let lr =
                options.learning_rate / (1.0 + options.learning_rate * options.l2 * step as f64);
            step += 1;
            let mut z = bias;
            for &f in found {
                for c in 0..3 {
                    z[c] += scale * weights[f as usize][c] * value;
                }
            }
            let p = softmax(z);
            scale *= 1.0 - lr * options.l2;
            for c in 0..3 {
                let gradient = p[c] - if c == *label { 1.0 } else { 0.0 };
                bias[c] -= lr * gradient;
                let delta = lr * gradient * value / scale;
                for &f in found {
                    weights[f as usize][c] -= delta;
                }
            }
            if scale < 1e-6 {
                for w in &mut weights {
                    for x in w.iter_mut() {
                        *x *= scale;
                    }
                }
                scale = 1.0;
            }
        }
    }

    // Softmax ignores what a feature adds to all three classes alike: keep each row centred.
    let kept: Vec<(String, [f32; 3])> = vocabulary
        .iter()
        .zip(&weights)
        .filter_map(|(&name, w)| {
            let w = w.map(|x| x * scale);
            let mean = w.iter().sum::<f64>() / 3.0;
            let centred = w.map(|x| round(x - mean));
            centred
                .iter()
                .any(|x| x.abs() > options.prune)
                .then(|| (name.to_string(), centred))
        })
        .collect();
    let mean = bias.iter().sum::<f64>() / 3.0;
    Model::new(options.shape, blend, bias.map(|b| round(b - mean)), kept)
}

/// Three decimals: far below what moves a decision, and the file stays short and diffable.
fn round(x: f64) -> f32 {
    ((x * 1000.0).round() / 1000.0) as f32
}

fn softmax(z: [f64; 3]) -> [f64; 3] {
    let top = z.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e = z.map(|v| (v - top).exp());
    let s: f64 = e.iter().sum();
    e.map(|v| v / s)
}

/// Fisher–Yates with xorshift64: the same order for the same seed on every platform.
fn shuffle(order: &mut [usize], state: &mut u64) {
    for i in (1..order.len()).rev() {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        let j = (*state % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(text: &str, label: Category) -> Example {
        Example {
            text: text.into(),
            tags: vec![],
            label,
        }
    }

    #[test]
    fn learns_separable_words_and_is_deterministic() {
        let data = [
            example("please delete our project", Category::ProjectGroupChange),
            example(
                "restore the deleted project please",
                Category::ProjectGroupChange,
            ),
            example("lost my phone cannot log in", Category::AccountAccess),
            example(
                "my phone is gone and i cannot log in",
                Category::AccountAccess,
            ),
            example("question about the invoice", Category::Other),
            example("the invoice total is wrong, a question", Category::Other),
        ];
        let refs: Vec<&Example> = data.iter().collect();
        let blend = Blend {
            model_weight: 1.0,
            sure_margin: 3.0,
            overrule_probability: 0.0,
        };
        let options = TrainOptions {
            min_tickets: 1,
            ..TrainOptions::default()
        };
        let a = train(&refs, &options, blend);
        let b = train(&refs, &options, blend);
        assert_eq!(a.to_text(""), b.to_text(""));
        for (text, expected) in [
            ("delete the project", 0),
            ("i lost my phone", 1),
            ("invoice question", 2),
        ] {
            let p = a.score(text, &[]).probabilities;
            let best = (0..3).fold(0, |b, c| if p[c] > p[b] { c } else { b });
            assert_eq!(best, expected, "{text}: {p:?}");
        }
    }
}
