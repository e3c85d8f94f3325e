//! A frame as a peer sends it: mostly well formed, some with one anomaly (the wrong masking,
//! RSV bits, a lying or top-bit length, a non-minimal length form). Shared by the
//! `connection_*` targets (`conn.rs`), `driver` and `event_loop`.

use arbitrary::Arbitrary;
use rfc6455::Role;
use rfc6455::frame::{LengthForm, OpCode, RawFrame};

#[derive(Arbitrary, Debug)]
pub struct PeerFrame {
    pub kind: u8,
    pub fin: bool,
    pub anomaly: u8,
    pub payload: Vec<u8>,
}

impl PeerFrame {
    /// The frame's bytes as a peer of `us` would send them (masked towards a server).
    pub fn bytes(&self, us: Role) -> Vec<u8> {
        let opcode = match self.kind % 8 {
            0 | 7 => OpCode::Continuation,
            1 => OpCode::Text,
            2 => OpCode::Binary,
            3 => OpCode::Ping,
            4 => OpCode::Pong,
            5 => OpCode::Close,
            _ => OpCode::from_u4(self.kind >> 4),
        };
        let mut frame = RawFrame::new(opcode).fin(self.fin).payload(self.payload.clone());
        let key = [self.kind, self.anomaly, 0x5A, 0xA5];
        let masked = us == Role::Server;
        // Low 3 bits pick an anomaly; most frames (0, 6, 7) have none.
        let flip_mask = self.anomaly & 7 == 1;
        if masked != flip_mask {
            frame = frame.masking_key(key);
        }
        match self.anomaly & 7 {
            2 => frame = frame.rsv_bits(self.anomaly >> 5),
            3 => {
                frame =
                    frame.declared_len((self.payload.len() as u64) ^ u64::from(self.anomaly >> 3))
            }
            4 => frame = frame.length_form(LengthForm::Extended64),
            5 => frame = frame.declared_len(1 << 63 | self.payload.len() as u64),
            _ => {}
        }
        frame.to_bytes()
    }
}
