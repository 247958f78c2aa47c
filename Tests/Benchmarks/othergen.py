#!/usr/bin/env python3
"""Chain-like data from a generator that is not chainvault's (`chainvault demo --generate`).

    python3 Tests/Benchmarks/othergen.py DIR [--size 1G] [--seed N] [--advance]

Written independently of the backup tool and never tuned against it: its own record layouts
(16 MiB block files, a Pebble-style store of .sst tables, an era1 archive, a geth freezer with
index files) and its own entropy mix (address reuse from a Zipf-like pool, signatures and hashes
random, some tables deflate-compressed, some not), plus what else a node's directory holds: small
JSON/TOML configs and files compressed already (gzip'd logs, an xz'd state snapshot). `--advance` does a day: appends blocks and
undo data, adds and deletes tables, appends to the freezer. Deterministic for a seed.
"""
import argparse, gzip, json, lzma, os, random, struct, zlib

MIB = 1 << 20


def parse_size(s):
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(s[-1].upper(), 1)
    return int(float(s.rstrip("KMGkmg")) * mult)


def varint(n):
    # Bitcoin CompactSize.
    if n < 0xFD: return bytes([n])
    if n <= 0xFFFF: return b"\xfd" + struct.pack("<H", n)
    return b"\xfe" + struct.pack("<I", n)


class Pools:
    """Addresses and public keys that transactions reuse, most of them rarely, a few often."""

    def __init__(self, rng):
        self.rng = rng
        self.hashes = [rng.randbytes(20) for _ in range(20000)]
        self.pubkeys = [b"\x02" + rng.randbytes(32) for _ in range(20000)]
        self.recent_txids = [rng.randbytes(32) for _ in range(512)]

    def pick(self, pool):
        # Skewed: index = n * u^3 puts most picks on the first few percent of the pool.
        u = self.rng.random()
        return pool[int(len(pool) * u * u * u)]


def transaction(rng, pools):
    segwit = rng.random() < 0.6
    ins, outs = 1 + int(rng.expovariate(0.7)), 1 + int(rng.expovariate(0.9))
    body = [struct.pack("<i", 2 if segwit else 1)]
    if segwit: body.append(b"\x00\x01")
    body.append(varint(ins))
    spent = []
    for _ in range(ins):
        prev = pools.pick(pools.recent_txids) if rng.random() < 0.3 else rng.randbytes(32)
        body.append(prev + struct.pack("<I", rng.randrange(4)))
        if segwit:
            body.append(b"\x00")
        else:
            sig = b"\x30\x45\x02\x21\x00" + rng.randbytes(32) + b"\x02\x20" + rng.randbytes(32) + b"\x01"
            script = bytes([len(sig)]) + sig + b"\x21" + pools.pick(pools.pubkeys)
            body.append(varint(len(script)) + script)
        body.append(b"\xff\xff\xff\xfe")
        spent.append(rng.randrange(1, 5_000_000_000))
    body.append(varint(outs))
    for _ in range(outs):
        value = rng.choice([rng.randrange(546, 100_000), rng.randrange(1, 50) * 1_000_000, rng.randrange(1 << 33)])
        kind = rng.random()
        if kind < 0.5: script = b"\x00\x14" + pools.pick(pools.hashes)
        elif kind < 0.8: script = b"\x76\xa9\x14" + pools.pick(pools.hashes) + b"\x88\xac"
        elif kind < 0.95: script = b"\x51\x20" + rng.randbytes(32)
        else: script = b"\x6a\x20" + ("memo %08d " % rng.randrange(10**8)).encode() + rng.randbytes(18)
        body.append(struct.pack("<q", value) + varint(len(script)) + script)
    if segwit:
        for _ in range(ins):
            sig = b"\x30\x44\x02\x20" + rng.randbytes(32) + b"\x02\x20" + rng.randbytes(32) + b"\x01"
            body.append(b"\x02" + bytes([len(sig)]) + sig + b"\x21" + pools.pick(pools.pubkeys))
    body.append(struct.pack("<I", 0))
    tx = b"".join(body)
    pools.recent_txids[rng.randrange(len(pools.recent_txids))] = rng.randbytes(32)
    return tx, spent


