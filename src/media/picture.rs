//! Pictures at the size they are shown: a 5 MB, 4000 × 3000 photo of a painting never
//! reaches a 390 px phone. The original is kept as uploaded; narrower copies
//! (renditions) are made on first request at one of a few fixed widths, stored beside
//! it (`{key}.w480`) and served with the original's version in the address, so a
//! browser keeps them for a year and asks again only when the picture is replaced.
//!
//! The picture's size travels in its stored key (`images/{uuid}.4000x3000`), measured
//! from the header when it is uploaded, so pages give `width` and `height` (no layout
//! shift while it loads) without a column for it. Keys stored before this carry no
//! size; they are served the same way, and pages lay them out with CSS alone.

use std::io::Cursor;

use image::{ImageReader, Limits};

/// The widths a rendition may have (CSS pixels × device pixel ratio, rounded up to one
/// of these). Few widths: few copies to store, and caches shared between pages.
pub const WIDTHS: [u32; 9] = [96, 192, 320, 480, 640, 800, 960, 1280, 1920];

/// The longest side a picture may have.
pub const MAX_SIDE: u32 = 12_000;

/// The most pixels a picture may have (a 50-megapixel photo is the largest a phone or
/// camera gives).
pub const MAX_PIXELS: u64 = 50_000_000;

/// Memory a decode may take (RGBA at `MAX_PIXELS` is 200 MB).
const MAX_ALLOC: u64 = 256 * 1024 * 1024;

/// Quality of the JPEG renditions: visually clean for photos of paintings.
const JPEG_QUALITY: u8 = 82;

/// A picture's size in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub width: u32,
    pub height: u32,
}

/// What stands in the way of a picture.
#[derive(Debug, PartialEq, Eq)]
pub enum PictureError {
    /// Not a PNG, JPEG or WebP picture that can be read.
    Unreadable,
    /// Larger than [`MAX_SIDE`] or [`MAX_PIXELS`].
    TooLarge(Size),
}

fn limits() -> Limits {
    let mut l = Limits::default();
    l.max_image_width = Some(MAX_SIDE);
    l.max_image_height = Some(MAX_SIDE);
    l.max_alloc = Some(MAX_ALLOC);
    l
}

fn reader(bytes: &[u8]) -> Result<ImageReader<Cursor<&[u8]>>, PictureError> {
    let mut r = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| PictureError::Unreadable)?;
    if r.format().is_none() {
        return Err(PictureError::Unreadable);
    }
    r.limits(limits());
    Ok(r)
}

/// The picture's size, read from its header only (cheap), refused when too large.
pub fn measure(bytes: &[u8]) -> Result<Size, PictureError> {
    let (width, height) = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| PictureError::Unreadable)?
        .into_dimensions()
        .map_err(|_| PictureError::Unreadable)?;
    let size = Size { width, height };
    if width == 0 || height == 0 {
        return Err(PictureError::Unreadable);
    }
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(PictureError::TooLarge(size));
    }
    Ok(size)
}

/// The key a new picture is stored under: `{folder}/{uuid}.{w}x{h}`.
pub fn new_key(folder: &str, size: Size) -> String {
    format!(
        "{folder}/{}.{}x{}",
        uuid::Uuid::new_v4().simple(),
        size.width,
        size.height
    )
}

/// The size written in a picture's key, if it has one.
pub fn size_of_key(key: &str) -> Option<Size> {
    let name = key.rsplit('/').next()?;
    let (_, dims) = name.split_once('.')?;
    let (w, h) = dims.split_once('x')?;
    Some(Size {
        width: w.parse().ok()?,
        height: h.parse().ok()?,
    })
}

/// The address of a picture served at `path`, carrying the version of the stored key
/// (and its size): `/images/prompts/{id}?v=3f2a9c1d8e7b-4000x3000`.
pub fn url(path: &str, key: &str) -> String {
    let name = key.rsplit('/').next().unwrap_or(key);
    let (id, dims) = name.split_once('.').unwrap_or((name, ""));
    let tag: String = id.chars().take(12).collect();
    if dims.is_empty() {
        format!("{path}?v={tag}")
    } else {
        format!("{path}?v={tag}-{dims}")
    }
}

