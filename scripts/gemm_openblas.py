#!/usr/bin/python3
"""Time one float32 matrix multiply in OpenBLAS and print `mechinterp bench
gemm`'s JSON keys, so the two run side by side (scripts/bench-gemm.sh).

C = op(A) op(B), row-major, alpha 1, beta 0, through cblas_sgemm of Debian's
libopenblas (apt-get install libopenblas0-pthread), called with ctypes: no
Python-level copies, no NumPy dispatch in the timed loop. Kept out of the Go
build on purpose: the default build has no cgo and no system library.
"""
import argparse
import ctypes
import ctypes.util
import json
import os
import random
import time

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112


def load():
    for name in ("libopenblas.so.0", ctypes.util.find_library("openblas")):
        if name:
            try:
                return ctypes.CDLL(name)
            except OSError:
                pass
    raise SystemExit("gemm_openblas.py: libopenblas not found (apt-get install libopenblas0-pthread)")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--m", type=int, default=512)
    p.add_argument("--n", type=int, default=512)
    p.add_argument("--k", type=int, default=512)
    p.add_argument("--trans-a", action="store_true")
    p.add_argument("--trans-b", action="store_true")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    lib = load()
    lib.openblas_set_num_threads(a.threads)
    m, n, k = a.m, a.n, a.k
    Arr = lambda size: (ctypes.c_float * size)(*[random.uniform(-1, 1) for _ in range(size)])
    A, B, C = Arr(m * k), Arr(k * n), (ctypes.c_float * (m * n))()
    lda = m if a.trans_a else k
    ldb = k if a.trans_b else n
    f = lib.cblas_sgemm
    f.restype = None
    f.argtypes = [ctypes.c_int] * 6 + [ctypes.c_float, ctypes.c_void_p, ctypes.c_int,
                                       ctypes.c_void_p, ctypes.c_int, ctypes.c_float,
                                       ctypes.c_void_p, ctypes.c_int]
    ta = TRANS if a.trans_a else NO_TRANS
    tb = TRANS if a.trans_b else NO_TRANS
    pa, pb, pc = ctypes.addressof(A), ctypes.addressof(B), ctypes.addressof(C)

    def run():
        f(ROW_MAJOR, ta, tb, m, n, k, 1.0, pa, lda, pb, ldb, 0.0, pc, n)

    for _ in range(3):
        run()
    start, done = time.perf_counter(), 0
    while done < a.steps or time.perf_counter() - start < 0.2:
        run()
        done += 1
    dt = (time.perf_counter() - start) / done
    print(json.dumps({"workload": "gemm", "impl": "openblas", "m": m, "n": n, "k": k,
                      "trans_a": a.trans_a, "trans_b": a.trans_b, "threads": a.threads,
                      "gflops": 2 * m * n * k / dt / 1e9, "ms_per_op": dt * 1e3}))


if __name__ == "__main__":
    main()
