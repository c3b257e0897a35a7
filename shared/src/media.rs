//! What a medium (素材) is to WeChat, checked before anything is sent to it: its kind (WeChat's
//! `type`), how long WeChat keeps it, the formats and sizes it takes (one table,
//! [`Kind::max_bytes`] and [`Kind::formats`]), and the format the bytes themselves show
//! ([`sniff`]), so that a content type that lies about the bytes is refused here, not by WeChat.
//!
//! Sources: temporary media
//! <https://developers.weixin.qq.com/doc/service/api/material/temporary/api_uploadtempmedia>;
//! permanent material
//! <https://developers.weixin.qq.com/doc/service/api/material/permanent/api_addmaterial>.

use std::fmt;

/// How long WeChat keeps a temporary medium's `media_id` (3 days, reusable within them).
pub const TEMPORARY_SECS: i64 = 3 * 86_400;

/// Images, temporary or permanent: **2 MB**. WeChat's temporary-media page says 10 MB in one
/// place and 2 MB in its notes (older copies: 2 MB), so the platform takes the smaller, which
/// every reading allows.
pub const IMAGE_MAX_BYTES: u64 = 2 * 1024 * 1024;
/// Voice: 2 MB (and at most 60 s, which only WeChat checks).
pub const VOICE_MAX_BYTES: u64 = 2 * 1024 * 1024;
/// Video: 10 MB.
pub const VIDEO_MAX_BYTES: u64 = 10 * 1024 * 1024;
/// Thumbnails: 64 KB.
pub const THUMB_MAX_BYTES: u64 = 64 * 1024;
/// Images inside an article's HTML (`media/uploadimg`): under 1 MB, JPEG or PNG.
pub const ARTICLE_IMAGE_MAX_BYTES: u64 = 1024 * 1024 - 1;
/// A permanent video's title and introduction, in characters (the platform's bound; WeChat names
/// none).
pub const MAX_VIDEO_TEXT_CHARS: usize = 120;

/// WeChat's media `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `image`.
    Image,
    /// `voice`.
    Voice,
    /// `video`.
    Video,
    /// `thumb` (a video's or an article's small picture).
    Thumb,
    /// An image for an article's HTML (`media/uploadimg`: a URL, not a `media_id`).
    ArticleImage,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Self; 5] = [Self::Image, Self::Voice, Self::Video, Self::Thumb, Self::ArticleImage];

    /// The name in WeChat's APIs and in ours.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Voice => "voice",
            Self::Video => "video",
            Self::Thumb => "thumb",
            Self::ArticleImage => "article_image",
        }
    }

    /// The kind named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// The largest file WeChat takes.
    pub fn max_bytes(self) -> u64 {
        match self {
            Self::Image => IMAGE_MAX_BYTES,
            Self::Voice => VOICE_MAX_BYTES,
            Self::Video => VIDEO_MAX_BYTES,
            Self::Thumb => THUMB_MAX_BYTES,
            Self::ArticleImage => ARTICLE_IMAGE_MAX_BYTES,
        }
    }

    /// The formats WeChat takes.
    pub fn formats(self) -> &'static [Format] {
        match self {
            Self::Image => &[Format::Png, Format::Jpeg, Format::Gif],
            Self::Voice => &[Format::Amr, Format::Mp3],
            Self::Video => &[Format::Mp4],
            Self::Thumb => &[Format::Jpeg],
            Self::ArticleImage => &[Format::Jpeg, Format::Png],
        }
    }

    /// Whether WeChat keeps it for good only (article images are URLs that do not expire).
    pub fn permanent_only(self) -> bool {
        self == Self::ArticleImage
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How long WeChat keeps a medium.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lifetime {
    /// `media/upload`: 3 days ([`TEMPORARY_SECS`]).
    Temporary,
    /// `material/add_material` (or `media/uploadimg`): until deleted.
    Permanent,
}

impl Lifetime {
    /// The name in our API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Temporary => "temporary",
            Self::Permanent => "permanent",
        }
    }

    /// The lifetime named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Temporary, Self::Permanent].into_iter().find(|l| l.as_str() == text)
    }
}

