//! The CycleGAN repository's generator (junyanz/pytorch-CycleGAN-and-pix2pix,
//! `networks.ResnetGenerator` with instance norm): its `state_dict` keys and shapes, and
//! atelier's generator in that layout. atelier's `Generator` with `upsample = "transpose"`,
//! `down_padding = "zero"`, no residual and no noise is that network layer for layer
//! (ReflectionPad2d(3) Conv7, two Conv3 stride 2 padding 1, `blocks` ResnetBlocks of
//! ReflectionPad2d(1) Conv3 IN ReLU ReflectionPad2d(1) Conv3 IN, two ConvTranspose2d 3 stride 2
//! padding 1 output padding 1, ReflectionPad2d(3) Conv7 Tanh; InstanceNorm2d without affine
//! parameters has no keys), so the weights map one to one: `model.1` is the stem, `model.4` and
//! `model.7` the stride-2 convolutions, `model.{10+i}.conv_block.{1,5}` block i's convolutions,
//! `model.{10+n}` and `model.{13+n}` the transposed convolutions and `model.{17+n}` the head, for
//! n blocks. PyTorch's ConvTranspose2d weight is [in, out, k, k], as burn's.

use crate::spec::{DownPadding, GeneratorSpec, Palette, Upsample};
use crate::train::model::Generator;
use anyhow::{bail, Context, Result};
use burn::prelude::*;
use burn_store::ModuleSnapshot;
use std::collections::BTreeMap;
use std::path::Path;

/// A state dict: key -> (shape, f32 values in row-major order).
pub type StateDict = BTreeMap<String, (Vec<usize>, Vec<f32>)>;

/// A ResnetGenerator's size: `--ngf` and `--n_blocks` of the repository's options (its
/// `resnet_9blocks` is 9 blocks, `resnet_6blocks` 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    pub ngf: usize,
    pub blocks: usize,
}

/// Each parameter as (atelier's module path, the repository's key, its shape).
pub fn parameters(l: Layout) -> Vec<(String, String, Vec<usize>)> {
    let (w, n) = (l.ngf, l.blocks);
    let mut out = Vec::new();
    let mut conv = |ours: String, index: String, shape: [usize; 4]| {
        out.push((
            format!("{ours}.weight"),
            format!("model.{index}.weight"),
            shape.to_vec(),
        ));
        // A convolution's bias: its output channels (dim 1 of a transposed one's weight).
        let bias = if ours.contains("transpose") {
            shape[1]
        } else {
            shape[0]
        };
        out.push((
            format!("{ours}.bias"),
            format!("model.{index}.bias"),
            vec![bias],
        ));
    };
    conv("stem".into(), "1".into(), [w, 3, 7, 7]);
    conv("down.0".into(), "4".into(), [2 * w, w, 3, 3]);
    conv("down.1".into(), "7".into(), [4 * w, 2 * w, 3, 3]);
    for i in 0..n {
        for (ours, theirs) in [("conv1", 1), ("conv2", 5)] {
            conv(
                format!("blocks.{i}.{ours}"),
                format!("{}.conv_block.{theirs}", 10 + i),
                [4 * w, 4 * w, 3, 3],
            );
        }
    }
    conv(
        "up.0.transpose".into(),
        format!("{}", 10 + n),
        [4 * w, 2 * w, 3, 3],
    );
    conv(
        "up.1.transpose".into(),
        format!("{}", 13 + n),
        [2 * w, w, 3, 3],
    );
    conv("head".into(), format!("{}", 17 + n), [3, w, 7, 7]);
    out
}

/// The generator spec of a CycleGAN ResnetGenerator.
pub fn generator_spec(l: Layout) -> GeneratorSpec {
    GeneratorSpec {
        width: l.ngf,
        blocks: l.blocks,
        upsample: Upsample::Transpose,
        residual: false,
        down_padding: DownPadding::Zero,
        noise: 0.0,
        noise_scale: 1,
        residual_blur: 0.0,
        color_map: 0,
        palette: Palette::None,
        global_color: 0,
    }
}

