//! CloudWatch (Query API, version 2010-08-01): GetMetricData `AWS/EC2 CPUUtilization`, period
//! 3600 s, statistic `Average`, several instances per request, page by page -> [`UtilisationHour`]s.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use spectra_core::series::{hour_index, hour_start};
use spectra_core::{Error, Instance, RegionCode, Result, TimeRange, UtilisationHour};

use super::AwsSource;
use super::client::{Service, check_progress, next_token};
use super::xml;

const VERSION: &str = "2010-08-01";

/// One metric query's answer: its id and the (timestamp, value) pairs of a page.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Series {
    pub id: String,
    pub points: Vec<(DateTime<Utc>, f64)>,
}

/// One page of GetMetricData.
pub(crate) fn parse_metric_data(source_name: &str, body: &str) -> Result<(Vec<Series>, Option<String>)> {
    let doc = xml::parse(source_name, body)?;
    let root = doc.root_element();
    let result = xml::child(root, "GetMetricDataResult")
        .ok_or_else(|| Error::bad_response(source_name, "GetMetricData response without GetMetricDataResult"))?;
    let mut out = Vec::new();
    for member in xml::child(result, "MetricDataResults").into_iter().flat_map(|m| xml::children(m, "member")) {
        let id = xml::child_text(member, "Id")
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Error::bad_response(source_name, "metric result without Id"))?;
        let texts = |name: &str| -> Vec<&str> {
            xml::child(member, name)
                .into_iter()
                .flat_map(|n| xml::children(n, "member"))
                .map(|n| n.text().unwrap_or_default().trim())
                .collect()
        };
        let (timestamps, values) = (texts("Timestamps"), texts("Values"));
        if timestamps.len() != values.len() {
            return Err(Error::bad_response(source_name, "metric result with unequal Timestamps and Values"));
        }
        let mut points = Vec::with_capacity(values.len());
        for (t, v) in timestamps.into_iter().zip(values) {
            let t = DateTime::parse_from_rfc3339(t)
                .map_err(|_| Error::bad_response(source_name, "metric timestamp is not an RFC 3339 time"))?;
            let v = v
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| Error::bad_response(source_name, "metric value is not a number"))?;
            points.push((t.with_timezone(&Utc), v));
        }
        out.push(Series { id: id.to_owned(), points });
    }
    Ok((out, next_token(result, &["NextToken"])))
}

