//! TFRecord framing, the container of TensorBoard's event files: each record is the payload's
//! length (u64, little endian), the masked CRC-32C of those 8 bytes, the payload, and the masked
//! CRC-32C of the payload (both u32, little endian). CRC-32C (Castagnoli) is computed here with a
//! table; `read_records` is the reader the unit tests and `atelier`'s own checks use (TensorBoard
//! itself is the reference reader, in tests/e2e/tensorboard.sh).

/// CRC-32C lookup table (reflected polynomial 0x82F63B78), built at compile time.
const TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0x82F6_3B78 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// CRC-32C of `data`.
pub fn crc32c(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c = TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

/// TensorFlow's masked CRC: rotate right by 15 and add a constant, so a CRC stored inside
/// CRC-protected data does not make the outer CRC degenerate.
pub fn masked_crc32c(data: &[u8]) -> u32 {
    let c = crc32c(data);
    (c.rotate_right(15)).wrapping_add(0xA282_EAD8)
}

/// One complete record around `payload`, ready for a single `write`.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let len = (payload.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(payload.len() + 16);
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc32c(&len).to_le_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&masked_crc32c(payload).to_le_bytes());
    out
}

/// Why reading records stopped before the end of the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// Every byte was a complete record.
    End,
    /// The last record is incomplete (a writer was killed mid-write): `at` is its offset.
    Torn { at: usize },
    /// A checksum does not match at offset `at`.
    Corrupt { at: usize },
}

/// The payloads of every complete, checksummed record in `bytes`, and why reading stopped.
pub fn read_records(bytes: &[u8]) -> (Vec<&[u8]>, Stop) {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let Some(head) = bytes.get(at..at + 12) else {
            return (out, Stop::Torn { at });
        };
        let (len_bytes, crc) = head.split_at(8);
        if masked_crc32c(len_bytes).to_le_bytes() != crc {
            return (out, Stop::Corrupt { at });
        }
        let len = u64::from_le_bytes(len_bytes.try_into().unwrap_or([0; 8])) as usize;
        let Some(body) = bytes.get(at + 12..(at + 12).saturating_add(len).saturating_add(4)) else {
            return (out, Stop::Torn { at });
        };
        let (payload, crc) = body.split_at(len);
        if masked_crc32c(payload).to_le_bytes() != crc {
            return (out, Stop::Corrupt { at });
        }
        out.push(payload);
        at += 16 + len;
    }
    (out, Stop::End)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_published_check_values() {
        // RFC 3720 (iSCSI) B.4 and the usual "123456789" check value.
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
        assert_eq!(crc32c(&[0xFFu8; 32]), 0x62A8_AB43);
        let inc: Vec<u8> = (0u8..32).collect();
        assert_eq!(crc32c(&inc), 0x46DD_794E);
        let dec: Vec<u8> = (0u8..32).rev().collect();
        assert_eq!(crc32c(&dec), 0x113F_DB5C);
        assert_eq!(crc32c(b""), 0);
    }

    #[test]
    fn masking_is_tensorflows() {
        // Values from TensorBoard's own implementation
        // (tensorboard.compat.tensorflow_stub.pywrap_tensorflow.masked_crc32c).
        let c = crc32c(b"foo");
        let m = masked_crc32c(b"foo");
        assert_eq!(m, 0xFEBE_8A61);
        assert_eq!(m.wrapping_sub(0xA282_EAD8).rotate_left(15), c);
        // The length header of a 24-byte record.
        let len = 24u64.to_le_bytes();
        assert_eq!(masked_crc32c(&len).to_le_bytes(), [163, 127, 75, 34]);
    }

    #[test]
    fn framed_records_read_back_and_a_torn_tail_is_skipped() {
        let payloads: [&[u8]; 3] = [b"first", b"", &[7u8; 300]];
        let bytes: Vec<u8> = payloads.iter().flat_map(|p| frame(p)).collect();
        let (read, stop) = read_records(&bytes);
        assert_eq!(read, payloads);
        assert_eq!(stop, Stop::End);
        for cut in 0..bytes.len() {
            let (read, stop) = read_records(&bytes[..cut]);
            let whole = [0, 21, 37, bytes.len()]
                .iter()
                .filter(|&&b| b <= cut)
                .count()
                - 1;
            assert_eq!(read.len(), whole, "cut at {cut}");
            assert_eq!(
                stop == Stop::End,
                [0, 21, 37].contains(&cut),
                "cut at {cut}: {stop:?}"
            );
        }
        let mut flipped = bytes.clone();
        flipped[14] ^= 1;
        assert_eq!(read_records(&flipped), (vec![], Stop::Corrupt { at: 0 }));
    }
}