/// A file format, as its first bytes show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// PNG.
    Png,
    /// JPEG.
    Jpeg,
    /// GIF.
    Gif,
    /// AMR (narrowband).
    Amr,
    /// MP3 (an ID3 tag or an MPEG audio frame).
    Mp3,
    /// MP4 (an ISO base media `ftyp` box).
    Mp4,
}

impl Format {
    /// Its content type.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Gif => "image/gif",
            Self::Amr => "audio/amr",
            Self::Mp3 => "audio/mpeg",
            Self::Mp4 => "video/mp4",
        }
    }

    /// Its usual file extension (WeChat reads the uploaded file's name).
    pub fn extension(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpg",
            Self::Gif => "gif",
            Self::Amr => "amr",
            Self::Mp3 => "mp3",
            Self::Mp4 => "mp4",
        }
    }

    /// The format of content type `text` (parameters ignored).
    pub fn from_content_type(text: &str) -> Option<Self> {
        let essence = text.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        let all = [Self::Png, Self::Jpeg, Self::Gif, Self::Amr, Self::Mp3, Self::Mp4];
        all.into_iter().find(|f| f.content_type() == essence).or(match essence.as_str() {
            "image/jpg" => Some(Self::Jpeg),
            "audio/mp3" => Some(Self::Mp3),
            _ => None,
        })
    }
}

/// The bytes a sniff needs at most.
pub const SNIFF_BYTES: usize = 16;

/// The format `head` (a file's first bytes, at least [`SNIFF_BYTES`] when the file has them)
/// shows, if it is one WeChat takes.
pub fn sniff(head: &[u8]) -> Option<Format> {
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Format::Png)
    } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Format::Jpeg)
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        Some(Format::Gif)
    } else if head.starts_with(b"#!AMR\n") {
        Some(Format::Amr)
    } else if head.starts_with(b"ID3") || (head.len() >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0) {
        Some(Format::Mp3)
    } else if head.len() >= 8 && &head[4..8] == b"ftyp" {
        Some(Format::Mp4)
    } else {
        None
    }
}

/// Why a file is not one WeChat would take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// Nothing to upload.
    #[error("the file is empty")]
    Empty,
    /// Over the kind's limit.
    #[error("{kind} files may be at most {max} bytes; this one has {size}")]
    TooLarge {
        /// The kind.
        kind: Kind,
        /// Its limit.
        max: u64,
        /// The file's size.
        size: u64,
    },
    /// A format the kind does not take.
    #[error("{kind} files must be {allowed}; this one is {given}")]
    WrongFormat {
        /// The kind.
        kind: Kind,
        /// What it takes (`image/png, image/jpeg`).
        allowed: String,
        /// What was given.
        given: String,
    },
    /// The bytes are not what the content type says.
    #[error("the file's bytes are {shown}, not the declared {declared}")]
    ContentMismatch {
        /// The content type declared.
        declared: &'static str,
        /// What the bytes show (`unknown` when no format WeChat takes).
        shown: &'static str,
    },
}

/// The content type `declared` and size `size` checked against `kind`'s rules.
///
/// # Errors
/// [`MediaError`], naming the rule.
pub fn check_declared(kind: Kind, declared: &str, size: u64) -> Result<Format, MediaError> {
    if size == 0 {
        return Err(MediaError::Empty);
    }
    if size > kind.max_bytes() {
        return Err(MediaError::TooLarge { kind, max: kind.max_bytes(), size });
    }
    let allowed = || kind.formats().iter().map(|f| f.content_type()).collect::<Vec<_>>().join(", ");
    match Format::from_content_type(declared) {
        Some(format) if kind.formats().contains(&format) => Ok(format),
        _ => Err(MediaError::WrongFormat { kind, allowed: allowed(), given: declared.chars().take(64).collect() }),
    }
}

/// The first bytes of an uploaded file checked against the format declared for it.
///
/// # Errors
/// [`MediaError::ContentMismatch`].
pub fn check_bytes(declared: Format, head: &[u8]) -> Result<(), MediaError> {
    match sniff(head) {
        Some(shown) if shown == declared => Ok(()),
        shown => Err(MediaError::ContentMismatch {
            declared: declared.content_type(),
            shown: shown.map_or("unknown", Format::content_type),
        }),
    }
}