/// Whether `v` (from an address) names the stored `key`'s version.
pub fn is_current(key: &str, v: &str) -> bool {
    let name = key.rsplit('/').next().unwrap_or(key);
    let id = name.split_once('.').map_or(name, |(id, _)| id);
    let tag = v.split_once('-').map_or(v, |(t, _)| t);
    tag.len() == 12.min(id.len()) && id.starts_with(tag)
}

/// The size carried by a picture's address (see [`url`]).
pub fn size_of_url(url: &str) -> Option<Size> {
    let v = url.split_once("v=")?.1.split('&').next()?;
    let dims = v.split_once('-')?.1;
    let (w, h) = dims.split_once('x')?;
    Some(Size {
        width: w.parse().ok()?,
        height: h.parse().ok()?,
    })
}

/// The address of a picture at `width` (see [`rendition_width`]).
pub fn url_at(url: &str, width: u32) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}w={width}")
}

/// A `srcset` for a picture: each rendition width up to the original's.
pub fn srcset(url: &str) -> String {
    srcset_upto(url, u32::MAX)
}

/// A `srcset` of the renditions no wider than `limit` (and the original if it is): for
/// phones, where more than about 2.5 device pixels per CSS pixel cannot be seen but can
/// be paid for.
pub fn srcset_upto(url: &str, limit: u32) -> String {
    let original = size_of_url(url).map_or(u32::MAX, |s| s.width);
    let mut parts: Vec<String> = WIDTHS
        .iter()
        .filter(|&&w| w >= 320 && w < original && w <= limit)
        .map(|&w| format!("{} {w}w", url_at(url, w)))
        .collect();
    if original != u32::MAX && original >= 320 && original <= limit {
        parts.push(format!("{url} {original}w"));
    }
    parts.join(", ")
}

/// The rendition width to serve when `asked` pixels are wanted of a picture
/// `original` pixels wide: the smallest of [`WIDTHS`] at least as wide, or `None` when
/// the original is no wider (it is served as it is).
pub fn rendition_width(asked: u32, original: u32) -> Option<u32> {
    let w = WIDTHS
        .iter()
        .copied()
        .find(|&w| w >= asked)
        .unwrap_or(WIDTHS[WIDTHS.len() - 1]);
    (w < original).then_some(w)
}

/// Where the rendition of `key` at `width` is stored.
pub fn rendition_key(key: &str, width: u32) -> String {
    format!("{key}.w{width}")
}

/// The picture a stored key belongs to: a rendition's original, or the key itself.
pub fn original_of(key: &str) -> &str {
    match key.rsplit_once(".w") {
        Some((base, w)) if !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()) => base,
        _ => key,
    }
}

