//! QR codes for print: error correction level Q (a quarter of the code may be lost to a
//! smudge, a reflection or a scratch on a wall label and it still reads), a quiet zone of
//! four modules as the standard asks, black on white. SVG for posters and print shops,
//! PNG for everything else.

use qrcode::render::svg;
use qrcode::{Color, EcLevel, QrCode};

use crate::error::AppError;

/// The quiet zone around the code, in modules (ISO/IEC 18004 asks for 4).
const QUIET: usize = 4;

fn code(url: &str) -> Result<QrCode, AppError> {
    QrCode::with_error_correction_level(url.as_bytes(), EcLevel::Q)
        .map_err(|e| AppError::internal(format!("qr code: {e}")))
}

/// The code as SVG (scales to any print size).
pub fn svg(url: &str) -> Result<String, AppError> {
    Ok(code(url)?
        .render::<svg::Color>()
        .min_dimensions(256, 256)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .quiet_zone(true)
        .build())
}

/// The code as a greyscale PNG, `scale` pixels per module.
pub fn png(url: &str, scale: usize) -> Result<Vec<u8>, AppError> {
    let code = code(url)?;
    let (modules, colors) = (code.width(), code.to_colors());
    let scale = scale.clamp(1, 64);
    let side = (modules + 2 * QUIET) * scale;
    let mut pixels = vec![255u8; side * side];
    for (i, c) in colors.iter().enumerate() {
        if *c != Color::Dark {
            continue;
        }
        let (mx, my) = (i % modules + QUIET, i / modules + QUIET);
        for y in my * scale..(my + 1) * scale {
            pixels[y * side + mx * scale..y * side + (mx + 1) * scale].fill(0);
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, side as u32, side as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc
            .write_header()
            .map_err(|e| AppError::internal(format!("png: {e}")))?;
        w.write_image_data(&pixels)
            .map_err(|e| AppError::internal(format!("png: {e}")))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decode a PNG the way a phone would see it.
    fn decode(png_bytes: &[u8]) -> String {
        let dec = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut r = dec.read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size().unwrap()];
        let info = r.next_frame(&mut buf).unwrap();
        let (w, h) = (info.width as usize, info.height as usize);
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[y * w + x]);
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1);
        grids[0].decode().unwrap().1
    }

    #[test]
    fn the_png_reads_back_as_the_url() {
        let url = "https://cadenza.example.org/p/Ab3dE9xY";
        assert_eq!(decode(&png(url, 8).unwrap()), url);
        // Even small (2 px a module), as a thumbnail.
        assert_eq!(decode(&png(url, 2).unwrap()), url);
    }

    #[test]
    fn the_svg_is_black_on_white_with_a_quiet_zone() {
        let s = svg("https://cadenza.example.org/p/Ab3dE9xY").unwrap();
        assert!(
            s.starts_with("<?xml") || s.starts_with("<svg"),
            "{}",
            &s[..40]
        );
        assert!(s.contains("#000000") && s.contains("#ffffff"));
    }
}
