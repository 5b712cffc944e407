//! TensorBoard's event files, written without TensorFlow or `protoc`: `record` frames payloads
//! as TFRecords (length, masked CRC-32C, bytes, masked CRC-32C), `proto` encodes the handful of
//! protobuf messages by hand (events, scalars, images, text, hparams), and `mirror` is the
//! trainer's thread that mirrors a run's metric rows, probe images, spec and searched
//! hyperparameters into `runs/<id>/tb/`, so `tensorboard --logdir runs` shows atelier's runs.
//! The reference reader is TensorBoard itself (tests/e2e/tensorboard.sh).

pub mod mirror;
pub mod proto;
pub mod record;

pub use mirror::{Feed, Item, Mirror};
