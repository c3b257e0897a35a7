//! The QR-code endpoints (`world/qrcodes.rs` keeps the rules): `qrcode/create` on the API host and
//! `showqrcode` (on WeChat's `mp.weixin.qq.com`; the stand-in serves both hosts).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::StandIn;
use crate::api::{Params, api};

pub(crate) fn router(standin: StandIn) -> Router {
    Router::new()
        .route("/cgi-bin/qrcode/create", post(create))
        .route("/cgi-bin/showqrcode", get(show))
        .with_state(standin)
}

async fn create(State(s): State<StandIn>, params: Params, body: Bytes) -> Response {
    let token = params.get("access_token").map(String::as_str);
    api(&s, "qrcode_create", &body, |world, body| world.create_qrcode(token, body)).await
}

/// The image of a live code (WeChat answers a JPEG; any image does here); 404 for an unknown or
/// expired ticket. No token: the ticket is the credential.
async fn show(State(s): State<StandIn>, params: Params) -> Response {
    let ticket = params.get("ticket").cloned().unwrap_or_default();
    if s.world().enter("showqrcode").is_some() {
        return (StatusCode::INTERNAL_SERVER_ERROR, "injected fault").into_response();
    }
    if s.world().live_qrcode(&ticket).is_none() {
        return (StatusCode::NOT_FOUND, "no such ticket").into_response();
    }
    ([(header::CONTENT_TYPE, "image/png")], qr_like_png(ticket.as_bytes())).into_response()
}

/// A QR-looking PNG for `seed` (three finder squares and modules from the seed), 25 modules of 8
/// pixels: enough for a page to show a code that differs per ticket. Uncompressed (stored
/// deflate blocks), so no compression library is needed.
pub(crate) fn qr_like_png(seed: &[u8]) -> Vec<u8> {
    const MODULES: usize = 25;
    const SCALE: usize = 8;
    let side = MODULES * SCALE;
    let mut state =
        seed.iter().fold(0x9e37_79b9_7f4a_7c15_u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3));
    let mut dark = [[false; MODULES]; MODULES];
    for row in dark.iter_mut() {
        for cell in row.iter_mut() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *cell = state & 1 == 1;
        }
    }
    for (top, left) in [(0, 0), (0, MODULES - 7), (MODULES - 7, 0)] {
        for r in 0..7 {
            for c in 0..7 {
                let ring = r == 0 || r == 6 || c == 0 || c == 6;
                let core = (2..=4).contains(&r) && (2..=4).contains(&c);
                dark[top + r][left + c] = ring || core;
            }
        }
    }
    let mut raw = Vec::with_capacity(side * (side + 1));
    for y in 0..side {
        raw.push(0); // filter: none
        raw.extend((0..side).map(|x| if dark[y / SCALE][x / SCALE] { 0u8 } else { 255u8 }));
    }
    let mut zlib = vec![0x78, 0x01];
    let chunks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        zlib.push(u8::from(i + 1 == chunks.len()));
        let len = u16::try_from(chunk.len()).unwrap_or(u16::MAX);
        zlib.extend(len.to_le_bytes());
        zlib.extend((!len).to_le_bytes());
        zlib.extend_from_slice(chunk);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for byte in &raw {
        a = (a + u32::from(*byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    zlib.extend(((b << 16) | a).to_be_bytes());
    let side = u32::try_from(side).unwrap_or(0);
    let mut header = Vec::new();
    header.extend(side.to_be_bytes());
    header.extend(side.to_be_bytes());
    header.extend([8, 0, 0, 0, 0]); // 8-bit grayscale
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [(b"IHDR", header), (b"IDAT", zlib), (b"IEND", Vec::new())] {
        png.extend(u32::try_from(data.len()).unwrap_or(0).to_be_bytes());
        let start = png.len();
        png.extend_from_slice(kind);
        png.extend_from_slice(&data);
        let crc = crc32(&png[start..]);
        png.extend(crc.to_be_bytes());
    }
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffff_u32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xedb8_8320 } else { crc >> 1 };
        }
    }
    !crc
}
