//! Query parameters as NCP's Java backend takes them: Integers for paging, the first of
//! repeated names, unknown names ignored; and path parameters in NCP's error shape.

use std::collections::HashMap;

use super::error::NcpError;

crate::wire::dialect_path!(
    /// Path parameters whose rejection (a segment that is not valid UTF-8 once decoded)
    /// answers as NCP's gateway does for a URL it does not serve: 404 `300`.
    NcpError = NcpError::route_not_found()
);

/// The query of a request: the first value of each name.
pub struct Query(HashMap<String, String>);

impl Query {
    /// Parses a raw query string.
    pub fn parse(raw: Option<&str>) -> Self {
        let mut values = HashMap::new();
        for (key, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            values.entry(key.into_owned()).or_insert_with(|| value.into_owned());
        }
        Self(values)
    }

    /// A value, trimmed; `None` when absent or blank.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    /// An Integer from `min` to 2147483647; `None` when absent or blank.
    pub fn integer(&self, name: &str, min: i64) -> Result<Option<u64>, NcpError> {
        let Some(value) = self.text(name) else { return Ok(None) };
        let max = i64::from(i32::MAX);
        match value.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(Some(n as u64)),
            _ => Err(NcpError::invalid_parameter(format!("{name} must be an integer from {min} to {max}."))),
        }
    }

    /// `page` (default 1) and `pageSize` (default `default_size`; 0 = everything).
    pub fn paging(&self, default_size: u64) -> Result<Paging, NcpError> {
        Ok(Paging {
            page: self.integer("page", 1)?.unwrap_or(1),
            page_size: self.integer("pageSize", 0)?.unwrap_or(default_size),
        })
    }
}

/// A page of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// 1-based page number.
    pub page: u64,
    /// Items per page; 0 = everything.
    pub page_size: u64,
}

impl Paging {
    /// Items before the page.
    pub fn offset(self) -> u64 {
        self.page.saturating_sub(1).saturating_mul(self.page_size)
    }

    /// Items on the page at most; `None` for everything.
    pub fn limit(self) -> Option<u64> {
        (self.page_size > 0).then_some(self.page_size)
    }

    /// The page of `items`.
    pub fn window<T>(self, items: Vec<T>) -> Vec<T> {
        let skip = usize::try_from(self.offset()).unwrap_or(usize::MAX);
        let take = self.limit().map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
        items.into_iter().skip(skip).take(take).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[test]
    fn parameters_default_and_validate() {
        let q = Query::parse(Some("page=2&pageSize=20&certificateName=my%20cert&x=1&page=9"));
        assert_eq!(q.paging(0).unwrap(), Paging { page: 2, page_size: 20 });
        assert_eq!(q.text("certificateName"), Some("my cert"));
        let empty = Query::parse(Some("page=&pageSize=&certificateName="));
        assert_eq!(empty.paging(10).unwrap(), Paging { page: 1, page_size: 10 });
        assert_eq!(empty.text("certificateName"), None);
        for bad in ["page=0", "page=-1", "page=x", "pageSize=-1", "pageSize=2147483648", "page=1e3"] {
            let Err(NcpError::Service { status, code, message }) = Query::parse(Some(bad)).paging(0) else {
                panic!("{bad}")
            };
            assert_eq!((status, code), (StatusCode::BAD_REQUEST, "2000"), "{bad}");
            assert!(message.contains("must be an integer"), "{message}");
        }
        let max = Query::parse(Some("pageSize=2147483647")).paging(0).unwrap();
        assert_eq!(max.page_size, 2_147_483_647);
    }

    #[test]
    fn windows_page_through_items() {
        let items: Vec<u32> = (1..=5).collect();
        assert_eq!(Paging { page: 2, page_size: 2 }.window(items.clone()), [3, 4]);
        assert_eq!(Paging { page: 1, page_size: 0 }.window(items.clone()), [1, 2, 3, 4, 5]);
        assert!(Paging { page: 4, page_size: 2 }.window(items).is_empty());
    }
}
