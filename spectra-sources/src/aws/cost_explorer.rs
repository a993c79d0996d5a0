//! Cost Explorer (JSON 1.1, `AWSInsightsIndexService.GetCostAndUsage`): unblended cost per
//! region and day (or month), page by page -> [`RegionCost`]s.
//!
//! Each `ResultsByTime` entry is one period; each of its `Groups` (grouped by the `REGION`
//! dimension) one region's cost. Groups whose key is no AWS region of the catalog (`global`,
//! `NoRegion`, a region SPECTRA does not know) are left out: SPECTRA compares regions it can
//! move work between. A period with no groups but a non-zero `Total` (a bill with no region
//! breakdown, and what moto answers with the canned results of its fixture) is attributed to the
//! home region (`AWS_REGION`), so the bill's sum is kept; an all-zero or empty period yields
//! nothing.

use std::str::FromStr;

use chrono::{Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::Deserialize;
use spectra_core::{Error, RegionCode, RegionCost, Result, TimeRange};

use super::AwsSource;
use super::client::Service;

const TARGET: &str = "AWSInsightsIndexService.GetCostAndUsage";
const METRIC: &str = "UnblendedCost";

/// Cost Explorer's time granularity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Granularity {
    /// One cost per region and day.
    #[default]
    Daily,
    /// One cost per region and calendar month.
    Monthly,
}

impl Granularity {
    /// `DAILY` or `MONTHLY`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Daily => "DAILY",
            Self::Monthly => "MONTHLY",
        }
    }
}

impl FromStr for Granularity {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_uppercase().as_str() {
            "DAILY" => Ok(Self::Daily),
            "MONTHLY" => Ok(Self::Monthly),
            _ => Err(Error::config("AWS_COST_GRANULARITY", "expected DAILY or MONTHLY")),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CostPage {
    #[serde(default)]
    pub results_by_time: Vec<ResultByTime>,
    #[serde(default)]
    pub next_page_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ResultByTime {
    pub time_period: Period,
    #[serde(default)]
    pub total: std::collections::HashMap<String, Amount>,
    #[serde(default)]
    pub groups: Vec<Group>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Period {
    pub start: String,
    pub end: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Group {
    #[serde(default)]
    pub keys: Vec<String>,
    #[serde(default)]
    pub metrics: std::collections::HashMap<String, Amount>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Amount {
    pub amount: String,
    #[serde(default)]
    pub unit: Option<String>,
}

impl AwsSource {
    /// Unblended cost per catalog region and period over `range`, widened to whole UTC days (Cost
    /// Explorer periods are dates, `Start` inclusive and `End` exclusive): every day `range`
    /// touches. An empty range asks nothing.
    pub(crate) async fn cost_and_usage(&self, range: TimeRange) -> Result<Vec<RegionCost>> {
        if range.from >= range.to {
            return Ok(Vec::new());
        }
        let start = range.from.date_naive();
        let mut end = range.to.date_naive();
        // The day holding `to` counts when `to` is inside it.
        if range.to.time() != NaiveTime::MIN {
            end += Duration::days(1);
        }
        let credential = self.credential().await?;
        let home = self.region_code(self.client.home_region()).cloned();
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut request = serde_json::json!({
                "TimePeriod": { "Start": start.to_string(), "End": end.to_string() },
                "Granularity": self.granularity.as_str(),
                "Metrics": [METRIC],
                "GroupBy": [{ "Type": "DIMENSION", "Key": "REGION" }],
            });
            if let Some(t) = &token {
                request["NextPageToken"] = serde_json::Value::String(t.clone());
            }
            let response = self
                .client
                .json(
                    Service::CostExplorer,
                    "us-east-1",
                    &credential,
                    TARGET,
                    &request,
                    "Cost Explorer GetCostAndUsage",
                )
                .await?;
            let page: CostPage = response.json(self.name_str())?;
            for result in page.results_by_time {
                self.read_period(result, home.as_ref(), &mut out)?;
            }
            let next = page.next_page_token.filter(|t| !t.is_empty());
            super::client::check_progress(self.name_str(), token.as_deref(), next.as_deref())?;
            match next {
                Some(n) => token = Some(n),
                None => break,
            }
        }
        out.sort_by(|a, b| (a.range.from, &a.region).cmp(&(b.range.from, &b.region)));
        Ok(out)
    }

    fn read_period(&self, result: ResultByTime, home: Option<&RegionCode>, out: &mut Vec<RegionCost>) -> Result<()> {
        let name = self.name_str();
        let range = period(name, &result.time_period)?;
        if result.groups.is_empty() {
            if let (Some(total), Some(home)) = (result.total.get(METRIC), home) {
                let usd = usd(name, total)?;
                if usd != 0.0 {
                    out.push(RegionCost { region: home.clone(), range, usd });
                }
            }
            return Ok(());
        }
        for group in result.groups {
            let Some(code) = group.keys.first().and_then(|k| self.region_code(k)) else { continue };
            let amount = group
                .metrics
                .get(METRIC)
                .ok_or_else(|| Error::bad_response(name, "cost group without UnblendedCost"))?;
            out.push(RegionCost { region: code.clone(), range, usd: usd(name, amount)? });
        }
        Ok(())
    }
}

fn period(source_name: &str, p: &Period) -> Result<TimeRange> {
    let date = |s: &str| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(|d| Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN)))
            .map_err(|_| Error::bad_response(source_name, "cost period date is not YYYY-MM-DD"))
    };
    let (from, to) = (date(&p.start)?, date(&p.end)?);
    if to < from {
        return Err(Error::bad_response(source_name, "cost period runs backwards"));
    }
    TimeRange::new(from, to)
}

fn usd(source_name: &str, amount: &Amount) -> Result<f64> {
    if let Some(unit) = amount.unit.as_deref() {
        if unit != "USD" {
            return Err(Error::bad_response(source_name, "cost not in USD"));
        }
    }
    amount
        .amount
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| Error::bad_response(source_name, "cost amount is not a number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_recorded_body() {
        let body = std::fs::read_to_string(format!(
            "{}/../data/fixtures/aws/raw_ce_GetCostAndUsage.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let page: CostPage = serde_json::from_str(&body).unwrap();
        assert_eq!(page.next_page_token, None);
        let r = &page.results_by_time[0];
        assert!(r.groups.is_empty());
        assert_eq!(usd("aws", &r.total[METRIC]).unwrap(), 123.45);
        let range = period("aws", &r.time_period).unwrap();
        assert_eq!(
            (range.from.to_rfc3339(), range.to.to_rfc3339()),
            ("2024-01-01T00:00:00+00:00".into(), "2024-02-01T00:00:00+00:00".into())
        );
    }

    #[test]
    fn refuses_other_currencies_bad_numbers_and_dates() {
        let amount = |a: &str, u: &str| Amount { amount: a.into(), unit: Some(u.into()) };
        assert!(usd("aws", &amount("1", "EUR")).is_err());
        assert!(usd("aws", &amount("lots", "USD")).is_err());
        assert!(period("aws", &Period { start: "2024-02-01".into(), end: "2024-01-01".into() }).is_err());
        assert!(period("aws", &Period { start: "Jan".into(), end: "2024-01-01".into() }).is_err());
        assert_eq!("monthly".parse::<Granularity>().unwrap(), Granularity::Monthly);
    }
}
