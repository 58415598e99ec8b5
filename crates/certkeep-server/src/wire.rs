//! Date formats and the path extractor shared by the dialects.

use time::{OffsetDateTime, format_description::BorrowedFormatItem, macros::format_description};

const ISO8601: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]+00:00");
const DATE: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");
const DATE_TIME: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");

const NCP_DATE_TIME: &[BorrowedFormatItem<'static>] = format_description!(
    "[year]-[month]-[day] [hour]:[minute]:[second](UTC[offset_hour sign:mandatory]:[offset_minute])"
);

fn format(t: OffsetDateTime, f: &[BorrowedFormatItem<'static>]) -> String {
    t.to_offset(time::UtcOffset::UTC).format(f).unwrap_or_default()
}

/// `2018-10-16T17:29:56+00:00` (UTC).
pub fn iso8601(t: OffsetDateTime) -> String {
    format(t, ISO8601)
}

/// `2020-04-30` (UTC date).
pub fn ymd(t: OffsetDateTime) -> String {
    format(t, DATE)
}

/// `2018-10-26 10:15:33` (UTC).
pub fn ymd_hms(t: OffsetDateTime) -> String {
    format(t, DATE_TIME)
}

/// `2026-03-01 10:15:30(UTC+09:00)`: local time in `zone`, with the zone (NCP).
pub fn ymd_hms_zoned(t: OffsetDateTime, zone: time::UtcOffset) -> String {
    t.to_offset(zone).format(NCP_DATE_TIME).unwrap_or_default()
}

/// A ZIP archive (stored, not compressed) of `(file name, contents)`.
pub fn zip_files(files: &[(String, Vec<u8>)]) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, contents) in files {
        writer.start_file(name.as_str(), options)?;
        writer.write_all(contents)?;
    }
    Ok(writer.finish()?.into_inner())
}

/// Defines `Path<T>`: axum's path extractor whose rejection (a segment that is not valid UTF-8
/// once decoded, or does not parse as `T`) answers `$reject`, an error in the dialect's shape.
macro_rules! dialect_path {
    ($(#[$doc:meta])* $rejection:ty = $reject:expr) => {
        $(#[$doc])*
        pub struct Path<T>(pub T);

        impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> axum::extract::FromRequestParts<S>
            for Path<T>
        {
            type Rejection = $rejection;

            async fn from_request_parts(
                parts: &mut axum::http::request::Parts,
                state: &S,
            ) -> Result<Self, $rejection> {
                axum::extract::Path::<T>::from_request_parts(parts, state)
                    .await
                    .map(|axum::extract::Path(t)| Self(t))
                    .map_err(|_| $reject)
            }
        }
    };
}
pub(crate) use dialect_path;

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn formats() {
        let t = datetime!(2018-10-16 17:29:56 +02:00);
        assert_eq!(iso8601(t), "2018-10-16T15:29:56+00:00");
        assert_eq!(ymd(t), "2018-10-16");
        assert_eq!(ymd_hms(t), "2018-10-16 15:29:56");
        assert_eq!(ymd_hms_zoned(t, time::macros::offset!(+9)), "2018-10-17 00:29:56(UTC+09:00)");
        assert_eq!(ymd_hms_zoned(t, time::macros::offset!(-3:30)), "2018-10-16 11:59:56(UTC-03:30)");
        assert_eq!(ymd_hms_zoned(t, time::UtcOffset::UTC), "2018-10-16 15:29:56(UTC+00:00)");
    }
}
