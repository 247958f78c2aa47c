"""Starts a one-node Ceph cluster (one monitor, one OSD, radosgw) on 127.0.0.1 for the tests.

usage: python3 rgw_launcher.py PARENT_PID DIR MON_PORT RGW_PORT OSD_PORT_MIN OSD_PORT_MAX OBJECTSTORE

Everything lives in DIR (a fresh directory the caller made with mkdtemp); every daemon runs in
the foreground as this script's child, so this script alone decides when they end. Prints one
JSON line {"endpoint", "access_key", "secret_key", "node_access_key", "node_secret_key",
"seconds"} (or {"error": ...}), then answers commands on stdin, one JSON line each:
  bucket NAME [versioned] [lock] [node]   creates a bucket; `versioned` enables versioning,
      `lock` creates it with Object Lock, `node` grants the second user ("node") only
      s3:PutObject, s3:GetObject and s3:ListBucket on it (a credential that cannot delete)
It stays until the parent (the test process) is gone or stdin closes, then stops the daemons
(SIGTERM, then SIGKILL) and removes DIR.
"""
import json, os, shutil, signal, subprocess, sys, time, urllib.request

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
signal.signal(signal.SIGINT, lambda *_: sys.exit(0))

parent, base = int(sys.argv[1]), sys.argv[2]
mon_port, rgw_port, port_min, port_max = (int(a) for a in sys.argv[3:7])
objectstore = sys.argv[7]
started = time.time()
daemons = []
log = open(os.path.join(base, "launcher.log"), "a")


def say(obj):
    print(json.dumps(obj), flush=True)


def run(*args, **kw):
    return subprocess.run(args, check=True, stdout=subprocess.PIPE, stderr=log, env=env, timeout=120, **kw).stdout


