//! The few protobuf messages of TensorBoard's event files, encoded by hand (no `protoc`): `Event`
//! (wall time, step, file version, summary, session log), `Summary.Value` with a scalar
//! (`simple_value`), an image (`Summary.Image`: PNG bytes) or a string tensor with plugin
//! metadata (the text plugin), and the hparams plugin's `SessionStartInfo`. Field numbers are
//! those of tensorflow/core/framework/summary.proto, tensorflow/core/util/event.proto and
//! tensorboard/plugins/hparams/plugin_data.proto.

/// A protobuf message under construction.
#[derive(Default)]
pub struct Msg(Vec<u8>);

impl Msg {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn bytes(self) -> Vec<u8> {
        self.0
    }
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    fn key(&mut self, field: u32, wire: u8) {
        self.varint((u64::from(field) << 3) | u64::from(wire));
    }
    /// An int32/int64/enum/bool field (wire type 0).
    pub fn int(mut self, field: u32, v: i64) -> Self {
        self.key(field, 0);
        self.varint(v as u64);
        self
    }
    pub fn double(mut self, field: u32, v: f64) -> Self {
        self.key(field, 1);
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn float(mut self, field: u32, v: f32) -> Self {
        self.key(field, 5);
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    /// A bytes, string or embedded-message field (wire type 2).
    pub fn bytes_field(mut self, field: u32, v: &[u8]) -> Self {
        self.key(field, 2);
        self.varint(v.len() as u64);
        self.0.extend_from_slice(v);
        self
    }
    pub fn string(self, field: u32, v: &str) -> Self {
        self.bytes_field(field, v.as_bytes())
    }
    pub fn message(self, field: u32, m: Msg) -> Self {
        self.bytes_field(field, &m.0)
    }
}

/// `Event { wall_time = 1, step = 2, file_version = 3 | summary = 5 | session_log = 7 }`.
pub fn event(wall_time: f64, step: u64, what: What) -> Vec<u8> {
    let e = Msg::new().double(1, wall_time).int(2, step as i64);
    match what {
        What::FileVersion => e.string(3, "brain.Event:2"),
        What::Summary(values) => {
            let summary = values.into_iter().fold(Msg::new(), |s, v| s.message(1, v));
            e.message(5, summary)
        }
        // SessionLog { status = 1 (START = 1) }
        What::SessionStart => e.message(7, Msg::new().int(1, 1)),
    }
    .bytes()
}

/// The one field of an `Event`'s `what`.
pub enum What {
    FileVersion,
    Summary(Vec<Msg>),
    /// Tells readers that the run restarted here: events at this step and later that an
    /// earlier process wrote are orphans (TensorBoard purges them).
    SessionStart,
}

/// `Summary.Value { tag = 1, simple_value = 2 }`.
pub fn scalar(tag: &str, v: f32) -> Msg {
    Msg::new().string(1, tag).float(2, v)
}

/// `Summary.Value { tag = 1, image = 4 { height = 1, width = 2, colorspace = 3, encoded = 4 } }`.
pub fn image(tag: &str, width: u32, height: u32, png: &[u8]) -> Msg {
    let img = Msg::new()
        .int(1, i64::from(height))
        .int(2, i64::from(width))
        .int(3, 3)
        .bytes_field(4, png);
    Msg::new().string(1, tag).message(4, img)
}

/// `SummaryMetadata { plugin_data = 1 { plugin_name = 1, content = 2 } }`.
fn plugin(name: &str, content: &[u8]) -> Msg {
    Msg::new().message(1, Msg::new().string(1, name).bytes_field(2, content))
}

/// A text-plugin value: `tag`, metadata naming the plugin, and a scalar DT_STRING tensor
/// (`TensorProto { dtype = 1: DT_STRING = 7, tensor_shape = 2: {}, string_val = 8 }`).
pub fn text(tag: &str, markdown: &str) -> Msg {
    let tensor = Msg::new()
        .int(1, 7)
        .message(2, Msg::new())
        .bytes_field(8, markdown.as_bytes());
    Msg::new()
        .string(1, tag)
        .message(9, plugin("text", b""))
        .message(8, tensor)
}

/// One hyperparameter's value (`google.protobuf.Value`).
#[derive(Debug, Clone, PartialEq)]
pub enum HValue {
    Number(f64),
    Text(String),
    Bool(bool),
}

/// The hparams plugin's session start: `HParamsPluginData { version = 1: 0,
/// session_start_info = 3 { hparams = 1: map<string, Value>, group_name = 4,
/// start_time_secs = 5 } }` under the tag `_hparams_/session_start_info`.
pub fn hparams_start(hparams: &[(String, HValue)], group: &str, start: f64) -> Msg {
    let mut info = Msg::new();
    for (k, v) in hparams {
        let value = match v {
            HValue::Number(x) => Msg::new().double(2, *x),
            HValue::Text(s) => Msg::new().string(3, s),
            HValue::Bool(b) => Msg::new().int(4, i64::from(*b)),
        };
        info = info.message(1, Msg::new().string(1, k).message(2, value));
    }
    let info = info.string(4, group).double(5, start);
    let data = Msg::new().int(1, 0).message(3, info).bytes();
    Msg::new()
        .string(1, "_hparams_/session_start_info")
        .message(9, plugin("hparams", &data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_fixed_fields_encode_as_protobuf_does() {
        // Reference bytes: protoc --encode of `step: 300` and `wall_time: 1.5` into Event.
        let e = Msg::new().int(2, 300).bytes();
        assert_eq!(e, [0x10, 0xAC, 0x02]);
        let w = Msg::new().double(1, 1.5).bytes();
        assert_eq!(w, [0x09, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F]);
        let s = scalar("a", 1.0).bytes();
        assert_eq!(s, [0x0A, 1, b'a', 0x15, 0, 0, 0x80, 0x3F]);
        // A negative int64 takes ten bytes (two's complement as u64).
        assert_eq!(Msg::new().int(1, -1).bytes().len(), 11);
    }

    #[test]
    fn an_event_nests_its_summary_values() {
        let e = event(0.0, 1, What::Summary(vec![scalar("x", 2.0)]));
        // wall_time (9 bytes), step (2 bytes), then field 5 length-delimited.
        assert_eq!(&e[11..13], &[0x2A, 10]);
        assert_eq!(&e[13..15], &[0x0A, 8]);
    }
}
