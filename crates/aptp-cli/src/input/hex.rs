//! Hex text: one message per line, as `aptp decode` reads it and `aptp encode` writes it.

use std::fmt::Write as _;

/// A line that is not a whole number of bytes written in hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HexError {
    /// A character that is not a hex digit (nor whitespace).
    #[error("{character:?} is not a hex digit")]
    InvalidDigit {
        /// The offending character.
        character: char,
        /// Byte offset in the message where the digit would go.
        offset: usize,
    },
    /// An odd number of hex digits: the last byte is half written.
    #[error("odd number of hex digits ({digits})")]
    OddLength {
        /// How many digits the line holds.
        digits: usize,
    },
}

impl HexError {
    /// Byte offset in the message where the line stops being hex.
    pub fn offset(&self) -> usize {
        match *self {
            HexError::InvalidDigit { offset, .. } => offset,
            HexError::OddLength { digits } => digits / 2,
        }
    }
}

/// Decodes one line: `None` for a blank line or a `#` comment, else the bytes it spells.
///
/// Whitespace anywhere is ignored, as is a leading `0x` or `0X`.
pub fn parse_line(line: &str) -> Option<Result<Vec<u8>, HexError>> {
    let trimmed = line.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return None;
    }
    let digits = trimmed
        .strip_prefix("0x")
        .or_else(|| trimmed.strip_prefix("0X"))
        .unwrap_or(trimmed);
    Some(parse_hex(digits))
}

/// Decodes hex digits (whitespace between them ignored) into bytes.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, HexError> {
    let mut bytes = Vec::with_capacity(text.len() / 2);
    let mut high: Option<u8> = None;
    let mut digits = 0usize;
    for character in text.chars().filter(|character| !character.is_whitespace()) {
        let Some(nibble) = character.to_digit(16) else {
            return Err(HexError::InvalidDigit {
                character,
                offset: digits / 2,
            });
        };
        // `to_digit(16)` returns at most 15, so the nibble fits a u8.
        let nibble = nibble as u8;
        digits += 1;
        match high.take() {
            None => high = Some(nibble),
            Some(high) => bytes.push(high << 4 | nibble),
        }
    }
    if high.is_some() {
        return Err(HexError::OddLength { digits });
    }
    Ok(bytes)
}

/// Writes bytes as lowercase hex digits, without separators.
pub fn to_hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        // Writing to a String cannot fail.
        let _ = write!(text, "{byte:02x}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_parse_line_ignores_whitespace_and_prefix() {
        assert_eq!(
            parse_line("  0x00 02\t00 2c  "),
            Some(Ok(vec![0, 2, 0, 0x2C]))
        );
        assert_eq!(parse_line("0XFFfe"), Some(Ok(vec![0xFF, 0xFE])));
        assert_eq!(parse_line("a b c d"), Some(Ok(vec![0xAB, 0xCD])));
    }

    #[test]
    fn test_blank_and_comment_lines_are_skipped() {
        assert_eq!(parse_line(""), None);
        assert_eq!(parse_line(" \t\r"), None);
        assert_eq!(parse_line("# a Sync from ptp4l"), None);
    }

    #[test]
    fn test_bad_hex_is_a_typed_error() {
        assert_eq!(
            parse_line("0011zz"),
            Some(Err(HexError::InvalidDigit {
                character: 'z',
                offset: 2
            }))
        );
        let odd = parse_line("00112").unwrap().unwrap_err();
        assert_eq!(odd, HexError::OddLength { digits: 5 });
        assert_eq!(odd.offset(), 2);
        assert_eq!(parse_line("0x").unwrap(), Ok(vec![]));
    }

    #[test]
    fn test_to_hex_round_trips() {
        let bytes: Vec<u8> = (0..=255).collect();
        let text = to_hex(&bytes);
        assert_eq!(&text[..8], "00010203");
        assert_eq!(parse_line(&text), Some(Ok(bytes)));
    }
}
