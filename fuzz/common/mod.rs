//! Helpers shared by the fuzz targets: cutting an input into chunks at boundaries the input
//! itself chooses.

#![allow(dead_code)]

/// Split `data` into (chunk sizes, stream): the first byte says how many size bytes follow
/// (0–15), each size byte is one chunk length (0 is an empty chunk); the rest is the stream.
/// With no size bytes the stream is delivered in one piece.
pub fn split_sizes(data: &[u8]) -> (Vec<usize>, &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return (Vec::new(), data);
    };
    let n = usize::from(n % 16).min(rest.len());
    let (sizes, stream) = rest.split_at(n);
    (sizes.iter().map(|&b| usize::from(b)).collect(), stream)
}

/// Cut `stream` into chunks whose lengths cycle through `sizes` (the last chunk takes what
/// is left). Empty chunks are kept, except that a cycle of only zeros delivers the rest.
pub fn chunks<'a>(stream: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut rest = stream;
    if sizes.iter().all(|&s| s == 0) {
        out.extend(sizes.iter().map(|_| &stream[..0]));
        out.push(rest);
        return out;
    }
    let mut i = 0;
    while !rest.is_empty() {
        let size = sizes[i % sizes.len()].min(rest.len());
        let (chunk, tail) = rest.split_at(size);
        out.push(chunk);
        rest = tail;
        i += 1;
    }
    out
}