def wait(what, ready, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if ready():
            return
        for name, d in daemons:
            if d.poll() is not None:
                raise SystemExit(f"{name} exited with {d.returncode}; see {base}/log")
        time.sleep(0.2)
    raise SystemExit(f"{what} not ready after {seconds} s; see {base}/log")


def start(name, *args):
    daemons.append((name, subprocess.Popen(args, env=env, stdout=log, stderr=log)))


def stop():
    # radosgw first, the monitor last: a client never outlives what it talks to.
    for _, d in reversed(daemons):
        if d.poll() is None:
            d.terminate()
    for _, d in reversed(daemons):
        try:
            d.wait(timeout=10)
        except subprocess.TimeoutExpired:
            d.kill()
            d.wait()


conf = os.path.join(base, "ceph.conf")
env = dict(os.environ, CEPH_CONF=conf)
for d in ("mon/ceph-a", "osd/ceph-0", "rgw", "run", "log"):
    os.makedirs(os.path.join(base, d), exist_ok=True)
fsid = run("uuidgen").decode().strip()
mon_addr = f"[v2:127.0.0.1:{mon_port}]"
with open(conf, "w") as f:
    f.write(f"""[global]
fsid = {fsid}
mon host = {mon_addr}
mon initial members = a
public network = 127.0.0.0/8
ms bind ipv6 = false
ms bind msgr1 = false
ms bind port min = {port_min}
ms bind port max = {port_max}
keyring = {base}/$cluster.$name.keyring
run dir = {base}/run
log file = {base}/log/$name.log
admin socket = {base}/run/$name.asok
pid file = {base}/run/$name.pid
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
mon data avail warn = 1
osd crush chooseleaf type = 0
[mon]
mon data = {base}/mon/$cluster-$id
[osd]
osd data = {base}/osd/$cluster-$id
osd objectstore = {objectstore}
osd memory target = 1073741824
bluestore block create = true
bluestore block size = 21474836480
memstore device bytes = 4294967296
osd max object name len = 256
osd max object namespace len = 64
[client.rgw.a]
rgw data = {base}/rgw
rgw frontends = beast endpoint=127.0.0.1:{rgw_port}
rgw dns name = 127.0.0.1
rgw thread pool size = 64
""")
try:
    # cephx as on a real cluster: the mon's and admin's keys, and the OSD's and radosgw's below.
    k = base + "/ceph"
    run("ceph-authtool", "--create-keyring", k + ".mon.keyring", "--gen-key", "-n", "mon.", "--cap", "mon", "allow *")
    run("ceph-authtool", "--create-keyring", k + ".client.admin.keyring", "--gen-key", "-n", "client.admin",
        "--cap", "mon", "allow *", "--cap", "osd", "allow *", "--cap", "mgr", "allow *")
    run("ceph-authtool", k + ".mon.keyring", "--import-keyring", k + ".client.admin.keyring")
    shutil.copy(k + ".mon.keyring", k + ".mon.a.keyring")
    run("monmaptool", "--create", "--addv", "a", mon_addr, "--fsid", fsid, base + "/monmap")
    run("ceph-mon", "--mkfs", "-i", "a", "--monmap", base + "/monmap", "--keyring", k + ".mon.keyring")
    start("ceph-mon", "ceph-mon", "-f", "-i", "a")
    wait("ceph-mon", lambda: subprocess.run(["ceph", "-s", "--connect-timeout", "2"], env=env, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL).returncode == 0)
    osd_uuid = run("uuidgen").decode().strip()
    secret = run("ceph-authtool", "--gen-print-key").decode().strip()
    with open(base + "/osd-new.json", "w") as f:
        json.dump({"cephx_secret": secret}, f)
    osd_id = run("ceph", "osd", "new", osd_uuid, "-i", base + "/osd-new.json").decode().strip()
    run("ceph-authtool", "--create-keyring", f"{k}.osd.{osd_id}.keyring", "--name", f"osd.{osd_id}", "--add-key", secret)
    run("ceph-osd", "-i", osd_id, "--mkfs", "--osd-uuid", osd_uuid)
    start("ceph-osd", "ceph-osd", "-f", "-i", osd_id)
    wait("ceph-osd", lambda: b"1 up" in run("ceph", "osd", "stat"))
    run("ceph", "auth", "get-or-create", "client.rgw.a", "mon", "allow rw", "osd", "allow rwx",
        "-o", k + ".client.rgw.a.keyring")
    start("radosgw", "radosgw", "-f", "-n", "client.rgw.a")

    def answers():
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{rgw_port}/", timeout=2).read()
            return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False
    wait("radosgw", answers)
    users = {}
    for uid in ("cv", "node"):
        users[uid] = json.loads(run("radosgw-admin", "user", "create", f"--uid={uid}", f"--display-name={uid}"))["keys"][0]
except BaseException as e:
    stop()
    say({"error": str(e)})
    shutil.rmtree(base, ignore_errors=True)
    raise SystemExit(1)

import boto3  # after the cluster is up: its import takes a second the daemons can use
from botocore.config import Config
endpoint = f"http://127.0.0.1:{rgw_port}"
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=users["cv"]["access_key"],
                  aws_secret_access_key=users["cv"]["secret_key"], config=Config(s3={"addressing_style": "path"}))
say({"endpoint": endpoint, "access_key": users["cv"]["access_key"], "secret_key": users["cv"]["secret_key"],
     "node_access_key": users["node"]["access_key"], "node_secret_key": users["node"]["secret_key"],
     "seconds": round(time.time() - started, 1)})


def bucket(name, *flags):
    s3.create_bucket(Bucket=name, **({"ObjectLockEnabledForBucket": True} if "lock" in flags else {}))
    if "versioned" in flags:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    if "node" in flags:
        # RGW makes the writer of an object its owner, and its ACL then keeps even the bucket owner
        # out: the pruning user must be granted the objects too (README "Security").
        resources = [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]
        s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam:::user/node"]},
             "Action": ["s3:PutObject", "s3:GetObject", "s3:ListBucket"], "Resource": resources},
            {"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam:::user/cv"]}, "Action": ["s3:*"],
             "Resource": resources}]}))


try:
    import select
    while os.getppid() == parent and all(d.poll() is None for _, d in daemons):
        ready, _, _ = select.select([sys.stdin], [], [], 0.5)
        if not ready:
            continue
        line = sys.stdin.readline()
        if not line:
            break
        words = line.split()
        try:
            if words[0] == "bucket":
                bucket(*words[1:])
            say({"ok": True})
        except Exception as e:
            say({"error": str(e)})
finally:
    stop()
    shutil.rmtree(base, ignore_errors=True)
