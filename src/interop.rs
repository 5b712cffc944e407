//! Reading and writing what researchers already use: `atelier export` (every series as CSV,
//! raw and smoothed with the dashboard's EMA; one probe across every sample step as an
//! animated GIF with the step on each frame; runs × probes at one step as one labelled PNG,
//! the contact sheet, which the compare view's `x` writes too; the generator as a PyTorch state
//! dict in safetensors under the CycleGAN repository's key names). The TensorBoard mirror lives
//! in `tensorboard`. And `atelier import`: the CycleGAN repository's `loss_log.txt` as a
//! read-only run whose charts sit beside atelier's (`loss_log`, `imported`).

pub mod anim;
pub mod font;
pub mod imported;
pub mod loss_log;
pub mod samples;
pub mod sheet;
pub mod table;
pub mod torch;
