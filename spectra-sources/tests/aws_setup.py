"""Fills a running moto_server with the fleet, metrics and bill that tests/aws.rs reads back
through SPECTRA's own AWS client.

    python aws_setup.py http://127.0.0.1:PORT
    python aws_setup.py http://127.0.0.1:PORT iam-user

The second form is for a moto started with INITIAL_NO_AUTH_ACTION_COUNT=3, which checks every
later request's SigV4 signature and IAM permissions: it spends the three unauthenticated actions
on an IAM user, its access key and a read-only policy, and prints {"key_id", "secret"}.

Prints one JSON document on stdout: what was created (instance ids by role), so the Rust test can
assert exact values. boto3 is only the setup tool here; nothing of it is under test.

The fleet:
- us-east-1: 7 m5.large of team "web" named web-0..web-6, one t3.micro named "bastion" with no
  team tag, one m4.large of team "data" named "etl" that is stopped, and one terminated t3.micro
  (SPECTRA must leave it out). With a page size of 5 that is three DescribeInstances pages.
- eu-west-1: 3 c5.xlarge of team "ml" named ml-0..ml-2.
Metrics (AWS/EC2 CPUUtilization, InstanceId dimension), for 2024-01-01 00:00-06:00 UTC:
- web-0: two datapoints an hour, at :10 and :40, values 10+h and 20+h: hourly Average 15+h.
- ml-0: one datapoint an hour, at :30, value 50+h.
Cost Explorer: two canned GetCostAndUsage pages (moto hands one out per distinct request, so the
second request, which carries NextPageToken, gets the second page).
"""

import datetime
import json
import sys
import urllib.request

import boto3

ENDPOINT = sys.argv[1]
CREDS = dict(aws_access_key_id="AKIDSETUP", aws_secret_access_key="setup-secret")
AMI = "ami-03cf127a"  # one of moto's default images
T0 = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)


def client(service, region):
    return boto3.client(service, endpoint_url=ENDPOINT, region_name=region, **CREDS)


def launch(ec2, instance_type, tags, count=1):
    tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
    spec = [{"ResourceType": "instance", "Tags": tag_list}] if tag_list else []
    kwargs = dict(ImageId=AMI, InstanceType=instance_type, MinCount=count, MaxCount=count)
    if spec:
        kwargs["TagSpecifications"] = spec
    return [i["InstanceId"] for i in ec2.run_instances(**kwargs)["Instances"]]


def main():
    out = {}
    use1 = client("ec2", "us-east-1")
    web = []
    for n in range(7):
        web += launch(use1, "m5.large", {"Name": f"web-{n}", "team": "web"})
    out["web"] = web
    out["bastion"] = launch(use1, "t3.micro", {"Name": "bastion"})[0]
    etl = launch(use1, "m4.large", {"Name": "etl", "team": "data"})[0]
    use1.stop_instances(InstanceIds=[etl])
    out["etl"] = etl
    gone = launch(use1, "t3.micro", {"Name": "gone", "team": "web"})[0]
    use1.terminate_instances(InstanceIds=[gone])
    out["terminated"] = gone

    euw1 = client("ec2", "eu-west-1")
    out["ml"] = [launch(euw1, "c5.xlarge", {"Name": f"ml-{n}", "team": "ml"})[0] for n in range(3)]

    def put(region, instance_id, points):
        client("cloudwatch", region).put_metric_data(
            Namespace="AWS/EC2",
            MetricData=[
                {
                    "MetricName": "CPUUtilization",
                    "Dimensions": [{"Name": "InstanceId", "Value": instance_id}],
                    "Timestamp": t,
                    "Value": v,
                    "Unit": "Percent",
                }
                for t, v in points
            ],
        )

    hour = datetime.timedelta(hours=1)
    minute = datetime.timedelta(minutes=1)
    put(
        "us-east-1",
        web[0],
        [(T0 + h * hour + 10 * minute, 10.0 + h) for h in range(6)]
        + [(T0 + h * hour + 40 * minute, 20.0 + h) for h in range(6)],
    )
    put("eu-west-1", out["ml"][0], [(T0 + h * hour + 30 * minute, 50.0 + h) for h in range(6)])

    def usd(amount):
        return {"UnblendedCost": {"Amount": amount, "Unit": "USD"}}

    def group(region, amount):
        return {"Keys": [region], "Metrics": usd(amount)}

    pages = [
        {
            "ResultsByTime": [
                {
                    "TimePeriod": {"Start": "2024-01-01", "End": "2024-01-02"},
                    "Total": {},
                    "Groups": [group("us-east-1", "12.5"), group("eu-west-1", "3.25"), group("global", "1.0")],
                    "Estimated": False,
                }
            ],
            "NextPageToken": "page-2",
        },
        {
            "ResultsByTime": [
                {
                    "TimePeriod": {"Start": "2024-01-02", "End": "2024-01-03"},
                    "Total": usd("7.75"),
                    "Groups": [],
                    "Estimated": True,
                }
            ]
        },
    ]
    request = urllib.request.Request(
        ENDPOINT + "/moto-api/static/ce/cost-and-usage-results",
        data=json.dumps({"results": pages}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request).read()

    json.dump(out, sys.stdout)


def iam_user():
    iam = client("iam", "us-east-1")
    iam.create_user(UserName="spectra")
    key = iam.create_access_key(UserName="spectra")["AccessKey"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["ec2:Describe*", "cloudwatch:GetMetricData", "ce:GetCostAndUsage"],
                "Resource": "*",
            }
        ],
    }
    iam.put_user_policy(UserName="spectra", PolicyName="spectra-read", PolicyDocument=json.dumps(policy))
    json.dump({"key_id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}, sys.stdout)


if __name__ == "__main__":
    if sys.argv[2:] == ["iam-user"]:
        iam_user()
    else:
        main()