/// A narrower copy of the picture: `width` pixels wide, the height in proportion;
/// JPEG, or PNG when the picture has transparency. Decoding is bounded by
/// [`MAX_SIDE`] and 256 MB of memory. CPU-bound: run it on the blocking pool.
pub fn render(bytes: &[u8], width: u32) -> Result<(Vec<u8>, &'static str), PictureError> {
    let img = reader(bytes)?
        .decode()
        .map_err(|_| PictureError::Unreadable)?;
    let height = ((u64::from(img.height()) * u64::from(width)) / u64::from(img.width().max(1)))
        .max(1) as u32;
    // `thumbnail` averages the pixels each output pixel covers: the right filter for a
    // large reduction, and several times faster than a windowed filter.
    let small = img.thumbnail_exact(width, height);
    let mut out = Vec::new();
    if small.color().has_alpha() {
        small
            .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .map_err(|_| PictureError::Unreadable)?;
        Ok((out, "image/png"))
    } else {
        let rgb = small.to_rgb8();
        let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY);
        rgb.write_with_encoder(enc)
            .map_err(|_| PictureError::Unreadable)?;
        Ok((out, "image/jpeg"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32, alpha: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let img = if alpha {
            image::DynamicImage::ImageRgba8(image::RgbaImage::from_fn(w, h, |x, y| {
                image::Rgba([(x % 256) as u8, (y % 256) as u8, 90, 128])
            }))
        } else {
            image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(w, h, |x, y| {
                image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
            }))
        };
        img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn a_picture_is_measured_from_its_header() {
        assert_eq!(
            measure(&png(400, 300, false)),
            Ok(Size {
                width: 400,
                height: 300
            })
        );
        assert_eq!(measure(b"not a picture"), Err(PictureError::Unreadable));
    }

    #[test]
    fn too_many_pixels_are_refused_before_decoding() {
        // A 1 × 1 PNG whose header claims another size (its checksum made right):
        // refused from the header, before any pixel is decoded.
        let claims = |w: u32, h: u32| {
            let mut head = png(1, 1, false);
            head[16..20].copy_from_slice(&w.to_be_bytes());
            head[20..24].copy_from_slice(&h.to_be_bytes());
            let mut crc = flate2::Crc::new();
            crc.update(&head[12..29]);
            head[29..33].copy_from_slice(&crc.sum().to_be_bytes());
            head
        };
        assert_eq!(
            measure(&claims(12_000, 12_000)),
            Err(PictureError::TooLarge(Size {
                width: 12_000,
                height: 12_000
            }))
        );
        assert!(matches!(
            measure(&claims(20_000, 100)),
            Err(PictureError::TooLarge(_))
        ));
        assert!(measure(&claims(8_000, 6_000)).is_ok());
    }

    #[test]
    fn the_size_travels_in_the_key_and_the_address() {
        let key = new_key(
            "images",
            Size {
                width: 4000,
                height: 3000,
            },
        );
        assert!(key.starts_with("images/") && key.ends_with(".4000x3000"));
        assert_eq!(
            size_of_key(&key),
            Some(Size {
                width: 4000,
                height: 3000
            })
        );
        let u = url("/images/prompts/p1", &key);
        assert!(u.starts_with("/images/prompts/p1?v=") && u.ends_with("-4000x3000"));
        assert_eq!(
            size_of_url(&u),
            Some(Size {
                width: 4000,
                height: 3000
            })
        );
        let v = u.split_once("v=").unwrap().1;
        assert!(is_current(&key, v));
        assert!(!is_current(
            &new_key(
                "images",
                Size {
                    width: 1,
                    height: 1
                }
            ),
            v
        ));
        // A key from before sizes were kept.
        let old = "images/0123456789abcdef0123456789abcdef";
        assert_eq!(size_of_key(old), None);
        assert_eq!(url("/x", old), "/x?v=0123456789ab");
        assert!(is_current(old, "0123456789ab"));
    }

    #[test]
    fn renditions_are_one_of_a_few_widths_and_never_wider_than_the_original() {
        assert_eq!(rendition_width(390, 4000), Some(480));
        assert_eq!(rendition_width(780, 4000), Some(800));
        assert_eq!(rendition_width(900, 4000), Some(960));
        assert_eq!(rendition_width(5000, 4000), Some(1920));
        assert_eq!(rendition_width(480, 480), None);
        assert_eq!(rendition_width(300, 200), None);
        assert_eq!(rendition_key("images/a.40x30", 480), "images/a.40x30.w480");
        assert_eq!(original_of("images/a.40x30.w480"), "images/a.40x30");
        assert_eq!(original_of("images/a.40x30"), "images/a.40x30");
        assert_eq!(original_of("images/abc"), "images/abc");
        let set = srcset("/i?v=abc-1000x500");
        assert_eq!(
            set,
            "/i?v=abc-1000x500&w=320 320w, /i?v=abc-1000x500&w=480 480w, \
             /i?v=abc-1000x500&w=640 640w, /i?v=abc-1000x500&w=800 800w, \
             /i?v=abc-1000x500&w=960 960w, /i?v=abc-1000x500 1000w"
        );
        assert_eq!(
            srcset_upto("/i?v=abc-4000x3000", 640),
            "/i?v=abc-4000x3000&w=320 320w, /i?v=abc-4000x3000&w=480 480w, \
             /i?v=abc-4000x3000&w=640 640w"
        );
    }

    #[test]
    fn a_rendition_is_narrower_and_keeps_the_proportions() {
        let (jpeg, kind) = render(&png(1000, 750, false), 480).unwrap();
        assert_eq!(kind, "image/jpeg");
        assert_eq!(
            measure(&jpeg),
            Ok(Size {
                width: 480,
                height: 360
            })
        );
        let (p, kind) = render(&png(600, 300, true), 320).unwrap();
        assert_eq!(kind, "image/png");
        assert_eq!(
            measure(&p),
            Ok(Size {
                width: 320,
                height: 160
            })
        );
        assert_eq!(render(b"nope", 320), Err(PictureError::Unreadable));
    }
}
