#!/usr/bin/env python3
"""Derives the figures of data/regions.toml from the bundled reference data.

Run once when the reference data changes; the catalog itself is the hand-editable source of truth
(adding a region is one [[region]] entry, see the README). This script records *how* each figure was
derived so that every number in the catalog can be traced:

- annual_intensity_g_per_kwh: Electricity Maps 2022 annual mean life-cycle intensity for the
  region's zone (data/reference/annual_intensity); when the zone is missing there, the Cloud Carbon
  Footprint grid factor for the cloud region (data/reference/ccf/grid-emissions-factors-aws.csv,
  tonnes/kWh x 1e6).
- price_factor: geometric mean, over the instance types priced in both, of the region's Linux
  on-demand price divided by us-east-1's (data/reference/pricing, 2017 prices: old, used for ratios
  only). A region without prices takes the factor of the priced region named in `price_proxy`.
- pue: Cloud Carbon Footprint's published provider averages (AWS 1.135, GCP 1.1).
- latency: not stored here; computed at load time from the cloudping matrix for a configurable
  vantage region, using `latency_proxy` for regions the matrix lacks.

Usage: python3 data/derive_region_catalog.py > data/regions.toml
"""
import csv
import math
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
REF = ROOT / "data" / "reference"

# code, provider, cloud region, display name, zone, csv keywords, latency proxy, price proxy
REGIONS = [
    ("aws", "af-south-1", "Cape Town (South Africa)", "ZA", ["ZA_", "South Africa"], None, "ap-south-1"),
    ("aws", "ap-east-1", "Hong Kong", "HK", ["HK_", "Hong Kong"], None, "ap-southeast-1"),
    ("aws", "ap-northeast-1", "Tokyo (Japan)", "JP-TK", ["JP-TK", "Tokyo"], None, None),
    ("aws", "ap-northeast-2", "Seoul (South Korea)", "KR", ["KR_", "Korea"], None, None),
    ("aws", "ap-northeast-3", "Osaka (Japan)", "JP-KN", ["JP-KN", "Osaka"], None, "ap-northeast-1"),
    ("aws", "ap-south-1", "Mumbai (India)", "IN-WE", ["IN-WE", "Mumbai"], None, None),
    ("aws", "ap-southeast-1", "Singapore", "SG", ["SG_", "Singapore"], None, None),
    ("aws", "ap-southeast-2", "Sydney (Australia)", "AU-NSW", ["AU-NSW", "Sydney"], None, None),
    ("aws", "ap-southeast-3", "Jakarta (Indonesia)", "ID", ["ID_", "Jakarta"], None, "ap-southeast-1"),
    ("aws", "ap-southeast-4", "Melbourne (Australia)", "AU-VIC", ["AU-VIC", "Melbourne"], None, "ap-southeast-2"),
    ("aws", "ca-central-1", "Montreal (Canada)", "CA-QC", ["CA-QC", "Quebec"], None, None),
    ("aws", "eu-central-1", "Frankfurt (Germany)", "DE", ["DE-LU", "DE_", "Germany"], None, None),
    ("aws", "eu-central-2", "Zurich (Switzerland)", "CH", ["CH_", "Switzerland"], None, "eu-central-1"),
    ("aws", "eu-north-1", "Stockholm (Sweden)", "SE-SE3", ["SE-SE3", "SE_", "Sweden"], None, "eu-west-1"),
    ("aws", "eu-south-1", "Milan (Italy)", "IT-NO", ["IT-NO", "Italy"], None, "eu-central-1"),
    ("aws", "eu-south-2", "Aragon (Spain)", "ES", ["ES_", "Spain"], None, "eu-west-1"),
    ("aws", "eu-west-1", "Dublin (Ireland)", "IE", ["IE_", "Ireland"], None, None),
    ("aws", "eu-west-2", "London (United Kingdom)", "GB", ["GB_", "Great Britain"], None, None),
    ("aws", "eu-west-3", "Paris (France)", "FR", ["FR_", "France"], None, "eu-west-2"),
    ("aws", "il-central-1", "Tel Aviv (Israel)", "IL", ["IL_", "Israel"], None, "eu-central-1"),
    ("aws", "me-south-1", "Bahrain", "BH", ["BH_", "Bahrain"], None, "ap-south-1"),
    ("aws", "sa-east-1", "Sao Paulo (Brazil)", "BR-CS", ["BR-SP", "BR-CS", "Brazil"], None, None),
    ("aws", "us-east-1", "N. Virginia (USA)", "US-MIDA-PJM", ["US-MIDA-PJM", "PJM"], None, None),
    ("aws", "us-east-2", "Ohio (USA)", "US-MIDA-PJM", ["US-MIDA-PJM", "PJM"], None, None),
    ("aws", "us-west-1", "N. California (USA)", "US-CAL-CISO", ["US-CAL-CISO", "CAISO"], None, None),
    ("aws", "us-west-2", "Oregon (USA)", "US-NW-PACW", ["US-NW-PACW", "Pacificorp"], None, None),
    ("aws", "us-gov-east-1", "GovCloud US-East (Ohio)", "US-MIDA-PJM", ["US-MIDA-PJM"], "us-east-2", "us-gov-west-1"),
    ("aws", "us-gov-west-1", "GovCloud US-West (Oregon)", "US-NW-PACW", ["US-NW-PACW"], "us-west-2", None),
    ("aws", "cn-north-1", "Beijing (China)", "CN", ["CN_", "China"], "ap-east-1", "ap-northeast-1"),
    ("aws", "cn-northwest-1", "Ningxia (China)", "CN", ["CN_", "China"], "ap-east-1", "ap-northeast-1"),
    ("gcp", "northamerica-northeast2", "Toronto (Canada)", "CA-ON", ["CA-ON", "Ontario"], "ca-central-1", "ca-central-1"),
    ("gcp", "southamerica-west1", "Santiago (Chile)", "CL-SEN", ["CL-SIC", "CL-SEN", "Chile"], "sa-east-1", "sa-east-1"),
    ("gcp", "us-south1", "Dallas (USA)", "US-TEX-ERCO", ["US-TEX-ERCO", "ERCOT", "Texas"], "us-east-2", "us-east-2"),
]
PUE = {"aws": 1.135, "gcp": 1.1}