/// The layout of a generator spec, or why it is not the repository's network.
pub fn layout_of(g: &GeneratorSpec) -> Result<Layout> {
    let mut why = Vec::new();
    if g.upsample != Upsample::Transpose {
        why.push("generator.upsample is not \"transpose\"");
    }
    if g.down_padding != DownPadding::Zero {
        why.push("generator.down_padding is not \"zero\"");
    }
    if g.residual {
        why.push("generator.residual is on");
    }
    if g.noise > 0.0 {
        why.push("generator.noise is on");
    }
    if g.color_map > 0 {
        why.push("generator.color_map is on");
    }
    if g.global_color > 0 {
        why.push("generator.global_color is on");
    }
    if g.palette != Palette::None {
        why.push("generator.palette is on");
    }
    if !why.is_empty() {
        bail!(
            "this generator is not the CycleGAN repository's ResnetGenerator ({}), so its weights \
             have no PyTorch key names there",
            why.join(", ")
        );
    }
    Ok(Layout {
        ngf: g.width,
        blocks: g.blocks,
    })
}

/// The generator's parameters under the repository's keys, as f32 values with their shapes.
pub fn state_dict<B: Backend>(g: &Generator<B>, l: Layout) -> Result<StateDict> {
    let ours: BTreeMap<String, burn_store::TensorSnapshot> = g
        .collect(None, None, false)
        .into_iter()
        .map(|s| (s.full_path(), s))
        .collect();
    let mut out = BTreeMap::new();
    for (path, key, shape) in parameters(l) {
        let snap = ours
            .get(&path)
            .with_context(|| format!("the generator has no parameter {path}"))?;
        let data = snap
            .to_data()
            .map_err(|e| anyhow::anyhow!("reading {path}: {e:?}"))?;
        if data.shape.as_slice() != shape.as_slice() {
            bail!("{path} is {:?}, expected {shape:?}", data.shape);
        }
        let values = data
            .convert::<f32>()
            .to_vec::<f32>()
            .map_err(|e| anyhow::anyhow!("reading {path}: {e:?}"))?;
        out.insert(key, (shape, values));
    }
    Ok(out)
}

/// Write a state dict as safetensors (f32, little endian; `format: pt` in the metadata, as
/// `safetensors.torch.save_file` writes).
pub fn write_safetensors(
    dict: &BTreeMap<String, (Vec<usize>, Vec<f32>)>,
    out: &Path,
) -> Result<()> {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = dict
        .iter()
        .map(|(k, (shape, v))| {
            let b = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            (k.clone(), shape.clone(), b)
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(k, shape, b)| {
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), b)
                .map(|v| (k.clone(), v))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let meta = std::collections::HashMap::from([("format".to_string(), "pt".to_string())]);
    let data =
        safetensors::tensor::serialize(views, Some(meta)).map_err(|e| anyhow::anyhow!("{e}"))?;
    std::fs::write(out, data).with_context(|| format!("writing {}", out.display()))
}

/// Read a state dict: a PyTorch file (`torch.save`'s zip of pickles, as the repository's
/// `latest_net_G_A.pth`, read by burn-store) or safetensors (what `--weights` exports). A
/// `module.` prefix (DataParallel) is dropped.
pub fn read_state_dict(path: &Path) -> Result<StateDict> {
    let mut head = [0u8; 8];
    {
        use std::io::Read;
        let mut f =
            std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
        let n = f.read(&mut head)?;
        if n < 8 {
            bail!(
                "{} is not a PyTorch state dict (only {n} bytes)",
                path.display()
            );
        }
    }
    let mut out = StateDict::new();
    if head.starts_with(b"PK") || head.starts_with(&[0x80]) {
        let reader = burn_store::pytorch::PytorchReader::new(path).map_err(|e| {
            anyhow::anyhow!(
                "{} is not a PyTorch state dict burn-store can read: {e}",
                path.display()
            )
        })?;
        for (key, snap) in reader.into_tensors() {
            let data = snap
                .to_data()
                .map_err(|e| anyhow::anyhow!("{}: reading {key}: {e:?}", path.display()))?;
            let shape = data.shape.to_vec();
            let values = data
                .convert::<f32>()
                .to_vec::<f32>()
                .map_err(|e| anyhow::anyhow!("{}: reading {key}: {e:?}", path.display()))?;
            out.insert(key, (shape, values));
        }
    } else {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let st = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| {
            anyhow::anyhow!(
                "{} is neither a PyTorch file (.pth) nor safetensors: {e}",
                path.display()
            )
        })?;
        for (key, view) in st.tensors() {
            let values: Vec<f32> = match view.dtype() {
                safetensors::Dtype::F32 => view
                    .data()
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
                safetensors::Dtype::F64 => view
                    .data()
                    .chunks_exact(8)
                    .map(|b| f64::from_le_bytes(b.try_into().unwrap_or_default()) as f32)
                    .collect(),
                other => bail!(
                    "{}: {key} is {other:?}; f32 or f64 expected",
                    path.display()
                ),
            };
            out.insert(key, (view.shape().to_vec(), values));
        }
    }
    Ok(out
        .into_iter()
        .map(|(k, v)| (k.strip_prefix("module.").map(String::from).unwrap_or(k), v))
        .collect())
}

