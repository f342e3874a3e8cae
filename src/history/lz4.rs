//! A small LZ4 frame decoder, for the LZ4-compressed buffers of feather files.
//!
//! Why it exists: pyarrow writes feather files with LZ4_FRAME buffer compression by
//! default (the bundled freqtrade files are such files), and this crate's arrow-ipc is
//! built without its `lz4` feature (whose `lz4_flex` dependency is not available
//! offline). The LZ4 frame and block formats are small and fully specified
//! (<https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md>,
//! `lz4_Block_format.md`), so decoding them here costs about a hundred lines of safe
//! code.
//!
//! Contract: decodes one or more concatenated frames (skippable frames are skipped)
//! into a buffer of exactly `expected_len` bytes; linked and independent blocks,
//! uncompressed blocks and the optional content size are supported. Every length and
//! offset is bounds-checked, so malformed input is an error, never a panic or an
//! allocation beyond `expected_len`. The optional xxHash32 checksums are skipped, not
//! verified (the Arrow reader does not verify them either); the decoded values still go
//! through the bar checks. Preset dictionaries are refused.

const FRAME_MAGIC: u32 = 0x184D_2204;
const SKIPPABLE_MAGIC_MASK: u32 = 0xFFFF_FFF0;
const SKIPPABLE_MAGIC: u32 = 0x184D_2A50;
const MIN_MATCH: usize = 4;

/// Decodes LZ4 frame data `input` that must expand to exactly `expected_len` bytes.
pub(crate) fn decompress_frames(
    input: &[u8],
    expected_len: usize,
) -> Result<Vec<u8>, &'static str> {
    let mut out = Vec::with_capacity(expected_len);
    let mut r = Reader {
        data: input,
        pos: 0,
    };
    while r.pos < input.len() {
        let magic = r.u32()?;
        if magic & SKIPPABLE_MAGIC_MASK == SKIPPABLE_MAGIC {
            let len = r.u32()? as usize;
            r.take(len)?;
            continue;
        }
        if magic != FRAME_MAGIC {
            return Err("not an LZ4 frame (bad magic number)");
        }
        let flg = r.u8()?;
        let _bd = r.u8()?;
        if flg >> 6 != 0b01 {
            return Err("unsupported LZ4 frame version");
        }
        let block_checksum = flg & 0x10 != 0;
        let content_size = flg & 0x08 != 0;
        let content_checksum = flg & 0x04 != 0;
        if flg & 0x01 != 0 {
            return Err("LZ4 frames with a preset dictionary are not supported");
        }
        if content_size {
            r.take(8)?;
        }
        r.take(1)?; // header checksum
        loop {
            let word = r.u32()?;
            if word == 0 {
                break; // end mark
            }
            let len = (word & 0x7FFF_FFFF) as usize;
            let block = r.take(len)?;
            if word & 0x8000_0000 != 0 {
                if out.len() + block.len() > expected_len {
                    return Err("LZ4 data is longer than announced");
                }
                out.extend_from_slice(block);
            } else {
                decode_block(block, &mut out, expected_len)?;
            }
            if block_checksum {
                r.take(4)?;
            }
        }
        if content_checksum {
            r.take(4)?;
        }
    }
    if out.len() != expected_len {
        return Err("LZ4 data is shorter than announced");
    }
    Ok(out)
}

