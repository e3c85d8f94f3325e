#!/usr/bin/env python3
"""Write the committed seed corpora under fuzz/seeds/<target>/ from RFC 6455 test vectors.

Byte-level targets get the RFC's own examples (§1.3/§4 handshake, §5.7 frames) plus edge
cases. The byte-level targets that take chunk sizes expect a first byte N (0-15) and N size
bytes before the stream; seeds come both whole (N=0) and cut. The structured targets
(connection_*, roundtrip) decode their input with `arbitrary`; their seeds are the §5.7
frames as raw bytes (written here) plus ten small inputs (`campaign-*`) kept from the
campaign corpus (see fuzz/README.md); this script does not touch those, nor the files
named by a content hash (40 hex digits): every target's corpus of the 2026-12-01 campaign,
minimised (`fuzz/campaign.sh cmin`).
Run from the repository root: python3 fuzz/seeds/generate.py
"""
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)))


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def cut(sizes, stream):
    return bytes([len(sizes)]) + bytes(sizes) + stream


REQUEST = (b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n"
           b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           b"Origin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\n"
           b"Sec-WebSocket-Version: 13\r\n\r\n")
RESPONSE = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            b"Sec-WebSocket-Protocol: chat\r\n\r\n")

# §5.7 examples.
HELLO = bytes([0x81, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F])
MASKED_HELLO = bytes([0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])
FRAG_HEL = bytes([0x01, 0x03, 0x48, 0x65, 0x6C])
FRAG_LO = bytes([0x80, 0x02, 0x6C, 0x6F])
PING = bytes([0x89, 0x05, 0x48, 0x65, 0x6C, 0x6C, 0x6F])
MASKED_PONG = bytes([0x8A, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])
BIN256 = bytes([0x82, 0x7E, 0x01, 0x00]) + bytes(256)
BIN64K_HEAD = bytes([0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0])
CLOSE_1000 = bytes([0x88, 0x02, 0x03, 0xE8])


def mask(key, payload):
    return bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def masked(first, payload, key=b"\x37\xfa\x21\x3d"):
    n = len(payload)
    if n <= 125:
        head = bytes([first, 0x80 | n])
    elif n <= 0xFFFF:
        head = bytes([first, 0x80 | 126]) + struct.pack(">H", n)
    else:
        head = bytes([first, 0x80 | 127]) + struct.pack(">Q", n)
    return head + key + mask(key, payload)


# handshake_request
write("handshake_request", "rfc_1_3_request", cut([], REQUEST))
write("handshake_request", "rfc_1_3_request_bytewise", cut([1], REQUEST))
write("handshake_request", "rfc_1_3_request_cut", cut([7, 33, 0, 120], REQUEST))
write("handshake_request", "request_with_frame", cut([], REQUEST + MASKED_HELLO))
write("handshake_request", "bad_version", cut([], REQUEST.replace(b"Version: 13", b"Version: 8")))
write("handshake_request", "post", cut([], REQUEST.replace(b"GET", b"POST")))
write("handshake_request", "http10", cut([], REQUEST.replace(b"HTTP/1.1", b"HTTP/1.0")))
write("handshake_request", "lf_only", cut([], REQUEST.replace(b"\r\n", b"\n")))
# handshake_response
write("handshake_response", "rfc_1_3_response", cut([], RESPONSE))
write("handshake_response", "rfc_1_3_response_cut", cut([5, 1, 40], RESPONSE + HELLO))
write("handshake_response", "rejected_with_body",
      cut([], b"HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\n\r\nnope!"))
write("handshake_response", "rejected_no_length", cut([10], b"HTTP/1.1 400 Bad Request\r\n\r\nwhy"))
write("handshake_response", "bad_accept",
      cut([], RESPONSE.replace(b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", b"AAAAAAAAAAAAAAAAAAAAAAAAAAA=")))
# frame_header: raw headers
for name, data in [("hello", HELLO), ("masked_hello", MASKED_HELLO), ("bin256", BIN256[:4]),
                   ("bin64k", BIN64K_HEAD), ("close", CLOSE_1000),
                   ("non_minimal16", bytes([0x81, 0x7E, 0, 5])),
                   ("top_bit", bytes([0x82, 0xFF]) + b"\xff" * 8 + b"\x01\x02\x03\x04"),
                   ("short", bytes([0x81]))]:
    write("frame_header", name, data)
# frame_decoder: chunked streams of the §5.7 frames
STREAM = HELLO + MASKED_HELLO + FRAG_HEL + PING + FRAG_LO + MASKED_PONG + CLOSE_1000
write("frame_decoder", "rfc_5_7_stream", cut([], STREAM))
write("frame_decoder", "rfc_5_7_stream_bytewise", cut([1], STREAM))
write("frame_decoder", "rfc_5_7_stream_cut", cut([3, 0, 9, 2], STREAM))
write("frame_decoder", "bin256", cut([100], BIN256))
write("frame_decoder", "bin64k_partial", cut([], BIN64K_HEAD + bytes(300)))
# utf8
TEXT = "Hello κόσμε € 𝄞 ok".encode()
write("utf8", "mixed", cut([], TEXT))
write("utf8", "mixed_cut", cut([1, 2, 3], TEXT))
write("utf8", "autobahn_6_4_f4_90", cut([5], "κόσμε".encode() + b"\xf4\x90\x80\x80"))
write("utf8", "surrogate", cut([1], b"\xed\xa0\x80"))
write("utf8", "overlong", cut([], b"\xc0\xaf"))
write("utf8", "truncated", cut([], b"\xe2\x82"))
# mask: key(4) offset(2, LE) skew(1) then N, sizes, payload
write("mask", "rfc_hello", b"\x37\xfa\x21\x3d\x00\x00\x00" + cut([], b"Hello"))
write("mask", "offset_cut", b"\x01\x02\x03\x04\x03\x00\x05" + cut([3, 8, 1], bytes(range(64))))
# structured targets: the §5.7 bytes (arbitrary reads them as some operation list)
for target in ["connection_server", "connection_client", "roundtrip"]:
    write(target, "rfc_5_7_masked", MASKED_HELLO + masked(0x89, b"Hello") + masked(0x88, b"\x03\xe8"))
    write(target, "rfc_5_7_unmasked", HELLO + FRAG_HEL + PING + FRAG_LO + CLOSE_1000)
