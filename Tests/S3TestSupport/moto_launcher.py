"""Starts moto_server on 127.0.0.1 for the tests, with SigV4 signature checks on.

usage: python3 moto_launcher.py PARENT_PID PORT BUCKET

INITIAL_NO_AUTH_ACTION_COUNT=3 lets the first three calls through unauthenticated: they create
an IAM user, its access key and an allow-all policy. From then on moto checks every signature.
Prints one JSON line {"endpoint", "access_key", "secret_key", "bucket"}, then stays until the
parent (the test process) is gone, and stops moto with it.

moto 5 checks signatures against the query string as Werkzeug hands it over, where '/', '=' and
other characters of an encoded value come back decoded, while SigV4 (and AWS) canonicalise every
value percent-encoded: any signed ListObjectsV2 with a '/' in its prefix fails there, boto3's
too. The server below runs moto with that one step made canonical, as AWS does it.
"""
import json, os, signal, socket, subprocess, sys, time

import boto3

# SIGTERM/SIGINT unwind through `finally`, which stops moto: by default Python would die at once
# and leave moto running with gigabytes of objects in memory.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
signal.signal(signal.SIGINT, lambda *_: sys.exit(0))

parent, port, bucket = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
endpoint = f"http://127.0.0.1:{port}"
env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="3")
CANONICAL_QUERY_MOTO = """
import sys
from urllib.parse import quote, unquote, urlparse
import moto.core.authorization as authorization

def canonical_urlparse(url, *args, **kwargs):
    parts = urlparse(url, *args, **kwargs)
    if not parts.query:
        return parts
    pairs = [p.partition("=") for p in parts.query.split("&")]
    query = "&".join(quote(unquote(k), safe="-_.~") + "=" + quote(unquote(v), safe="-_.~") for k, _, v in pairs)
    return parts._replace(query=query)

authorization.urlparse = canonical_urlparse
from moto.server import main
main(sys.argv[1:])
"""
server = subprocess.Popen([sys.executable, "-c", CANONICAL_QUERY_MOTO, "-H", "127.0.0.1", "-p", str(port)], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    deadline = time.time() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.time() > deadline or server.poll() is not None:
                raise SystemExit("moto_server did not start")
            time.sleep(0.1)
    anonymous = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="setup", aws_secret_access_key="setup")
    iam = boto3.client("iam", **anonymous)
    iam.create_user(UserName="chainvault")
    key = iam.create_access_key(UserName="chainvault")["AccessKey"]
    iam.put_user_policy(UserName="chainvault", PolicyName="all", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    s3.create_bucket(Bucket=bucket)
    # The append-only node of README "Security": may read, list and write, never delete.
    admin = dict(endpoint_url=endpoint, region_name="us-east-1",
                 aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    admin_iam = boto3.client("iam", **admin)
    admin_iam.create_user(UserName="node")
    node = admin_iam.create_access_key(UserName="node")["AccessKey"]
    admin_iam.put_user_policy(UserName="node", PolicyName="append-only", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:GetBucketLocation",
                                           "s3:AbortMultipartUpload"],
             "Resource": ["arn:aws:s3:::%s" % bucket, "arn:aws:s3:::%s/*" % bucket]},
            {"Effect": "Deny", "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutLifecycleConfiguration",
                                          "s3:PutBucketPolicy", "s3:DeleteBucket"],
             "Resource": ["arn:aws:s3:::%s" % bucket, "arn:aws:s3:::%s/*" % bucket]}]}))
    print(json.dumps({"endpoint": endpoint, "access_key": key["AccessKeyId"],
                      "secret_key": key["SecretAccessKey"], "bucket": bucket,
                      "node_access_key": node["AccessKeyId"], "node_secret_key": node["SecretAccessKey"]}), flush=True)
    while os.getppid() == parent and server.poll() is None:
        time.sleep(0.5)
finally:
    server.kill()  # SIGKILL: a SIGTERM ignored by the test runner is inherited
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
