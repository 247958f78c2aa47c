#!/usr/bin/env python3
"""Where the bytes go: per file type, what each compression choice would store.

    python3 Tests/Benchmarks/bytes-by-type.py DIR [DIR...]

Cuts every file into 1 MiB pieces (close to chainvault's average chunk) and compresses each with
libzstd (through ctypes, no package needed) several ways: levels 1, 2, 3, the chooser chainvault
used up to session 6 (a 16 KiB sample from the middle at level 1: raw unless it shrinks by 1/16,
level 3 only if it saves 0.1 % more than level 1; a result kept only if it saves 1/32),
session 7's ("session 7": a sample that does not shrink sends the whole chunk to level 3, output
kept when it saves 1/256), the current one ("now (both)": BlobCodec.chooseLevel, as session 7's,
but a sample that halves at level 1 sends the chunk to both levels and the smaller is kept) and
alternatives to it. Prints stored bytes per file type,
so a rule is chosen from the numbers, and the CPU seconds each rule spent (libzstd's, single thread).
"""
import ctypes, os, sys, time
from collections import defaultdict

z = ctypes.CDLL("libzstd.so.1")
z.ZSTD_compressBound.restype = ctypes.c_size_t
z.ZSTD_createCCtx.restype = ctypes.c_void_p
z.ZSTD_compressCCtx.restype = ctypes.c_size_t
z.ZSTD_compressCCtx.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t,
                                ctypes.c_int]
z.ZSTD_isError.argtypes = [ctypes.c_size_t]
DST = ctypes.create_string_buffer(z.ZSTD_compressBound(8 << 20))
CCTX = ctypes.c_void_p(z.ZSTD_createCCtx())


def zsize(data, level):
    n = z.ZSTD_compressCCtx(CCTX, DST, len(DST), data, len(data), level)
    assert not z.ZSTD_isError(n)
    return n


def keep(raw, n):
    return n if n < raw - raw // 32 else raw


def chooser_old(chunk):
    if len(chunk) < 64 << 10: return keep(len(chunk), zsize(chunk, 3))
    start = (len(chunk) // 2) & ~4095
    piece = chunk[start:start + (16 << 10)]
    fast = zsize(piece, 1)
    if fast >= len(piece) - len(piece) // 16: return len(chunk)
    strong = zsize(piece, 3)
    return keep(len(chunk), zsize(chunk, 3 if strong < fast - fast // 1024 else 1))


def chooser_new(chunk, raw_level=3, keep_div=256):
    # Mirrors BlobCodec.chooseLevel: the old sample still picks level 1 or 3 for data it sees
    # compress; a sample that looks incompressible no longer means raw: the whole chunk goes to
    # zstd (cheap on truly random data, which zstd skips through) and is kept if it saves 1/keep_div.
    small = lambda n: n if n < len(chunk) - len(chunk) // keep_div else len(chunk)
    if len(chunk) < 64 << 10: return small(zsize(chunk, 3))
    start = (len(chunk) // 2) & ~4095
    piece = chunk[start:start + (16 << 10)]
    fast = zsize(piece, 1)
    if fast >= len(piece) - len(piece) // 16:
        n = zsize(chunk, raw_level)
        return n if n < len(chunk) - len(chunk) // keep_div else len(chunk)
    strong = zsize(piece, 3)
    return small(zsize(chunk, 3 if strong < fast - fast // 1024 else 1))


def chooser_both(chunk, keep_div=256):
    # BlobCodec.chooseLevel since session 9: as "now", but a sample that shrinks to less than half
    # at level 1 sends the chunk to both levels 1 and 3 and keeps the smaller (the sample does not
    # predict such chunks: whole chunks went either way by 5-35 %).
    if len(chunk) >= 64 << 10:
        start = (len(chunk) // 2) & ~4095
        piece = chunk[start:start + (16 << 10)]
        if zsize(piece, 1) < len(piece) // 2:
            n = min(zsize(chunk, 1), zsize(chunk, 3))
            return n if n < len(chunk) - len(chunk) // keep_div else len(chunk)
    return chooser_new(chunk, 3, keep_div)


def kind(path):
    name = os.path.basename(path)
    for prefix, k in (("blk", "block files"), ("rev", "undo files")):
        if name.startswith(prefix) and name.endswith(".dat"): return k
    if name.endswith((".ldb", ".sst")): return "leveldb/pebble tables"
    if name.endswith(".era1"): return "era1"
    if name.endswith((".cdat", ".rdat", ".cidx", ".ridx")) or "ancient" in path: return "freezer"
    return "other"


def main():
    ways = {"raw": lambda c: len(c), "zstd -1": lambda c: keep(len(c), zsize(c, 1)),
            "zstd -3": lambda c: keep(len(c), zsize(c, 3)), "old chooser": chooser_old, "session 7": chooser_new, "now (both)": chooser_both,
            "alt 3, 1/32": lambda c: chooser_new(c, 3, 32), "alt 2, 1/256": lambda c: chooser_new(c, 2, 256),
            "alt -1, 1/256": lambda c: chooser_new(c, -1, 256)}
    totals = defaultdict(lambda: defaultdict(int))
    cpu = defaultdict(float)
    for root in sys.argv[1:]:
        for d, _, files in os.walk(root):
            for f in sorted(files):
                p = os.path.join(d, f)
                if os.path.islink(p) or not os.path.isfile(p): continue
                with open(p, "rb") as fh: data = fh.read()
                for i in range(0, max(len(data), 1), 1 << 20):
                    chunk = data[i:i + (1 << 20)]
                    for w, fn in ways.items():
                        t = time.thread_time()
                        totals[kind(p)][w] += fn(chunk)
                        cpu[w] += time.thread_time() - t
    names = list(ways)
    print("%-22s" % "file type" + "".join("%14s" % w for w in names))
    grand = defaultdict(int)
    for k in sorted(totals):
        print("%-22s" % k + "".join("%14d" % totals[k][w] for w in names))
        for w in names: grand[w] += totals[k][w]
    print("%-22s" % "total" + "".join("%14d" % grand[w] for w in names))
    print("%-22s" % "vs raw" + "".join("%14.4f" % (grand[w] / max(grand["raw"], 1)) for w in names))
    print("%-22s" % "CPU s (this script)" + "".join("%14.2f" % cpu[w] for w in names))


if __name__ == "__main__":
    main()