/// Appends the decoding of one LZ4 block to `out`, whose earlier bytes are the window
/// that matches may refer to (linked blocks), never growing it past `limit`.
fn decode_block(block: &[u8], out: &mut Vec<u8>, limit: usize) -> Result<(), &'static str> {
    let mut r = Reader {
        data: block,
        pos: 0,
    };
    loop {
        let token = r.u8()?;
        let literals = r.length(usize::from(token >> 4))?;
        let lit = r.take(literals)?;
        if out.len() + lit.len() > limit {
            return Err("LZ4 data is longer than announced");
        }
        out.extend_from_slice(lit);
        if r.pos == block.len() {
            return Ok(()); // the last sequence has literals only
        }
        let offset = usize::from(r.u16()?);
        if offset == 0 || offset > out.len() {
            return Err("LZ4 match offset points before the start of the data");
        }
        let match_len = r.length(usize::from(token & 0x0F))? + MIN_MATCH;
        if out.len() + match_len > limit {
            return Err("LZ4 data is longer than announced");
        }
        let start = out.len() - offset;
        if offset >= match_len {
            out.extend_from_within(start..start + match_len);
        } else {
            // Overlapping match: the copy reads bytes it has just written (run-length
            // style), so it goes in chunks of at most `offset` bytes.
            let mut left = match_len;
            while left > 0 {
                let n = left.min(out.len() - start);
                out.extend_from_within(start..start + n);
                left -= n;
            }
        }
    }
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    #[inline]
    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        let end = self.pos.checked_add(n).ok_or("LZ4 data is truncated")?;
        let bytes = self
            .data
            .get(self.pos..end)
            .ok_or("LZ4 data is truncated")?;
        self.pos = end;
        Ok(bytes)
    }

    #[inline]
    fn u8(&mut self) -> Result<u8, &'static str> {
        Ok(self.take(1)?[0])
    }

    #[inline]
    fn u16(&mut self) -> Result<u16, &'static str> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    #[inline]
    fn u32(&mut self) -> Result<u32, &'static str> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A 4-bit length nibble, extended by 255-continued bytes when it is 15.
    #[inline]
    fn length(&mut self, nibble: usize) -> Result<usize, &'static str> {
        let mut len = nibble;
        if nibble == 15 {
            loop {
                let b = self.u8()?;
                len = len
                    .checked_add(usize::from(b))
                    .ok_or("LZ4 length overflows")?;
                if b != 255 {
                    break;
                }
            }
        }
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Frames made by the reference `lz4` 1.9.4 command line tool (`lz4 -c`, and
    /// `lz4 -c --content-size -BX` for TC1), from the texts given in each case.
    #[test]
    fn reference_frames() {
        let text = b"pinewire pinewire pinewire pinewire pinewire pinewire!\n";
        let cases: &[(&[u8], &[u8])] = &[
            // TC0: default frame, one compressed block, content checksum.
            (
                &[
                    0x04, 0x22, 0x4d, 0x18, 0x64, 0x40, 0xa7, 0x13, 0x00, 0x00, 0x00, 0x9f, 0x70,
                    0x69, 0x6e, 0x65, 0x77, 0x69, 0x72, 0x65, 0x20, 0x09, 0x00, 0x16, 0x50, 0x69,
                    0x72, 0x65, 0x21, 0x0a, 0x00, 0x00, 0x00, 0x00, 0xb3, 0x38, 0xaf, 0x57,
                ],
                text,
            ),
            // TC1: content size and block checksums present.
            (
                &[
                    0x04, 0x22, 0x4d, 0x18, 0x7c, 0x40, 0x37, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                    0x00, 0x45, 0x13, 0x00, 0x00, 0x00, 0x9f, 0x70, 0x69, 0x6e, 0x65, 0x77, 0x69,
                    0x72, 0x65, 0x20, 0x09, 0x00, 0x16, 0x50, 0x69, 0x72, 0x65, 0x21, 0x0a, 0xdb,
                    0xe0, 0xa8, 0xe5, 0x00, 0x00, 0x00, 0x00, 0xb3, 0x38, 0xaf, 0x57,
                ],
                text,
            ),
        ];
        for (i, (frame, want)) in cases.iter().enumerate() {
            let got = decompress_frames(frame, want.len()).unwrap_or_else(|e| panic!("TC{i}: {e}"));
            assert_eq!(&got[..], *want, "TC{i}");
        }
    }

    #[test]
    fn hand_made_blocks() {
        // A frame header without options (FLG 0x40, BD 0x40, HC byte), then the block.
        let frame = |block: &[u8], raw: bool| {
            let mut f = vec![0x04, 0x22, 0x4d, 0x18, 0x40, 0x40, 0x00];
            let size = block.len() as u32 | if raw { 0x8000_0000 } else { 0 };
            f.extend_from_slice(&size.to_le_bytes());
            f.extend_from_slice(block);
            f.extend_from_slice(&[0, 0, 0, 0]);
            f
        };
        type Case<'a> = (Vec<u8>, usize, Result<&'a [u8], &'a str>);
        let cases: &[Case] = &[
            // TC0: literals only.
            (frame(&[0x30, b'a', b'b', b'c'], false), 3, Ok(b"abc")),
            // TC1: one literal then an overlapping match of 8 (run-length).
            (
                frame(&[0x14, b'z', 0x01, 0x00, 0x00], false),
                9,
                Ok(b"zzzzzzzzz"),
            ),
            // TC2: uncompressed block.
            (frame(b"raw!", true), 4, Ok(b"raw!")),
            // TC3: match offset before the start.
            (
                frame(&[0x10, b'a', 0x05, 0x00], false),
                10,
                Err("LZ4 match offset points before the start of the data"),
            ),
            // TC4: more output than announced.
            (
                frame(&[0x30, b'a', b'b', b'c'], false),
                2,
                Err("LZ4 data is longer than announced"),
            ),
            // TC5: less output than announced.
            (
                frame(&[0x30, b'a', b'b', b'c'], false),
                4,
                Err("LZ4 data is shorter than announced"),
            ),
            // TC6: truncated.
            (
                vec![0x04, 0x22, 0x4d, 0x18, 0x40],
                1,
                Err("LZ4 data is truncated"),
            ),
            // TC7: wrong magic.
            (
                vec![1, 2, 3, 4, 5, 6, 7],
                1,
                Err("not an LZ4 frame (bad magic number)"),
            ),
        ];
        for (i, (input, len, want)) in cases.iter().enumerate() {
            let got = decompress_frames(input, *len);
            assert_eq!(got.as_deref(), want.as_deref(), "TC{i}");
        }
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..256),
                                    len in 0usize..4096) {
            let _ = decompress_frames(&data, len);
        }

        #[test]
        fn random_blocks_behind_a_valid_header_never_panic(
            block in proptest::collection::vec(any::<u8>(), 0..128), len in 0usize..4096) {
            let mut f = vec![0x04, 0x22, 0x4d, 0x18, 0x40, 0x40, 0x00];
            f.extend_from_slice(&(block.len() as u32).to_le_bytes());
            f.extend_from_slice(&block);
            f.extend_from_slice(&[0, 0, 0, 0]);
            let _ = decompress_frames(&f, len);
        }
    }
}