/// The layout of a repository generator's state dict: ngf from `model.1.weight` ([ngf, 3, 7,
/// 7]), the blocks from the `model.N.conv_block.1.weight` keys.
pub fn infer_layout(dict: &StateDict, file: &Path) -> Result<Layout> {
    let Some((shape, _)) = dict.get("model.1.weight") else {
        let mut keys: Vec<&str> = dict.keys().map(String::as_str).collect();
        keys.truncate(6);
        bail!(
            "{} is not a CycleGAN ResnetGenerator: it has no key model.1.weight (its keys: {}{})",
            file.display(),
            keys.join(", "),
            if dict.len() > 6 { ", ..." } else { "" }
        );
    };
    if shape.len() != 4 || shape[1] != 3 || shape[2..] != [7, 7] {
        bail!(
            "{}: model.1.weight has shape {shape:?}; a ResnetGenerator's first convolution is              [ngf, 3, 7, 7]",
            file.display()
        );
    }
    let blocks = (0..)
        .take_while(|i| dict.contains_key(&format!("model.{}.conv_block.1.weight", 10 + i)))
        .count();
    Ok(Layout {
        ngf: shape[0],
        blocks,
    })
}

/// Check every key and shape of `dict` against the layout: a missing key, a shape that differs
/// or a key the network does not have is an error naming the key and the shapes.
pub fn check(dict: &StateDict, l: Layout, file: &Path) -> Result<()> {
    let params = parameters(l);
    for (_, key, shape) in &params {
        match dict.get(key) {
            None => bail!(
                "{}: missing key {key} (shape {shape:?} for ngf {}, {} blocks)",
                file.display(),
                l.ngf,
                l.blocks
            ),
            Some((found, _)) if found != shape => bail!(
                "{}: {key} has shape {found:?}, expected {shape:?} (ngf {}, {} blocks)",
                file.display(),
                l.ngf,
                l.blocks
            ),
            Some(_) => {}
        }
    }
    if let Some(extra) = dict
        .keys()
        .find(|k| !params.iter().any(|(_, p, _)| p == *k))
    {
        bail!(
            "{}: unexpected key {extra} with shape {:?}: not the ResnetGenerator of ngf {}, {}              blocks without dropout (norm 'instance')",
            file.display(),
            dict[extra].0,
            l.ngf,
            l.blocks
        );
    }
    Ok(())
}

