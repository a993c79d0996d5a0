//! EC2 (Query API, version 2016-11-15): DescribeInstances, page by page, in every AWS region of
//! the catalog, and DescribeInstanceTypes for vCPUs and memory -> [`Instance`]s.

use std::collections::{BTreeSet, HashMap};

use spectra_core::{Error, Instance, InstanceState, Result};

use super::client::{Service, check_progress, next_token};
use super::xml;
use super::{AwsServiceError, AwsSource};

const VERSION: &str = "2016-11-15";
/// DescribeInstanceTypes takes at most 100 names a call.
const TYPES_PER_CALL: usize = 100;
/// The team of an instance without a `team` tag.
pub(crate) const UNASSIGNED_TEAM: &str = "unassigned";

/// One instance as DescribeInstances reports it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Described {
    pub id: String,
    pub instance_type: String,
    pub state: InstanceState,
    pub name: Option<String>,
    pub team: Option<String>,
}

/// One page of DescribeInstances: the live instances and the next page's token.
///
/// `pending` counts as running and `stopping` as stopped; `shutting-down` and `terminated`
/// instances are left out: they are gone, or about to be, and no longer billed.
pub(crate) fn parse_instances(source_name: &str, body: &str) -> Result<(Vec<Described>, Option<String>)> {
    let doc = xml::parse(source_name, body)?;
    let root = doc.root_element();
    if root.tag_name().name() != "DescribeInstancesResponse" {
        return Err(Error::bad_response(source_name, "not a DescribeInstancesResponse"));
    }
    let mut out = Vec::new();
    let reservations = xml::child(root, "reservationSet");
    for reservation in reservations.into_iter().flat_map(|r| xml::children(r, "item")) {
        let instances = xml::child(reservation, "instancesSet");
        for item in instances.into_iter().flat_map(|s| xml::children(s, "item")) {
            let field = |name: &'static str| {
                xml::child_text(item, name)
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| Error::bad_response(source_name, format!("instance without {name}")))
            };
            let state_name = xml::path(item, &["instanceState", "name"])
                .and_then(|n| n.text())
                .ok_or_else(|| Error::bad_response(source_name, "instance without instanceState"))?;
            let state = match state_name.trim() {
                "pending" | "running" => InstanceState::Running,
                "stopping" | "stopped" => InstanceState::Stopped,
                "shutting-down" | "terminated" => continue,
                _ => return Err(Error::bad_response(source_name, "unknown instance state")),
            };
            let mut tags: HashMap<&str, &str> = HashMap::new();
            for tag in xml::child(item, "tagSet").into_iter().flat_map(|s| xml::children(s, "item")) {
                if let (Some(k), Some(v)) = (xml::child_text(tag, "key"), xml::child_text(tag, "value")) {
                    tags.insert(k, v);
                }
            }
            let tag = |k: &str| tags.get(k).map(|v| v.to_string()).filter(|v| !v.is_empty());
            out.push(Described {
                id: field("instanceId")?.to_owned(),
                instance_type: field("instanceType")?.to_owned(),
                state,
                name: tag("Name"),
                team: tag("team"),
            });
        }
    }
    Ok((out, next_token(root, &["nextToken"])))
}

/// An instance type's name, vCPUs and memory GB.
pub(crate) type TypeInfo = (String, u32, f64);

/// One page of DescribeInstanceTypes: the types described and the next page's token.
pub(crate) fn parse_instance_types(source_name: &str, body: &str) -> Result<(Vec<TypeInfo>, Option<String>)> {
    let doc = xml::parse(source_name, body)?;
    let root = doc.root_element();
    let mut out = Vec::new();
    for item in xml::child(root, "instanceTypeSet").into_iter().flat_map(|s| xml::children(s, "item")) {
        let bad = |what: &str| Error::bad_response(source_name, format!("instance type without {what}"));
        let name =
            xml::child_text(item, "instanceType").filter(|v| !v.is_empty()).ok_or_else(|| bad("instanceType"))?;
        let vcpus = xml::path(item, &["vCpuInfo", "defaultVCpus"])
            .and_then(|n| n.text())
            .and_then(|t| t.trim().parse::<u32>().ok())
            .ok_or_else(|| bad("vCpuInfo.defaultVCpus"))?;
        let mib = xml::path(item, &["memoryInfo", "sizeInMiB"])
            .and_then(|n| n.text())
            .and_then(|t| t.trim().parse::<f64>().ok())
            .ok_or_else(|| bad("memoryInfo.sizeInMiB"))?;
        // GiB, as AWS and the demo fleet quote memory ("8 GB" for 8192 MiB).
        out.push((name.to_owned(), vcpus, mib / 1024.0));
    }
    Ok((out, next_token(root, &["nextToken"])))
}

