"""The media staging bucket of the local run, on the local AWS emulator (moto), as template.yaml's
MediaBucket: private, and taking the browser's PUT from the console's origins (CORS).

    python scripts/local_bucket.py ENDPOINT BUCKET ORIGIN...

Credentials and region are the emulator's (it checks neither).
"""

import sys

import boto3


def main(endpoint: str, bucket: str, origins: list[str]) -> None:
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="local", aws_secret_access_key="local")
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [
        {"AllowedMethods": ["PUT"], "AllowedOrigins": origins, "AllowedHeaders": ["*"], "MaxAgeSeconds": 600},
    ]})


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