/// atelier's generator holding a checked state dict's weights.
pub fn generator<B: Backend>(
    dict: &StateDict,
    l: Layout,
    device: &B::Device,
) -> Result<Generator<B>> {
    let snapshots = parameters(l)
        .into_iter()
        .map(|(path, key, shape)| {
            let values = dict[&key].1.clone();
            burn_store::TensorSnapshot::from_data(
                TensorData::new(values, shape),
                path.split('.').map(String::from).collect(),
                Vec::new(),
                burn::module::ParamId::new(),
            )
        })
        .collect();
    let mut g = Generator::<B>::new(&generator_spec(l), device);
    let result = g.apply(snapshots, None, None, false);
    if !result.errors.is_empty() || !result.missing.is_empty() || !result.unused.is_empty() {
        bail!(
            "loading the weights into the generator: errors {:?}, missing {:?}, unused {:?}",
            result.errors,
            result.missing,
            result.unused
        );
    }
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn every_parameter_of_the_generator_has_one_key_of_the_repository() {
        let l = Layout { ngf: 8, blocks: 2 };
        let g = Generator::<Flex>::new(&generator_spec(l), &Default::default());
        let paths: Vec<String> = g
            .collect(None, None, false)
            .iter()
            .map(|s| s.full_path())
            .collect();
        let params = parameters(l);
        assert_eq!(paths.len(), params.len(), "{paths:?}");
        for (ours, _, _) in &params {
            assert!(paths.contains(ours), "{ours} not in {paths:?}");
        }
        let dict = state_dict(&g, l).unwrap();
        // The keys of `ResnetGenerator(3, 3, 8, n_blocks=2)`'s state_dict.
        let keys: Vec<&str> = dict.keys().map(String::as_str).collect();
        for k in [
            "model.1.weight",
            "model.4.bias",
            "model.7.weight",
            "model.10.conv_block.1.weight",
            "model.11.conv_block.5.bias",
            "model.12.weight",
            "model.15.weight",
            "model.19.weight",
            "model.19.bias",
        ] {
            assert!(keys.contains(&k), "{k} not in {keys:?}");
        }
        assert_eq!(dict["model.12.weight"].0, vec![32, 16, 3, 3]);
        assert_eq!(dict["model.12.bias"].0, vec![16]);
        assert_eq!(keys.len(), 2 * (3 + 2 * 2 + 3));
    }

    #[test]
    fn a_state_dict_round_trips_through_safetensors_into_the_same_generator() {
        let l = Layout { ngf: 4, blocks: 1 };
        let dev = Default::default();
        let g = Generator::<Flex>::new(&generator_spec(l), &dev);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.safetensors");
        write_safetensors(&state_dict(&g, l).unwrap(), &path).unwrap();
        let dict = read_state_dict(&path).unwrap();
        assert_eq!(infer_layout(&dict, &path).unwrap(), l);
        check(&dict, l, &path).unwrap();
        let back = generator::<Flex>(&dict, l, &dev).unwrap();
        let x = Tensor::<Flex, 4>::random(
            [1, 3, 16, 12],
            burn::tensor::Distribution::Uniform(-1.0, 1.0),
            &dev,
        );
        let err: f32 = (g.forward(x.clone()) - back.forward(x))
            .abs()
            .max()
            .into_scalar();
        assert_eq!(err, 0.0);
        // A wrong shape names the key and both shapes.
        let mut bad = dict.clone();
        bad.get_mut("model.7.weight").unwrap().0 = vec![16, 8, 3, 1];
        let e = check(&bad, l, &path).unwrap_err().to_string();
        assert!(
            e.contains("model.7.weight has shape [16, 8, 3, 1], expected [16, 8, 3, 3]"),
            "{e}"
        );
        let mut extra = dict.clone();
        extra.insert("model.10.conv_block.6.weight".into(), (vec![1], vec![0.0]));
        let e = check(&extra, l, &path).unwrap_err().to_string();
        assert!(
            e.contains("unexpected key model.10.conv_block.6.weight"),
            "{e}"
        );
        let mut missing = dict;
        missing.remove("model.14.bias");
        let e = check(&missing, l, &path).unwrap_err().to_string();
        assert!(e.contains("missing key model.14.bias (shape [4]"), "{e}");
        let e = infer_layout(&StateDict::new(), &path)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no key model.1.weight"), "{e}");
    }

    #[test]
    fn only_the_repository_s_layout_has_its_key_names() {
        assert!(layout_of(&generator_spec(Layout { ngf: 4, blocks: 1 })).is_ok());
        let g = GeneratorSpec {
            residual: true,
            upsample: Upsample::Bilinear,
            ..generator_spec(Layout { ngf: 4, blocks: 1 })
        };
        let err = layout_of(&g).unwrap_err().to_string();
        assert!(
            err.contains("upsample") && err.contains("residual"),
            "{err}"
        );
        let g = GeneratorSpec {
            global_color: 8,
            ..generator_spec(Layout { ngf: 4, blocks: 1 })
        };
        let err = layout_of(&g).unwrap_err().to_string();
        assert!(err.contains("generator.global_color is on"), "{err}");
    }
}
