//! VGG19 weights in torchvision's layout (`features.N.weight`) load into the feature network
//! through burn-store; a file missing a layer is a clear error.

use atelier::train::model::FeatureNet;
use burn::backend::Flex;
use burn::prelude::*;
use safetensors::tensor::{Dtype, TensorView};

const LAYERS: [(usize, usize, usize); 9] = [
    (0, 3, 64),
    (2, 64, 64),
    (5, 64, 128),
    (7, 128, 128),
    (10, 128, 256),
    (12, 256, 256),
    (14, 256, 256),
    (16, 256, 256),
    (19, 256, 512),
];

fn write_vgg(path: &std::path::Path, skip_last: bool) {
    let mut buffers = Vec::new();
    for &(idx, cin, cout) in LAYERS.iter().take(if skip_last { 8 } else { 9 }) {
        let w = vec![0u8; cout * cin * 9 * 4];
        let fill = if idx == 0 { 1.0f32 } else { 0.0 };
        let b: Vec<u8> = (0..cout).flat_map(|_| fill.to_le_bytes()).collect();
        buffers.push((format!("features.{idx}.weight"), vec![cout, cin, 3, 3], w));
        buffers.push((format!("features.{idx}.bias"), vec![cout], b));
    }
    // A classifier tensor torchvision files also carry; it must be ignored.
    buffers.push(("classifier.0.bias".into(), vec![4], vec![0u8; 16]));
    let views: Vec<(String, TensorView)> = buffers
        .iter()
        .map(|(n, s, d)| {
            (
                n.clone(),
                TensorView::new(Dtype::F32, s.clone(), d).unwrap(),
            )
        })
        .collect();
    std::fs::write(path, safetensors::serialize(views, None).unwrap()).unwrap();
}

#[test]
fn torchvision_vgg19_safetensors_load_and_tap_relu1_to_relu4() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("vgg19.safetensors");
    write_vgg(&path, false);
    let dev = Default::default();
    let net = FeatureNet::<Flex>::vgg19(&path, &dev).unwrap();
    let taps = net.forward(Tensor::<Flex, 4>::zeros([1, 3, 32, 32], &dev));
    let dims: Vec<[usize; 4]> = taps.iter().map(|t| t.dims()).collect();
    assert_eq!(
        dims,
        vec![
            [1, 64, 32, 32],
            [1, 128, 16, 16],
            [1, 256, 8, 8],
            [1, 512, 4, 4]
        ]
    );
    // conv1_1 has zero weights and bias 1: relu1_1 is exactly 1 everywhere, so the bias loaded.
    let v: Vec<f32> = taps[0].clone().into_data().to_vec().unwrap();
    assert!(v.iter().all(|&x| x == 1.0));
}

#[test]
fn vgg19_file_missing_a_layer_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("partial.safetensors");
    write_vgg(&path, true);
    let err = FeatureNet::<Flex>::vgg19(&path, &Default::default()).unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("missing") && msg.contains("partial.safetensors"),
        "{msg}"
    );
}
