//! `cadenza analyze FILE [--json] [--policy FILE]`: the report for musicians and
//! organisers checking a file before uploading, and the child process the server's
//! workers run (with `--json`).
//!
//! Exit codes: 0 every rule passes, 10 a rule warns, 20 a rule rejects the file,
//! 30 the file cannot be analysed, 1 the command itself failed (for example an
//! unreadable policy file), 2 wrong usage.

use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use super::policy::{Outcome, Policy};
use super::report::Report;
use super::sandbox::{AnalyzeOutput, ErrorOutput, Messages, VerdictOutput};
use super::{AnalysisError, Options, analyze_file};
use crate::i18n::Locale;

pub const EXIT_PASS: u8 = 0;
pub const EXIT_WARN: u8 = 10;
pub const EXIT_REJECT: u8 = 20;
pub const EXIT_UNREADABLE: u8 = 30;
pub const EXIT_FAILED: u8 = 1;

fn both(f: impl Fn(Locale) -> String) -> Messages {
    Messages {
        en: f(Locale::En),
        zh_cn: f(Locale::ZhCn),
    }
}

pub fn load_policy(path: &Path) -> Result<Policy, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let parsed = if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).map_err(|e| e.to_string())
    } else {
        toml::from_str(&text).map_err(|e| e.to_string())
    };
    parsed.map_err(|e| format!("{}: {e}", path.display()))
}

/// Run the command; returns the exit code.
pub fn run(file: &Path, json: bool, policy: Option<&Path>, options: Options, locale: Locale) -> u8 {
    let policy = match policy.map(load_policy).transpose() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("cadenza analyze: {e}");
            return EXIT_FAILED;
        }
    };
    // A decoder that panics on a crafted file is a bad file, not a crash of ours.
    let result =
        catch_unwind(AssertUnwindSafe(|| analyze_file(file, &options))).unwrap_or_else(|_| {
            Err(AnalysisError::Crashed(
                "the decoder failed on this file".into(),
            ))
        });
    match result {
        Ok(report) => {
            let verdict = policy.as_ref().map(|p| p.evaluate(&report));
            let code = match verdict.as_ref().map(|v| v.outcome) {
                None | Some(Outcome::Pass) => EXIT_PASS,
                Some(Outcome::Warn) => EXIT_WARN,
                Some(Outcome::Reject) => EXIT_REJECT,
            };
            if json {
                let out = AnalyzeOutput {
                    verdict: verdict.map(|v| VerdictOutput {
                        messages: v.rules.iter().map(|r| both(|l| r.message(l))).collect(),
                        verdict: v,
                    }),
                    report: Some(report),
                    error: None,
                };
                emit(&format!(
                    "{}\n",
                    serde_json::to_string(&out).unwrap_or_default()
                ));
            } else {
                emit(&text_report(file, &report, policy.as_ref(), locale));
            }
            code
        }
        Err(e) => {
            if json {
                let out = AnalyzeOutput {
                    report: None,
                    verdict: None,
                    error: Some(ErrorOutput {
                        code: e.code().to_string(),
                        message: both(|l| e.message(l)),
                        detail: e,
                    }),
                };
                emit(&format!(
                    "{}\n",
                    serde_json::to_string(&out).unwrap_or_default()
                ));
            } else {
                emit(&format!(
                    "{}: {}\n({})\n",
                    file.display(),
                    e.message(locale),
                    e.code()
                ));
            }
            EXIT_UNREADABLE
        }
    }
}

fn opt(v: Option<f64>, unit: &str) -> String {
    v.map(|x| format!("{} {unit}", super::policy::signed(x, 1)))
        .unwrap_or_else(|| "–".into())
}

pub fn text_report(file: &Path, r: &Report, policy: Option<&Policy>, l: Locale) -> String {
    let f = &r.format;
    let mut s = String::new();
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let depth = f
        .bit_depth
        .map(|b| format!(", {b}-bit"))
        .unwrap_or_default();
    let float = if f.float_samples { " float" } else { "" };
    let _ = writeln!(
        s,
        "{name} — {} ({}{float}), {:.1} kHz{depth}, {} ch, {}, {}",
        f.container.to_uppercase(),
        f.codec,
        f.sample_rate as f64 / 1000.0,
        f.channels,
        super::policy::minutes(f.duration_secs),
        f.bitrate_kbps
            .map(|b| format!("{b:.0} kbit/s"))
            .unwrap_or_default()
    );
    let lo = &r.loudness;
    let _ = writeln!(
        s,
        "  {:<12}{} · {} {} · {} {} · {} {}",
        l.t("cli.loudness"),
        opt(lo.integrated_lufs, "LUFS"),
        l.t("cli.range"),
        lo.range_lu
            .map(|x| format!("{x:.1} LU"))
            .unwrap_or_else(|| "–".into()),
        l.t("cli.max_momentary"),
        opt(lo.max_momentary_lufs, "LUFS"),
        l.t("cli.max_short_term"),
        opt(lo.max_short_term_lufs, "LUFS"),
    );
    let _ = writeln!(
        s,
        "  {:<12}{} {} · {} {}",
        l.t("cli.peaks"),
        l.t("cli.sample_peak"),
        opt(r.peaks.sample_peak_dbfs, "dBFS"),
        l.t("cli.true_peak"),
        opt(r.peaks.true_peak_dbtp, "dBTP"),
    );
    let _ = writeln!(
        s,
        "  {:<12}{}",
        l.t("cli.silence"),
        l.tf(
            "cli.silence_detail",
            &[
                ("start", &format!("{:.1}", r.silence.leading_secs)),
                ("end", &format!("{:.1}", r.silence.trailing_secs)),
                ("total", &format!("{:.1}", r.silence.total_secs)),
            ]
        )
    );
    let _ = writeln!(
        s,
        "  {:<12}{}",
        l.t("cli.clipping"),
        l.tf(
            "cli.clipping_detail",
            &[
                ("runs", &r.clipping.runs.to_string()),
                ("samples", &r.clipping.clipped_samples.to_string())
            ]
        )
    );
    if let Some(st) = &r.stereo {
        let _ = writeln!(
            s,
            "  {:<12}{} {}",
            l.t("cli.stereo"),
            l.t("cli.correlation"),
            st.correlation
                .map(|c| format!("{c:.2}"))
                .unwrap_or_else(|| "–".into())
        );
    }
    let dc: Vec<String> = r.dc_offset.iter().map(|d| format!("{d:.5}")).collect();
    let _ = writeln!(s, "  {:<12}{}", l.t("cli.dc_offset"), dc.join(", "));
    for w in &r.warnings {
        let _ = writeln!(s, "  ! {}: {}", w.code, w.detail);
    }
    if let Some(p) = policy {
        let v = p.evaluate(r);
        let head = match v.outcome {
            Outcome::Pass => l.t("cli.verdict_pass"),
            Outcome::Warn => l.t("cli.verdict_warn"),
            Outcome::Reject => l.t("cli.verdict_reject"),
        };
        let _ = writeln!(s, "\n{head}");
        for rule in &v.rules {
            let mark = match rule.outcome {
                Outcome::Pass => "✓",
                Outcome::Warn => "!",
                Outcome::Reject => "✗",
            };
            let _ = writeln!(s, "  {mark} {}", rule.message(l));
        }
    }
    s
}

/// Write to standard output; a reader that went away (`cadenza analyze … | head`) ends
/// the output quietly instead of a panic.
fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}