/// The region names of a DescribeRegions answer.
pub(crate) fn parse_regions(source_name: &str, body: &str) -> Result<Vec<String>> {
    let doc = xml::parse(source_name, body)?;
    let info = xml::child(doc.root_element(), "regionInfo")
        .ok_or_else(|| Error::bad_response(source_name, "DescribeRegions response without regionInfo"))?;
    Ok(xml::children(info, "item")
        .filter_map(|item| xml::child_text(item, "regionName"))
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect())
}

impl AwsSource {
    /// The regions to list: those set with `with_regions`, else the catalog's AWS regions of the
    /// home region's partition that DescribeRegions (in the home region) says the account has
    /// enabled. Asking a region the account has not opted into, or one of another partition
    /// (GovCloud, China), fails as `AuthFailure`, which would fail the whole fleet.
    async fn listed_regions(
        &self,
        credential: &super::AwsCredential,
    ) -> Result<Vec<(String, spectra_core::RegionCode)>> {
        if self.regions_explicit {
            return Ok(self.regions.clone());
        }
        let params = [("Action", "DescribeRegions"), ("Version", VERSION)];
        let home = self.client.home_region().to_owned();
        let body = self.client.query(Service::Ec2, &home, credential, &params, "EC2 DescribeRegions").await?;
        let enabled: BTreeSet<String> = parse_regions(self.name_str(), &body)?.into_iter().collect();
        let home_partition = super::client::partition(&home);
        Ok(self
            .regions
            .iter()
            .filter(|(name, _)| enabled.contains(name) && super::client::partition(name) == home_partition)
            .cloned()
            .collect())
    }

    /// Every live instance in the listed regions, in region then id order.
    pub(crate) async fn describe_fleet(&self) -> Result<Vec<Instance>> {
        let credential = self.credential().await?;
        let mut out = Vec::new();
        for (cloud_region, code) in &self.listed_regions(&credential).await? {
            let described = match self.describe_region(cloud_region, &credential).await {
                Ok(d) => d,
                // A region the account has not opted into holds no instances of it.
                Err(Error::Source { source, .. })
                    if source.downcast_ref::<AwsServiceError>().is_some_and(|e| e.code == "OptInRequired") =>
                {
                    continue;
                }
                Err(e) => return Err(e),
            };
            if described.is_empty() {
                continue;
            }
            let types: BTreeSet<&str> = described.iter().map(|d| d.instance_type.as_str()).collect();
            self.learn_types(cloud_region, &credential, &types).await?;
            let region = self.catalog.require(code.as_str())?;
            let known = self.types.lock().map_err(|_| Error::bad_response(self.name_str(), "type cache poisoned"))?;
            for d in described {
                let &(vcpus, memory_gb) = known.get(&d.instance_type).ok_or_else(|| {
                    Error::bad_response(self.name_str(), "DescribeInstanceTypes did not describe a type in use")
                })?;
                out.push(Instance {
                    hourly_cost_usd: self.prices.hourly_usd(&d.instance_type, vcpus, memory_gb, region),
                    name: d.name.unwrap_or_else(|| d.id.clone()),
                    team: d.team.unwrap_or_else(|| UNASSIGNED_TEAM.to_owned()),
                    id: d.id,
                    region: code.clone(),
                    instance_type: d.instance_type,
                    vcpus,
                    memory_gb,
                    state: d.state,
                });
            }
        }
        out.sort_by(|a, b| (&a.region, &a.id).cmp(&(&b.region, &b.id)));
        Ok(out)
    }

    async fn describe_region(&self, region: &str, credential: &super::AwsCredential) -> Result<Vec<Described>> {
        let page_size = self.page_size.to_string();
        let mut token: Option<String> = None;
        let mut out = Vec::new();
        loop {
            let mut params = vec![
                ("Action", "DescribeInstances"),
                ("Version", VERSION),
                ("MaxResults", page_size.as_str()),
                ("Filter.1.Name", "instance-state-name"),
                ("Filter.1.Value.1", "pending"),
                ("Filter.1.Value.2", "running"),
                ("Filter.1.Value.3", "stopping"),
                ("Filter.1.Value.4", "stopped"),
            ];
            if let Some(t) = &token {
                params.push(("NextToken", t.as_str()));
            }
            let body = self.client.query(Service::Ec2, region, credential, &params, "EC2 DescribeInstances").await?;
            let (page, next) = parse_instances(self.name_str(), &body)?;
            out.extend(page);
            check_progress(self.name_str(), token.as_deref(), next.as_deref())?;
            match next {
                Some(n) => token = Some(n),
                None => return Ok(out),
            }
        }
    }

