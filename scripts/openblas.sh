# scripts/openblas.sh is sourced by the bench scripts before they start PyTorch
# or OpenBLAS, so that the library mechinterp is compared against runs its
# fastest kernels on this CPU. OpenBLAS 0.3.21 (Debian 12; Debian's PyTorch
# calls it too) does not know every CPU, and on one it does not know it falls
# back to older kernels: on an Intel Xeon of family 6, model 207 (Emerald
# Rapids) it chose its generic "Prescott" kernels, 31 GFLOP/s at 1024³ on one
# thread against 144-148 with its AVX-512 ("SkylakeX") kernels
# (docs/PERFORMANCE.md). A comparison against the fallback would flatter
# mechinterp. So on a CPU with AVX-512, where OpenBLAS chose other kernels,
# both are timed on a 1024³ product and the faster is kept, through
# OPENBLAS_CORETYPE. An OPENBLAS_CORETYPE the user set is kept as it is.
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  openblas_core=$(OPENBLAS_VERBOSE=2 /usr/bin/python3 -c 'import ctypes; ctypes.CDLL("libopenblas.so.0")' 2>&1 | sed -n 's/^Core: //p')
  case "$openblas_core" in
  SkylakeX | Cooperlake | SapphireRapids) ;;
  *)
    if grep -qw avx512f /proc/cpuinfo; then
      # Best of three, alternated: another process taking the core slows
      # some runs, never the best. An empty OPENBLAS_CORETYPE is not the
      # same as none (OpenBLAS then picks a default of its own), so the
      # detected kernels run with the variable removed.
      openblas_gflops() {
        for _ in 1 2 3; do
          env "$@" /usr/bin/python3 scripts/gemm_openblas.py --m 1024 --n 1024 --k 1024 --threads 1 --steps 10
        done | /usr/bin/python3 -c 'import json, sys; print(round(max(json.loads(l)["gflops"] for l in sys.stdin)))'
      }
      detected=$(openblas_gflops -u OPENBLAS_CORETYPE)
      skylakex=$(openblas_gflops OPENBLAS_CORETYPE=SkylakeX)
      if /usr/bin/python3 -c "import sys; sys.exit(not $skylakex > 1.05 * $detected)"; then
        export OPENBLAS_CORETYPE=SkylakeX
      fi
      echo "OpenBLAS at 1024³ on one thread: ${openblas_core:-unknown} kernels $detected GFLOP/s, SkylakeX $skylakex" >&2
    fi
    ;;
  esac
  echo "OpenBLAS kernels: ${OPENBLAS_CORETYPE:-${openblas_core:-unknown}} (detected: ${openblas_core:-unknown})" >&2
fi
