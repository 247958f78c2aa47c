"""What a bucket's administrator does outside chainvault, for the tests (boto3, path style).

usage: python3 s3_admin.py ENDPOINT ACCESS_KEY SECRET_KEY COMMAND ARGS...
  lock-bucket NAME          creates NAME with Object Lock enabled
  delete-versions BUCKET P  tries DELETE with the versionId of every object version under P
                            (except locks/) and prints {"versions", "locked", "deleted", "refused"}
  versioned-bucket NAME     creates NAME with versioning enabled
  versions BUCKET P         every version under P (but locks/) with its retain-until, and the
                            number of delete markers
  delete-prefix BUCKET P    deletes every object under P (an unversioned bucket) and prints {"deleted"}
  size BUCKET P             the current objects under P (but locks/): {"objects", "bytes"}
"""
import json, sys

import boto3
from botocore.config import Config

endpoint, ak, sk, command, *args = sys.argv[1:]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=ak,
                  aws_secret_access_key=sk, config=Config(s3={"addressing_style": "path"}))
if command == "lock-bucket":
    s3.create_bucket(Bucket=args[0], ObjectLockEnabledForBucket=True)
    print(json.dumps({"ok": True}))
elif command == "delete-versions":
    bucket, prefix = args
    versions = [v for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix)
                for v in page.get("Versions", []) if "/locks/" not in v["Key"]]
    out = {"versions": len(versions), "locked": 0, "deleted": [], "refused": 0}
    for v in versions:
        head = s3.head_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])
        if head.get("ObjectLockMode"):
            out["locked"] += 1
        try:
            s3.delete_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])
            out["deleted"].append(v["Key"])
        except s3.exceptions.ClientError as e:
            out["refused"] += 1
    print(json.dumps(out))
elif command == "versioned-bucket":
    s3.create_bucket(Bucket=args[0])
    s3.put_bucket_versioning(Bucket=args[0], VersioningConfiguration={"Status": "Enabled"})
    print(json.dumps({"ok": True}))
elif command == "versions":
    # Every version under P (but locks/): its key, whether it is the current one, its retain-until
    # (ISO, or null), and the number of delete markers.
    bucket, prefix = args
    pages = list(s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix))
    out = {"versions": [], "deleteMarkers": 0}
    for page in pages:
        out["deleteMarkers"] += len([m for m in page.get("DeleteMarkers", []) if "/locks/" not in m["Key"]])
        for v in page.get("Versions", []):
            if "/locks/" in v["Key"]:
                continue
            head = s3.head_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])
            until = head.get("ObjectLockRetainUntilDate")
            out["versions"].append({"key": v["Key"][len(prefix):], "latest": v["IsLatest"],
                                    "until": until.timestamp() if until else None})
    print(json.dumps(out))
elif command == "delete-prefix":
    bucket, prefix = args
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for o in page.get("Contents", [])]
    for key in keys:
        s3.delete_object(Bucket=bucket, Key=key)
    print(json.dumps({"deleted": len(keys)}))
elif command == "size":
    bucket, prefix = args
    sizes = [o["Size"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
             for o in page.get("Contents", []) if "/locks/" not in o["Key"]]
    print(json.dumps({"objects": len(sizes), "bytes": sum(sizes)}))