def block(rng, pools, height, when):
    txs, undo = [], [varint(0)]
    target = rng.randrange(200_000, 1_500_000)
    size = 0
    while size < target:
        tx, spent = transaction(rng, pools)
        txs.append(tx); size += len(tx)
        undo.append(varint(len(spent)))
        for value in spent:
            undo.append(varint(height - rng.randrange(min(height, 50000) + 1)) + varint(value // 1000) +
                        b"\x00" + pools.pick(pools.hashes))
    header = struct.pack("<I", 0x20000000) + rng.randbytes(32) + rng.randbytes(32) + \
        struct.pack("<III", when, 0x17034219, rng.randrange(1 << 32))
    return header + varint(len(txs)) + b"".join(txs), b"".join(undo)


def append_blocks(root, rng, pools, nbytes, state):
    os.makedirs(os.path.join(root, "blocks"), exist_ok=True)
    written = 0
    while written < nbytes:
        blk, rev = block(rng, pools, state["height"], state["time"])
        state["height"] += 1; state["time"] += 540 + rng.randrange(120)
        n = state["file"]
        path = os.path.join(root, "blocks", "blk%05d.dat" % n)
        if os.path.exists(path) and os.path.getsize(path) + len(blk) > 16 * MIB:
            state["file"] = n = n + 1
            path = os.path.join(root, "blocks", "blk%05d.dat" % n)
        with open(path, "ab") as f: f.write(b"\xf9\xbe\xb4\xd9" + struct.pack("<I", len(blk)) + blk)
        with open(os.path.join(root, "blocks", "rev%05d.dat" % n), "ab") as f:
            f.write(b"\xf9\xbe\xb4\xd9" + struct.pack("<I", len(rev)) + rev + rng.randbytes(32))
        written += len(blk) + len(rev) + 48


def sst_table(rng, pools, nbytes):
    """A Pebble/LevelDB-style table: 4 KiB data blocks of prefix-compressed keys and values,
    about two thirds of them deflated (real stores use snappy or zstd), an index block, a footer."""
    out, index, last = [], [], b""
    size = 0
    while size < nbytes:
        entries, prev = [], b""
        while sum(map(len, entries)) < 4096:
            key = b"c" + rng.randbytes(32) + struct.pack(">H", rng.randrange(8))
            shared = 0
            while shared < min(len(key), len(prev)) and key[shared] == prev[shared]: shared += 1
            value = varint(rng.randrange(1 << 20)) + varint(rng.randrange(1 << 30)) + pools.pick(pools.hashes)
            entries.append(varint(shared) + varint(len(key) - shared) + varint(len(value)) + key[shared:] + value)
            prev = key
        raw = b"".join(entries)
        if rng.random() < 0.66:
            payload, kind = zlib.compress(raw, 1)[2:-4], 2
        else:
            payload, kind = raw, 0
        block = payload + bytes([kind]) + struct.pack("<I", zlib.crc32(payload) & 0xFFFFFFFF)
        index.append(prev + struct.pack("<QQ", size, len(payload)))
        out.append(block); size += len(block); last = prev
    idx = b"".join(index)
    footer = struct.pack("<QQQQ", size, len(idx), 0, 0) + b"\x00" * 8 + struct.pack("<Q", 0xF09FAAB3F09FAAB3)
    return b"".join(out) + idx + footer


def write_tables(root, rng, pools, nbytes, state):
    d = os.path.join(root, "pebble")
    os.makedirs(d, exist_ok=True)
    written = 0
    while written < nbytes:
        t = sst_table(rng, pools, rng.randrange(3 * MIB, 5 * MIB))
        with open(os.path.join(d, "%06d.sst" % state["table"]), "wb") as f: f.write(t)
        state["table"] += 1; written += len(t)
    live = sorted(n for n in os.listdir(d) if n.endswith(".sst"))
    with open(os.path.join(d, "MANIFEST-000001"), "wb") as f:
        for n in live: f.write(b"\x02" + varint(int(n[:6])) + rng.randbytes(24))
    with open(os.path.join(d, "OPTIONS-000003"), "w") as f:
        f.write("[Version]\n  pebble_version=0.1\n[Options]\n  bytes_per_sync=524288\n  cache_size=8388608\n"
                "  l0_compaction_threshold=4\n  max_open_files=1000\n  mem_table_size=67108864\n")
    with open(os.path.join(d, "LOG"), "a") as f:
        for i in range(2000):
            f.write("2024/03/%02d 12:%02d:%02d.%06d [JOB %d] compacted L%d [%06d] -> L%d: %d bytes\n" % (
                1 + i % 28, i % 60, (i * 7) % 60, rng.randrange(10**6), i, i % 6, rng.randrange(10**6), i % 6 + 1,
                rng.randrange(1 << 25)))


def era1(rng, pools, nbytes, path):
    """e2store entries (type, length, reserved) of deflated header/body/receipt records with the
    per-block total difficulty and an accumulator, like era1 files."""
    parts, size, number = [struct.pack("<HIH", 0x3265, 0, 0)], 0, 0
    while size < nbytes:
        header = b"\xf9\x02\x10" + rng.randbytes(32) + rng.randbytes(32) + pools.pick(pools.hashes) + \
            rng.randbytes(96) + struct.pack(">QQQ", number, 30_000_000, rng.randrange(30_000_000)) + b"\x00" * 256
        body = b"".join(transaction(rng, pools)[0] for _ in range(rng.randrange(5, 60)))
        receipts = b"".join(b"\xf9\x01\x09\x01" + struct.pack(">Q", rng.randrange(1 << 40)) + b"\x00" * 256 +
                            pools.pick(pools.hashes) * 2 for _ in range(rng.randrange(5, 60)))
        for kind, data in ((0x03, header), (0x04, body), (0x05, receipts)):
            c = zlib.compress(data, 6)
            parts.append(struct.pack("<HIH", kind, len(c), 0) + c); size += len(c) + 8
        parts.append(struct.pack("<HIH", 0x06, 32, 0) + struct.pack("<QQQQ", 0, 0, 0, number * 17_000_000_000))
        number += 1
    parts.append(struct.pack("<HIH", 0x07, 32, 0) + rng.randbytes(32))
    with open(path, "wb") as f: f.write(b"".join(parts))


def append_freezer(root, rng, pools, nbytes):
    d = os.path.join(root, "geth", "ancient", "chain")
    os.makedirs(d, exist_ok=True)
    written = 0
    tables = {"headers": 0.25, "bodies": 0.45, "receipts": 0.25, "hashes": 0.05}
    for name, share in tables.items():
        data_path = os.path.join(d, name + (".0000.rdat" if name == "hashes" else ".0000.cdat"))
        index_path = os.path.join(d, name + ".cidx")
        offset = os.path.getsize(data_path) if os.path.exists(data_path) else 0
        items, idx = [], []
        goal = int(nbytes * share)
        while written < goal:
            if name == "hashes": item = rng.randbytes(32)
            elif name == "headers": item = zlib.compress(b"\xf9\x02\x11" + rng.randbytes(200) + b"\x00" * 300, 1)
            elif name == "bodies": item = zlib.compress(transaction(rng, pools)[0] * 1, 1)
            else: item = zlib.compress(b"\x00" * 200 + pools.pick(pools.hashes) * 8 + rng.randbytes(64), 1)
            items.append(item); offset += len(item); written += len(item) + 6
            idx.append(struct.pack(">HI", 0, offset & 0xFFFFFFFF))
        with open(data_path, "ab") as f: f.write(b"".join(items))
        with open(index_path, "ab") as f: f.write(b"".join(idx))
        written = 0


def write_extras(root, seed, nbytes):
    """What a node's directory holds besides its chain: small JSON/TOML configs and peer lists,
    and files that are compressed already (rotated gzip logs, an xz'd snapshot of state). A
    separate generator stream, so the chain files above are the same with or without them."""
    rng = random.Random(seed * 7919 + 3)
    d = os.path.join(root, "config")
    os.makedirs(d, exist_ok=True)
    for i in range(120):
        doc = {"chain": "mainnet", "version": "1.%d.%d" % (rng.randrange(20), rng.randrange(10)),
               "peers": [{"id": rng.randbytes(32).hex(), "addr": "10.%d.%d.%d:30303" % tuple(rng.randrange(256) for _ in
                                                                                        range(3)),
                          "score": rng.randrange(-100, 100)} for _ in range(rng.randrange(1, 40))],
               "cache": {"size": rng.choice([256, 1024, 4096]), "gc": rng.random() < 0.5}}
        with open(os.path.join(d, "node-%03d.json" % i), "w") as f: json.dump(doc, f, indent=2)
    with open(os.path.join(d, "app.toml"), "w") as f:
        f.write("".join('%s_%d = "%s"\n' % (rng.choice(["min", "max", "rpc", "p2p"]), i, rng.randbytes(8).hex())
                        for i in range(400)))
    logs = os.path.join(root, "logs")
    os.makedirs(logs, exist_ok=True)
    written, n = 0, 0
    while written < nbytes * 2 // 3:
        lines = "".join("2024-%02d-%02dT%02d:%02d:%02dZ INFO imported block height=%d hash=%s txs=%d peers=%d\n" % (
            1 + n % 12, 1 + rng.randrange(28), rng.randrange(24), rng.randrange(60), rng.randrange(60),
            800_000 + n * 1000 + i, rng.randbytes(32).hex(), rng.randrange(3000), rng.randrange(50))
            for i in range(20000))
        blob = gzip.compress(lines.encode(), 6, mtime=0)
        with open(os.path.join(logs, "node.log.%d.gz" % n), "wb") as f: f.write(blob)
        written += len(blob); n += 1
    state = b"".join(rng.randbytes(20) + struct.pack("<Q", rng.randrange(1 << 50)) + b"\x00" * 12
                     for _ in range(max(1, (nbytes - written) // 12)))
    with open(os.path.join(root, "state-snapshot.xz"), "wb") as f: f.write(lzma.compress(state, preset=1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("dir"); p.add_argument("--size", default="1G"); p.add_argument("--seed", type=int, default=7)
    p.add_argument("--advance", action="store_true")
    a = p.parse_args()
    total = parse_size(a.size)
    state_path = os.path.join(a.dir, ".othergen-state")
    if a.advance:
        with open(state_path) as f: state = dict(l.split() for l in f)
        state = {k: int(v) for k, v in state.items()}
        rng = random.Random(a.seed * 1000 + state["day"] + 1)
    else:
        state = {"height": 800_000, "time": 1_700_000_000, "file": 0, "table": 1, "day": 0}
        rng = random.Random(a.seed)
    pools = Pools(random.Random(a.seed))
    if not a.advance:
        os.makedirs(a.dir, exist_ok=True)
        append_blocks(a.dir, rng, pools, int(total * 0.46), state)
        write_tables(a.dir, rng, pools, int(total * 0.25), state)
        os.makedirs(os.path.join(a.dir, "era1"), exist_ok=True)
        for i in range(max(1, int(total * 0.09) // (48 * MIB) + 1)):
            era1(rng, pools, min(48 * MIB, int(total * 0.09)), os.path.join(a.dir, "era1", "mainnet-%05d.era1" % i))
        append_freezer(a.dir, rng, pools, int(total * 0.18))
        with open(os.path.join(a.dir, "nodekey"), "w") as f: f.write(rng.randbytes(32).hex())
        write_extras(a.dir, a.seed, int(total * 0.02))
    else:
        append_blocks(a.dir, rng, pools, int(total * 0.012), state)
        d = os.path.join(a.dir, "pebble")
        old = sorted(n for n in os.listdir(d) if n.endswith(".sst"))
        for n in rng.sample(old, max(1, len(old) // 12)): os.unlink(os.path.join(d, n))
        write_tables(a.dir, rng, pools, int(total * 0.02), state)
        append_freezer(a.dir, rng, pools, int(total * 0.004))
    state["day"] += 1 if a.advance else 0
    with open(state_path, "w") as f:
        for k, v in state.items(): f.write("%s %d\n" % (k, v))


if __name__ == "__main__":
    main()