    /// Describes the types not yet in the cache (a type's vCPUs and memory are the same everywhere).
    async fn learn_types(&self, region: &str, credential: &super::AwsCredential, types: &BTreeSet<&str>) -> Result<()> {
        let missing: Vec<&str> = {
            let known = self.types.lock().map_err(|_| Error::bad_response(self.name_str(), "type cache poisoned"))?;
            types.iter().copied().filter(|t| !known.contains_key(*t)).collect()
        };
        for chunk in missing.chunks(TYPES_PER_CALL) {
            let names: Vec<String> = (1..=chunk.len()).map(|i| format!("InstanceType.{i}")).collect();
            let mut token: Option<String> = None;
            loop {
                let mut params = vec![("Action", "DescribeInstanceTypes"), ("Version", VERSION)];
                params.extend(names.iter().map(String::as_str).zip(chunk.iter().copied()));
                if let Some(t) = &token {
                    params.push(("NextToken", t.as_str()));
                }
                let body =
                    self.client.query(Service::Ec2, region, credential, &params, "EC2 DescribeInstanceTypes").await?;
                let (page, next) = parse_instance_types(self.name_str(), &body)?;
                if let Ok(mut known) = self.types.lock() {
                    known.extend(page.into_iter().map(|(name, vcpus, gb)| (name, (vcpus, gb))));
                }
                check_progress(self.name_str(), token.as_deref(), next.as_deref())?;
                match next {
                    Some(n) => token = Some(n),
                    None => break,
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!("{}/../data/fixtures/aws/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn reads_the_recorded_describe_instances_body() {
        let (instances, next) = parse_instances("aws", &fixture("raw_ec2_DescribeInstances.xml")).unwrap();
        assert_eq!(next, None);
        assert_eq!(
            instances,
            ["i-470b9eb74f0ece0af", "i-6bee02ea67fae4fc2"]
                .map(|id| Described {
                    id: id.into(),
                    instance_type: "m5.large".into(),
                    state: InstanceState::Running,
                    name: None,
                    team: Some("ml".into()),
                })
                .to_vec()
        );
    }

    #[test]
    fn skips_terminated_reads_tokens_and_refuses_broken_bodies() {
        let body = r#"<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><reservationSet>
            <item><instancesSet>
              <item><instanceId>i-1</instanceId><instanceType>t3.micro</instanceType>
                <instanceState><code>80</code><name>stopped</name></instanceState>
                <tagSet><item><key>Name</key><value>web-1</value></item></tagSet></item>
              <item><instanceId>i-2</instanceId><instanceType>t3.micro</instanceType>
                <instanceState><code>48</code><name>terminated</name></instanceState></item>
            </instancesSet></item></reservationSet><nextToken>page-2</nextToken></DescribeInstancesResponse>"#;
        let (instances, next) = parse_instances("aws", body).unwrap();
        assert_eq!(next.as_deref(), Some("page-2"));
        assert_eq!(instances.len(), 1);
        assert_eq!((instances[0].state, instances[0].name.as_deref()), (InstanceState::Stopped, Some("web-1")));
        assert!(matches!(parse_instances("aws", "<DescribeInstancesResponse>"), Err(Error::BadResponse { .. })));
        let no_id = body.replace("<instanceId>i-1</instanceId>", "");
        assert!(parse_instances("aws", &no_id).unwrap_err().to_string().contains("instanceId"));
    }

    #[test]
    fn reads_enabled_regions() {
        let body = "<DescribeRegionsResponse><regionInfo><item><regionName>eu-west-1</regionName>\
            <regionEndpoint>ec2.eu-west-1.amazonaws.com</regionEndpoint></item><item><regionName>us-east-1</regionName>\
            </item></regionInfo></DescribeRegionsResponse>";
        assert_eq!(parse_regions("aws", body).unwrap(), ["eu-west-1", "us-east-1"]);
        assert!(parse_regions("aws", "<DescribeRegionsResponse/>").is_err());
    }

    #[test]
    fn reads_instance_types() {
        let body = "<DescribeInstanceTypesResponse><instanceTypeSet><item><instanceType>m5.large</instanceType>\
            <vCpuInfo><defaultVCpus>2</defaultVCpus></vCpuInfo><memoryInfo><sizeInMiB>8192</sizeInMiB></memoryInfo>\
            </item></instanceTypeSet></DescribeInstanceTypesResponse>";
        assert_eq!(parse_instance_types("aws", body).unwrap(), (vec![("m5.large".into(), 2, 8.0)], None));
        assert!(parse_instance_types("aws", &body.replace("8192", "lots")).is_err());
    }
}
