"""The BLAS torch runs on, as every PyTorch baseline in this folder reports it.

`finemed bench` compares its engine with these baselines only when torch uses OpenBLAS with the
core type the CLI asked for (OPENBLAS_CORETYPE), so each script prints this report beside its
timings.
"""
import ctypes


def blas_info():
    """The BLAS/LAPACK libraries mapped into this process and, for OpenBLAS, its core and config."""
    libs = set()
    with open('/proc/self/maps') as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and ('blas' in parts[-1] or 'lapack' in parts[-1]):
                libs.add(parts[-1])
    info = {'libraries': sorted(libs), 'corename': None, 'threads': None, 'config': None}
    for path in sorted(libs):
        if 'openblas' not in path:
            continue
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_get_config.restype = ctypes.c_char_p
            info['corename'] = lib.openblas_get_corename().decode()
            info['config'] = lib.openblas_get_config().decode()
            info['threads'] = lib.openblas_get_num_threads()
        except (OSError, AttributeError):
            pass
    return info
