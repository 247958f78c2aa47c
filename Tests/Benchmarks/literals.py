#!/usr/bin/env python3
"""What coding zstd's literals costs and saves, per file type, under chainvault's level choice.

    python3 Tests/Benchmarks/literals.py DIR [DIR...]

Cuts every file into 1 MiB pieces (close to chainvault's average chunk) and stores each as
BlobCodec.chooseLevel does (a 16 KiB sample from the middle at level 1 decides level 1, 3 or both;
level 3 with chainLog 14; output kept when it saves 1/256), once with literals always
Huffman-coded ("always") and once with them coded only where the sample's level 1 frame with
literals raw is larger by more than 1/N of the sample ("1/N", chainvault uses 1/128). Prints
stored bytes per file type and the CPU seconds of libzstd (single thread, through ctypes).
"""
import ctypes, importlib.util, os, sys, time
from collections import defaultdict

z = ctypes.CDLL("libzstd.so.1")
z.ZSTD_compressBound.restype = ctypes.c_size_t
z.ZSTD_createCCtx.restype = ctypes.c_void_p
z.ZSTD_compress2.restype = ctypes.c_size_t
z.ZSTD_compress2.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]
z.ZSTD_CCtx_setParameter.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
z.ZSTD_CCtx_setParameter.restype = ctypes.c_size_t
z.ZSTD_CCtx_reset.argtypes = [ctypes.c_void_p, ctypes.c_int]
z.ZSTD_isError.argtypes = [ctypes.c_size_t]
DST = ctypes.create_string_buffer(z.ZSTD_compressBound(8 << 20))
CCTX = ctypes.c_void_p(z.ZSTD_createCCtx())
LEVEL, CHAIN_LOG, LITERAL_MODE, DISABLE = 100, 103, 1002, 2  # ZSTD_c_literalCompressionMode, ZSTD_ps_disable


def zsize(data, level, literals=True):
    z.ZSTD_CCtx_reset(CCTX, 2)  # ZSTD_reset_parameters
    z.ZSTD_CCtx_setParameter(CCTX, LEVEL, level)
    if level == 3: z.ZSTD_CCtx_setParameter(CCTX, CHAIN_LOG, 14)
    if not literals: z.ZSTD_CCtx_setParameter(CCTX, LITERAL_MODE, DISABLE)
    n = z.ZSTD_compress2(CCTX, DST, len(DST), data, len(data))
    assert not z.ZSTD_isError(n)
    return n


def stored(chunk, rule):
    keep = lambda n: n if n < len(chunk) - len(chunk) // 256 else len(chunk)
    if len(chunk) < 64 << 10: return keep(zsize(chunk, 3))
    start = (len(chunk) // 2) & ~4095
    piece = chunk[start:start + (16 << 10)]
    fast = zsize(piece, 1)
    literals = True if rule == 0 else zsize(piece, 1, False) > fast + len(piece) // rule
    if fast >= len(piece) - len(piece) // 16: return keep(zsize(chunk, 3, literals))
    if fast < len(piece) // 2: return keep(min(zsize(chunk, 1, literals), zsize(chunk, 3, literals)))
    level = 3 if zsize(piece, 3) < fast - fast // 1024 else 1
    return keep(zsize(chunk, level, literals))


# The file types are bytes-by-type.py's, so the two scripts' tables line up.
_spec = importlib.util.spec_from_file_location("bytes_by_type", os.path.join(os.path.dirname(__file__), "bytes-by-type.py"))
_bbt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_bbt)
kind = _bbt.kind


def main():
    chunks = []
    for root in sys.argv[1:]:
        for d, _, files in os.walk(root):
            for f in sorted(files):
                p = os.path.join(d, f)
                if os.path.islink(p) or not os.path.isfile(p): continue
                with open(p, "rb") as fh: data = fh.read()
                chunks += [(kind(p), data[i:i + (1 << 20)]) for i in range(0, max(len(data), 1), 1 << 20)]
    rules = {"always": 0, "1/64": 64, "1/128": 128, "1/512": 512}
    totals, cpu = defaultdict(lambda: defaultdict(int)), {}
    for name, rule in rules.items():
        t = time.thread_time()
        for k, c in chunks: totals[k][name] += stored(c, rule)
        cpu[name] = time.thread_time() - t
    print("%-14s" % "file type" + "".join("%14s" % r for r in rules))
    for k in sorted(totals): print("%-14s" % k + "".join("%14d" % totals[k][r] for r in rules))
    grand = {r: sum(totals[k][r] for k in totals) for r in rules}
    print("%-14s" % "total" + "".join("%14d" % grand[r] for r in rules))
    print("%-14s" % "vs always" + "".join("%14.5f" % (grand[r] / grand["always"]) for r in rules))
    print("%-14s" % "CPU s" + "".join("%14.2f" % cpu[r] for r in rules))


if __name__ == "__main__":
    main()
