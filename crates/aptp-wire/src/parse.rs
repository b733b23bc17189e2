//! nom plumbing shared by every parser of the crate: the error type nom carries, fixed-size
//! primitives, and the conversion of a nom failure into a [`WireError`] with its byte offset.

use nom::error::ParseError;
use nom::{IResult, Parser};

use crate::error::{ErrorKind, WireError};

/// The error nom carries through our parsers: the input where it failed, and what was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NomError<'a> {
    /// The remaining input at the failure (its length gives the offset).
    pub input: &'a [u8],
    /// What was wrong.
    pub kind: ErrorKind,
}

impl<'a> NomError<'a> {
    /// An error of `kind` at `input`.
    pub(crate) const fn new(input: &'a [u8], kind: ErrorKind) -> Self {
        Self { input, kind }
    }

    /// `needed` bytes were needed at `input`.
    pub(crate) const fn truncated(input: &'a [u8], needed: usize) -> Self {
        Self::new(
            input,
            ErrorKind::Truncated {
                needed,
                available: input.len(),
            },
        )
    }
}

impl<'a> ParseError<&'a [u8]> for NomError<'a> {
    fn from_error_kind(input: &'a [u8], _kind: nom::error::ErrorKind) -> Self {
        // nom's own parsers only fail here for lack of input; ours report the exact need.
        Self::truncated(input, input.len() + 1)
    }

    fn append(_input: &'a [u8], _kind: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

/// The result of one of the crate's nom parsers.
pub(crate) type PResult<'a, T> = IResult<&'a [u8], T, NomError<'a>>;

/// Turns a nom failure into a [`WireError`] whose offset counts from `start`, the input the
/// whole parse began with (every input nom hands around is a suffix of it).
pub(crate) fn to_wire_error(start: &[u8], error: nom::Err<NomError<'_>>) -> WireError {
    match error {
        nom::Err::Error(e) | nom::Err::Failure(e) => {
            WireError::new(e.kind, start.len().saturating_sub(e.input.len()))
        }
        // Only streaming parsers return Incomplete, and the crate uses none.
        nom::Err::Incomplete(_) => WireError::new(
            ErrorKind::Truncated {
                needed: start.len() + 1,
                available: start.len(),
            },
            start.len(),
        ),
    }
}

/// Runs `parser` on `input`, converting its failure into a [`WireError`].
pub(crate) fn run<'a, T>(
    mut parser: impl Parser<&'a [u8], Output = T, Error = NomError<'a>>,
    input: &'a [u8],
) -> Result<(&'a [u8], T), WireError> {
    parser.parse(input).map_err(|e| to_wire_error(input, e))
}

/// `N` bytes, copied into an array.
#[inline]
pub(crate) fn array<const N: usize>(input: &[u8]) -> PResult<'_, [u8; N]> {
    match input.split_first_chunk::<N>() {
        Some((head, rest)) => Ok((rest, *head)),
        None => Err(nom::Err::Error(NomError::truncated(input, N))),
    }
}

/// `N` bytes, borrowed as an array (no copy): the primitive of every fixed-size structure,
/// whose fields are then read at their named offsets with the `read_*` helpers.
#[inline]
pub(crate) fn array_ref<const N: usize>(input: &[u8]) -> PResult<'_, &[u8; N]> {
    match input.split_first_chunk::<N>() {
        Some((head, rest)) => Ok((rest, head)),
        None => Err(nom::Err::Error(NomError::truncated(input, N))),
    }
}

// The `read_*` helpers index a fixed-size array at a constant offset from `crate::field`:
// the bounds are known at compile time, so they compile to plain loads, and an offset
// outside the array would be a bug in the field tables (caught by every golden test), not
// something input can cause.

/// The big-endian u16 at `at` in `b`.
#[inline(always)]
pub(crate) const fn read_u16<const N: usize>(b: &[u8; N], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// The big-endian u32 at `at` in `b`.
#[inline(always)]
pub(crate) const fn read_u32<const N: usize>(b: &[u8; N], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The big-endian 48-bit unsigned integer at `at` in `b`.
#[inline(always)]
pub(crate) const fn read_u48<const N: usize>(b: &[u8; N], at: usize) -> u64 {
    u64::from_be_bytes([
        0,
        0,
        b[at],
        b[at + 1],
        b[at + 2],
        b[at + 3],
        b[at + 4],
        b[at + 5],
    ])
}

/// The big-endian i64 at `at` in `b`.
#[inline(always)]
pub(crate) const fn read_i64<const N: usize>(b: &[u8; N], at: usize) -> i64 {
    i64::from_be_bytes([
        b[at],
        b[at + 1],
        b[at + 2],
        b[at + 3],
        b[at + 4],
        b[at + 5],
        b[at + 6],
        b[at + 7],
    ])
}

/// The `M` bytes at `at` in `b`, copied.
#[inline(always)]
pub(crate) fn read_array<const N: usize, const M: usize>(b: &[u8; N], at: usize) -> [u8; M] {
    let mut out = [0u8; M];
    out.copy_from_slice(&b[at..at + M]);
    out
}

/// `len` bytes, borrowed.
#[inline]
pub(crate) fn take(len: usize) -> impl Fn(&[u8]) -> PResult<'_, &[u8]> {
    move |input: &[u8]| match input.split_at_checked(len) {
        Some((head, rest)) => Ok((rest, head)),
        None => Err(nom::Err::Error(NomError::truncated(input, len))),
    }
}

/// A byte count, then that many bytes (as in a PTPText), borrowed.
#[inline]
pub(crate) fn length_prefixed(input: &[u8]) -> PResult<'_, &[u8]> {
    let (rest, len) = u8(input)?;
    take(usize::from(len))(rest)
}

/// One byte.
#[inline]
pub(crate) fn u8(input: &[u8]) -> PResult<'_, u8> {
    match input.split_first() {
        Some((first, rest)) => Ok((rest, *first)),
        None => Err(nom::Err::Error(NomError::truncated(input, 1))),
    }
}

/// A big-endian u16.
#[inline]
pub(crate) fn be_u16(input: &[u8]) -> PResult<'_, u16> {
    nom::combinator::map(array::<2>, u16::from_be_bytes).parse(input)
}

/// A big-endian 48-bit unsigned integer.
#[inline]
pub(crate) fn be_u48(input: &[u8]) -> PResult<'_, u64> {
    nom::combinator::map(array::<6>, |b| {
        u64::from_be_bytes([0, 0, b[0], b[1], b[2], b[3], b[4], b[5]])
    })
    .parse(input)
}

/// Writes `value` as 48-bit big-endian into `out[..6]`; the caller checked the range.
#[inline]
pub(crate) fn put_u48(out: &mut [u8], value: u64) {
    let bytes = value.to_be_bytes();
    out[..6].copy_from_slice(&bytes[2..]);
}