def annual_figures():
    emaps = {}
    with open(REF / "annual_intensity" / "emaps_zone_annual_mean_2020-2022_decarbonization-potential.csv") as f:
        for row in csv.DictReader(f):
            emaps[row["zonecode"]] = float(row["2022"])
    ccf = {}
    with open(REF / "ccf" / "grid-emissions-factors-aws.csv") as f:
        for row in csv.DictReader(f):
            ccf[row["Region"]] = float(row["CO2e (metric ton/kWh)"]) * 1e6
    return emaps, ccf


def price_factors():
    prices = {}
    with open(REF / "pricing" / "ec2_ondemand_linux_usd_per_hour.csv") as f:
        for row in csv.DictReader(f):
            prices.setdefault(row["region"], {})[row["instance_type"]] = float(row["linux_ondemand_usd_per_hour"])
    base = prices["us-east-1"]
    factors = {}
    for region, table in prices.items():
        ratios = [math.log(p / base[t]) for t, p in table.items() if t in base and base[t] > 0]
        factors[region] = math.exp(sum(ratios) / len(ratios))
    return factors


def main():
    emaps, ccf = annual_figures()
    factors = price_factors()
    print("# SPECTRA region catalog: one [[region]] entry per cloud region. See README, 'Adding a new region'.")
    print("# Figures derived by data/derive_region_catalog.py; sources in data/README.md.")
    print("# Latency is not stored: it comes from data/reference/latency at load time, for the")
    print("# configured vantage region, through `latency_proxy` when the matrix lacks the region.")
    for provider, region, name, zone, keywords, lat_proxy, price_proxy in REGIONS:
        if zone in emaps:
            annual, annual_src = emaps[zone], f"Electricity Maps 2022 mean, zone {zone}"
        else:
            annual, annual_src = ccf[region], f"Cloud Carbon Footprint grid factor, {region}"
        if region in factors and provider == "aws":
            factor, price_src = factors[region], f"EC2 on-demand prices, {region} vs us-east-1"
        else:
            factor, price_src = factors[price_proxy], f"no price data; proxy {price_proxy}"
        print()
        print("[[region]]")
        print(f'code = "{provider}-{region}"')
        print(f'display_name = "{name}"')
        print(f'provider = "{provider}"')
        print(f'cloud_region = "{region}"')
        print(f'zone = "{zone}"')
        print(f"annual_intensity_g_per_kwh = {annual:.1f}  # {annual_src}")
        print(f"pue = {PUE[provider]}")
        print(f"price_factor = {factor:.3f}  # {price_src}")
        if lat_proxy:
            print(f'latency_proxy = "{lat_proxy}"  # not in the cloudping matrix')
        print("csv_keywords = [" + ", ".join(f'"{k}"' for k in keywords) + "]")


if __name__ == "__main__":
    main()
