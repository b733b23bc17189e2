//! Reading newline-terminated lines of bounded length from a stream.

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// What one read produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    /// A whole line, without its newline (nor a trailing carriage return).
    Complete(Vec<u8>),
    /// A line longer than the limit; it was read up to its newline and thrown away.
    TooLong,
    /// The peer closed the stream (a last unterminated line is dropped).
    End,
}

/// Reads lines of at most `max_bytes` (newline included) without ever holding more than that.
#[derive(Debug)]
pub struct LineReader<R> {
    reader: R,
    max_bytes: usize,
    buffer: Vec<u8>,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    /// Reads from `reader`.
    pub fn new(reader: R, max_bytes: usize) -> LineReader<R> {
        LineReader {
            reader,
            max_bytes,
            buffer: Vec::new(),
        }
    }

    /// The next line.
    pub async fn next_line(&mut self) -> std::io::Result<Line> {
        let mut too_long = false;
        loop {
            let available = self.reader.fill_buf().await?;
            if available.is_empty() {
                return Ok(Line::End);
            }
            let newline = available.iter().position(|&byte| byte == b'\n');
            let take = newline.map_or(available.len(), |index| index + 1);
            if !too_long {
                if self.buffer.len() + take > self.max_bytes {
                    too_long = true;
                    self.buffer = Vec::new();
                } else {
                    self.buffer.extend_from_slice(&available[..take]);
                }
            }
            self.reader.consume(take);
            if newline.is_some() {
                if too_long {
                    return Ok(Line::TooLong);
                }
                let mut line = std::mem::take(&mut self.buffer);
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(Line::Complete(line));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_long_lines_and_end() {
        let input: &[u8] = b"short\r\ntoo long for eight\nok\npartial";
        let mut reader = LineReader::new(input, 8);
        assert_eq!(
            reader.next_line().await.unwrap(),
            Line::Complete(b"short".to_vec())
        );
        assert_eq!(reader.next_line().await.unwrap(), Line::TooLong);
        assert_eq!(
            reader.next_line().await.unwrap(),
            Line::Complete(b"ok".to_vec())
        );
        assert_eq!(reader.next_line().await.unwrap(), Line::End);
    }

    #[tokio::test]
    async fn a_line_split_across_reads_is_whole() {
        let (client, server) = tokio::io::duplex(4);
        let writer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            let mut client = client;
            client.write_all(b"0123456789\nabc\n").await.unwrap();
        });
        let mut reader = LineReader::new(tokio::io::BufReader::new(server), 64);
        assert_eq!(
            reader.next_line().await.unwrap(),
            Line::Complete(b"0123456789".to_vec())
        );
        assert_eq!(
            reader.next_line().await.unwrap(),
            Line::Complete(b"abc".to_vec())
        );
        writer.await.unwrap();
    }
}
