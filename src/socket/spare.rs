//! Reading onto the end of a [`BytesMut`] without zero-filling it first.
//!
//! `Read::read` takes an initialised `&mut [u8]`, so a generic read must zero the bytes it
//! offers before the stream overwrites them: on a 16 KiB read that brings 16 bytes, the
//! memset is most of the work (and std's `read_buf`, which would avoid it, is unstable). A
//! socket needs no such care: `read(2)` only writes. So when a stream gives its descriptor
//! ([`Transport::read_fd`]) the bytes go straight into the buffer's spare capacity;
//! otherwise the spare bytes are zeroed and `Read::read` fills them.

use std::io::{self, Read};

use bytes::BytesMut;

use super::Transport;

/// Read at most `max` bytes from `stream` onto the end of `buf`, reserving (never more than)
/// `max`; retries `Interrupted`. Returns the count read, `0` at end of stream.
pub(crate) fn read_append<S: Read + Transport + ?Sized>(
    stream: &mut S,
    buf: &mut BytesMut,
    max: usize,
) -> io::Result<usize> {
    loop {
        let result = read_once(stream, buf, max);
        match result {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

fn read_once<S: Read + Transport + ?Sized>(
    stream: &mut S,
    buf: &mut BytesMut,
    max: usize,
) -> io::Result<usize> {
    #[cfg(unix)]
    if let Some(fd) = stream.read_fd() {
        return read_fd_append(fd, buf, max);
    }
    let start = buf.len();
    buf.resize(start + max, 0);
    let result = stream.read(&mut buf[start..]);
    buf.truncate(start + *result.as_ref().unwrap_or(&0));
    result
}

/// One `read(2)` of at most `max` bytes from `fd` straight into the spare capacity of `buf`
/// (reserving `max`, never more), appended to its contents: no zero-fill first. Returns
/// the count read, `0` at end of stream; errors (`WouldBlock`, `Interrupted` …) as the OS
/// gives them, with `buf` unchanged.
///
/// For event loops over sockets of their own (`mio::net::TcpStream` is `AsFd`):
/// `read_fd_append(stream.as_fd(), conn.read_buf(), 64 * 1024)`.
#[cfg(unix)]
pub fn read_fd_append(
    fd: std::os::fd::BorrowedFd<'_>,
    buf: &mut BytesMut,
    max: usize,
) -> io::Result<usize> {
    use std::os::fd::AsRawFd;

    buf.reserve(max);
    let spare = buf.spare_capacity_mut();
    // read(2) may not be asked for more than isize::MAX bytes.
    let len = spare.len().min(max).min(isize::MAX as usize);
    // SAFETY: `spare` is valid for writes of `len` bytes (it is at least that long, and we
    // hold `buf` mutably, so nothing else looks at it); `fd` is open for the whole call (a
    // `BorrowedFd` outlives it). read(2) writes at most `len` bytes there and reads none.
    let n = unsafe { libc::read(fd.as_raw_fd(), spare.as_mut_ptr().cast(), len) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = n as usize;
    debug_assert!(n <= len);
    // SAFETY: the kernel initialised the first `n` (at most `len`) bytes of the spare
    // capacity, which begin at `buf.len()`.
    unsafe { buf.set_len(buf.len() + n) };
    Ok(n)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsFd;
    use std::os::unix::net::UnixStream;

    #[test]
    fn appends_what_arrived_after_what_is_there() {
        let (mut a, b) = UnixStream::pair().unwrap();
        a.write_all(b"hello world").unwrap();
        let mut buf = BytesMut::from(&b"say: "[..]);
        let n = read_fd_append(b.as_fd(), &mut buf, 5).unwrap();
        assert_eq!(n, 5);
        assert_eq!(&buf[..], b"say: hello");
        let n = read_fd_append(b.as_fd(), &mut buf, 64).unwrap();
        assert_eq!(n, 6);
        assert_eq!(&buf[..], b"say: hello world");
    }

    #[test]
    fn reuses_spare_capacity_that_held_other_bytes() {
        let (mut a, b) = UnixStream::pair().unwrap();
        let mut buf = BytesMut::with_capacity(64);
        buf.extend_from_slice(&[0xAA; 64]);
        buf.clear();
        a.write_all(b"xyz").unwrap();
        assert_eq!(read_fd_append(b.as_fd(), &mut buf, 64).unwrap(), 3);
        assert_eq!(&buf[..], b"xyz");
    }

    #[test]
    fn would_block_and_end_of_stream_leave_the_buffer_as_it_was() {
        let (a, b) = UnixStream::pair().unwrap();
        b.set_nonblocking(true).unwrap();
        let mut buf = BytesMut::from(&b"kept"[..]);
        let err = read_fd_append(b.as_fd(), &mut buf, 16).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        assert_eq!(&buf[..], b"kept");
        drop(a);
        assert_eq!(read_fd_append(b.as_fd(), &mut buf, 16).unwrap(), 0);
        assert_eq!(&buf[..], b"kept");
    }

    #[test]
    fn a_stream_without_a_descriptor_is_read_through_read() {
        // `&[u8]` is no Transport; a wrapper that offers no descriptor takes the zeroing path.
        struct Plain<'a>(&'a [u8]);
        impl Read for Plain<'_> {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                self.0.read(out)
            }
        }
        impl Transport for Plain<'_> {}
        let mut stream = Plain(b"abcdef");
        let mut buf = BytesMut::new();
        assert_eq!(read_append(&mut stream, &mut buf, 4).unwrap(), 4);
        assert_eq!(read_append(&mut stream, &mut buf, 4).unwrap(), 2);
        assert_eq!(read_append(&mut stream, &mut buf, 4).unwrap(), 0);
        assert_eq!(&buf[..], b"abcdef");
    }
    #[test]
    fn the_descriptor_path_reads_what_the_zeroing_path_reads() {
        // The same byte stream, asked for in the same read sizes, through both paths: read(2) into
        // spare capacity, and zero-then-`Read::read` (a wrapper that hides the descriptor).
        struct Hidden(UnixStream);
        impl Read for Hidden {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                self.0.read(out)
            }
        }
        impl Transport for Hidden {}
        let data: Vec<u8> = (0..70_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let (a1, b1) = UnixStream::pair().unwrap();
        let (a2, b2) = UnixStream::pair().unwrap();
        // A writer per socket: neither read can wait on a write that waits on the other.
        let writers: Vec<_> = [a1, a2]
            .into_iter()
            .map(|mut a| {
                let data = data.clone();
                std::thread::spawn(move || a.write_all(&data).unwrap())
            })
            .collect();
        let (mut fd_path, mut plain) = (b1, Hidden(b2));
        let (mut via_fd, mut via_read) = (BytesMut::new(), BytesMut::new());
        for max in [1, 7, 4096, 65_536, 100_000].iter().cycle() {
            if via_fd.len() == data.len() && via_read.len() == data.len() {
                break;
            }
            if via_fd.len() < data.len() {
                read_append(&mut fd_path, &mut via_fd, *max).unwrap();
            }
            if via_read.len() < data.len() {
                read_append(&mut plain, &mut via_read, *max).unwrap();
            }
        }
        for writer in writers {
            writer.join().unwrap();
        }
        assert_eq!(&via_fd[..], &data[..]);
        assert_eq!(via_fd, via_read);
    }
}