/// The platform's handle of a medium of one account: the same file (by SHA-256) with the same
/// lifetime and kind is one medium, uploaded once.
pub fn handle(kind: Kind, lifetime: Lifetime, sha256_hex: &str) -> String {
    let prefix = match lifetime {
        Lifetime::Temporary => 't',
        Lifetime::Permanent => 'p',
    };
    let digest: String = sha256_hex.chars().take(32).collect();
    format!("m{prefix}{}_{digest}", &kind.as_str()[..2])
}

/// Whether `text` could be a handle [`handle`] made (so no other string reaches the store).
pub fn is_handle(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 37
        && bytes[0] == b'm'
        && matches!(bytes[1], b't' | b'p')
        && bytes[4] == b'_'
        && bytes[2..4].iter().all(u8::is_ascii_lowercase)
        && bytes[5..].iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

/// Whether `text` is a SHA-256 in lowercase hex.
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F'];
    const MP4: &[u8] = b"\0\0\0\x18ftypmp42\0\0\0\0";

    #[test]
    fn the_bytes_name_their_format() {
        assert_eq!(sniff(PNG), Some(Format::Png));
        assert_eq!(sniff(JPEG), Some(Format::Jpeg));
        assert_eq!(sniff(b"GIF89a\x01\0"), Some(Format::Gif));
        assert_eq!(sniff(b"#!AMR\n\x3c"), Some(Format::Amr));
        assert_eq!(sniff(b"ID3\x04\0\0"), Some(Format::Mp3));
        assert_eq!(sniff(&[0xFF, 0xFB, 0x90, 0x64]), Some(Format::Mp3));
        assert_eq!(sniff(MP4), Some(Format::Mp4));
        for other in [&b""[..], b"%PDF-1.7", b"<svg", b"\0\0\0\x18moov", b"\x89PN"] {
            assert_eq!(sniff(other), None, "{other:?}");
        }
    }

    #[test]
    fn each_kind_takes_its_formats_up_to_its_size() {
        assert_eq!(check_declared(Kind::Image, "image/png", 100), Ok(Format::Png));
        assert_eq!(check_declared(Kind::Image, "image/jpg; charset=x", 100), Ok(Format::Jpeg));
        assert_eq!(check_declared(Kind::Video, "video/mp4", VIDEO_MAX_BYTES), Ok(Format::Mp4));
        assert_eq!(check_declared(Kind::Image, "image/png", 0), Err(MediaError::Empty));
        let err = check_declared(Kind::Image, "image/png", IMAGE_MAX_BYTES + 1).unwrap_err();
        assert!(matches!(err, MediaError::TooLarge { max: IMAGE_MAX_BYTES, .. }), "{err}");
        assert!(check_declared(Kind::Thumb, "image/jpeg", THUMB_MAX_BYTES + 1).is_err());
        let err = check_declared(Kind::Thumb, "image/png", 10).unwrap_err();
        assert_eq!(err.to_string(), "thumb files must be image/jpeg; this one is image/png");
        assert!(check_declared(Kind::Voice, "video/mp4", 10).is_err());
        assert!(check_declared(Kind::ArticleImage, "image/gif", 10).is_err());
    }

    #[test]
    fn bytes_that_lie_about_their_type_are_refused() {
        assert_eq!(check_bytes(Format::Png, PNG), Ok(()));
        let err = check_bytes(Format::Png, JPEG).unwrap_err();
        assert_eq!(err.to_string(), "the file's bytes are image/jpeg, not the declared image/png");
        assert!(check_bytes(Format::Mp4, b"not a video at all").is_err());
    }

    #[test]
    fn a_handle_is_the_file_its_kind_and_its_lifetime() {
        let sha = "ab".repeat(32);
        let temporary = handle(Kind::Image, Lifetime::Temporary, &sha);
        assert_eq!(temporary, format!("mtim_{}", "ab".repeat(16)));
        assert!(is_handle(&temporary));
        assert_ne!(temporary, handle(Kind::Image, Lifetime::Permanent, &sha));
        assert_ne!(temporary, handle(Kind::Thumb, Lifetime::Temporary, &sha));
        for bad in ["", "mtim_", "xtim_abababababababababababababababab", "mtim_ABABABABABABABABABABABABABABABAB"] {
            assert!(!is_handle(bad), "{bad}");
        }
        assert!(is_sha256_hex(&sha));
        assert!(!is_sha256_hex(&sha.to_uppercase()));
    }
}