impl AwsSource {
    /// Hourly CPU of `instances` over the whole hours inside `range`.
    pub(crate) async fn cpu_hours(&self, instances: &[Instance], range: TimeRange) -> Result<Vec<UtilisationHour>> {
        // Whole hours only, as the demo fleet: from the first hour starting at or after `from` to
        // the last one ending at or before `to`.
        let first = hour_index(range.from + Duration::seconds(3_599));
        let end = hour_index(range.to);
        if first >= end || instances.is_empty() {
            return Ok(Vec::new());
        }
        let (start, stop) = (hour_start(first), hour_start(end));
        let mut by_region: BTreeMap<&RegionCode, Vec<&Instance>> = BTreeMap::new();
        for instance in instances {
            by_region.entry(&instance.region).or_default().push(instance);
        }
        let credential = self.credential().await?;
        let mut hours: BTreeMap<(String, i64), f64> = BTreeMap::new();
        for (code, members) in by_region {
            let region = &self.catalog.require(code.as_str())?.cloud_region;
            for batch in members.chunks(self.metric_batch) {
                let ids: HashMap<String, &str> =
                    batch.iter().enumerate().map(|(i, inst)| (format!("cpu{i}"), inst.id.as_str())).collect();
                let fixed = batch_params(batch, start, stop);
                let mut token: Option<String> = None;
                loop {
                    let mut params: Vec<(&str, &str)> = vec![("Action", "GetMetricData"), ("Version", VERSION)];
                    params.extend(fixed.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                    if let Some(t) = &token {
                        params.push(("NextToken", t.as_str()));
                    }
                    let body = self
                        .client
                        .query(Service::CloudWatch, region, &credential, &params, "CloudWatch GetMetricData")
                        .await?;
                    let (page, next) = parse_metric_data(self.name_str(), &body)?;
                    for series in page {
                        let instance = ids
                            .get(&series.id)
                            .ok_or_else(|| Error::bad_response(self.name_str(), "metric result for an unknown Id"))?;
                        for (t, v) in series.points {
                            let hour = hour_index(t);
                            if (first..end).contains(&hour) {
                                // One value an hour; a repeat (a page boundary) keeps the first.
                                hours.entry(((*instance).to_owned(), hour)).or_insert(v);
                            }
                        }
                    }
                    check_progress(self.name_str(), token.as_deref(), next.as_deref())?;
                    match next {
                        Some(n) => token = Some(n),
                        None => break,
                    }
                }
            }
        }
        Ok(hours
            .into_iter()
            .map(|((instance_id, hour), cpu_pct)| UtilisationHour {
                instance_id,
                hour: hour_start(hour),
                cpu_pct,
                memory_pct: None,
            })
            .collect())
    }
}

/// The request parameters of one batch, bar Action, Version and NextToken.
fn batch_params(batch: &[&Instance], start: DateTime<Utc>, stop: DateTime<Utc>) -> Vec<(String, String)> {
    let mut params = vec![
        ("StartTime".to_owned(), start.to_rfc3339_opts(SecondsFormat::Secs, true)),
        ("EndTime".to_owned(), stop.to_rfc3339_opts(SecondsFormat::Secs, true)),
        ("ScanBy".to_owned(), "TimestampAscending".to_owned()),
    ];
    for (i, instance) in batch.iter().enumerate() {
        let q = format!("MetricDataQueries.member.{}", i + 1);
        let stat = format!("{q}.MetricStat");
        params.extend([
            (format!("{q}.Id"), format!("cpu{i}")),
            (format!("{q}.ReturnData"), "true".to_owned()),
            (format!("{stat}.Metric.Namespace"), "AWS/EC2".to_owned()),
            (format!("{stat}.Metric.MetricName"), "CPUUtilization".to_owned()),
            (format!("{stat}.Metric.Dimensions.member.1.Name"), "InstanceId".to_owned()),
            (format!("{stat}.Metric.Dimensions.member.1.Value"), instance.id.clone()),
            (format!("{stat}.Period"), "3600".to_owned()),
            (format!("{stat}.Stat"), "Average".to_owned()),
        ]);
    }
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_recorded_get_metric_data_body() {
        let body = std::fs::read_to_string(format!(
            "{}/../data/fixtures/aws/raw_cloudwatch_GetMetricData.xml",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let (series, next) = parse_metric_data("aws", &body).unwrap();
        assert_eq!(next, None);
        assert_eq!(series.len(), 1);
        assert_eq!(series[0].id, "cpu");
        assert_eq!(series[0].points.len(), 12);
        assert_eq!(series[0].points[0].0.to_rfc3339(), "2026-12-03T17:55:46+00:00");
        assert_eq!(series[0].points[0].1, 10.0);
        assert_eq!(series[0].points[11].1, 21.0);
    }

    #[test]
    fn refuses_unequal_or_unreadable_series_and_reads_tokens() {
        let page = |inner: &str| {
            format!(
                "<GetMetricDataResponse><GetMetricDataResult><MetricDataResults><member><Id>cpu0</Id>{inner}\
                 </member></MetricDataResults><NextToken>t2</NextToken></GetMetricDataResult></GetMetricDataResponse>"
            )
        };
        let ok =
            page("<Timestamps><member>2024-01-01T00:00:00Z</member></Timestamps><Values><member>5.5</member></Values>");
        let (series, next) = parse_metric_data("aws", &ok).unwrap();
        assert_eq!((series[0].points[0].1, next.as_deref()), (5.5, Some("t2")));
        let unequal = page("<Timestamps><member>2024-01-01T00:00:00Z</member></Timestamps><Values/>");
        assert!(matches!(parse_metric_data("aws", &unequal), Err(Error::BadResponse { .. })));
        let nan = ok.replace("5.5", "high");
        assert!(matches!(parse_metric_data("aws", &nan), Err(Error::BadResponse { .. })));
        assert!(matches!(parse_metric_data("aws", "<GetMetricDataResponse/>"), Err(Error::BadResponse { .. })));
    }
}
