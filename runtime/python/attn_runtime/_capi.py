"""ctypes declarations of attn's runtime C API (runtime/include/attn_runtime/attn_runtime.h).

Kept apart from the Python API so that the one place to update when the
header changes is obvious. Nothing here knows about numpy or torch.
"""

import ctypes
import ctypes.util
import os

MAX_RANK = 8  # ATTN_MAX_RANK

# attn_status
OK = 0
STATUS_NAMES = (
    "ATTN_OK",
    "ATTN_ERROR_INVALID_ARGUMENT",
    "ATTN_ERROR_IO",
    "ATTN_ERROR_CORRUPT_ARTIFACT",
    "ATTN_ERROR_VERSION",
    "ATTN_ERROR_TARGET_MISMATCH",
    "ATTN_ERROR_SHAPE_MISMATCH",
    "ATTN_ERROR_NO_CUDA",
    "ATTN_ERROR_NO_DEVICE",
    "ATTN_ERROR_CUDA",
    "ATTN_ERROR_UNSUPPORTED",
    "ATTN_ERROR_INTERNAL",
)  # only a fallback: errors take their names from attn_status_name

# attn_dtype
DTYPE_F32, DTYPE_F16, DTYPE_BF16, DTYPE_I32, DTYPE_BOOL = range(5)
DTYPE_NAMES = {"f32": DTYPE_F32, "f16": DTYPE_F16, "bf16": DTYPE_BF16,
               "i32": DTYPE_I32, "i1": DTYPE_BOOL, "bool": DTYPE_BOOL}

# attn_device
DEVICE_CPU, DEVICE_CUDA = 0, 1


class Tensor(ctypes.Structure):
    """attn_tensor: a strided view of caller-owned memory, strides in elements.

    C enums are int-sized on every ABI the runtime targets (x86-64, AArch64
    Linux), hence c_int for dtype and device.
    """

    _fields_ = [
        ("data", ctypes.c_void_p),
        ("dtype", ctypes.c_int),
        ("device", ctypes.c_int),
        ("rank", ctypes.c_int32),
        ("shape", ctypes.c_int64 * MAX_RANK),
        ("strides", ctypes.c_int64 * MAX_RANK),
    ]


class ArgInfo(ctypes.Structure):
    """attn_arg_info: one declared input or output of a function."""

    _fields_ = [
        ("role", ctypes.c_char_p),
        ("dtype", ctypes.c_int),
        ("device", ctypes.c_int),
        ("rank", ctypes.c_int32),
        ("shape", ctypes.c_int64 * MAX_RANK),
        ("symbols", ctypes.c_char_p * MAX_RANK),
    ]


DERIVED_CEIL_DIV, DERIVED_WINDOWS = 0, 1


class DerivedSizeInfo(ctypes.Structure):
    """attn_derived_size_info: name = ceil(base / a) (DERIVED_CEIL_DIV) or
    (base - a) / b + 1 (DERIVED_WINDOWS)."""

    _fields_ = [
        ("name", ctypes.c_char_p),
        ("base", ctypes.c_char_p),
        ("kind", ctypes.c_int),
        ("a", ctypes.c_int64),
        ("b", ctypes.c_int64),
    ]


class CudaDeviceInfo(ctypes.Structure):
    """attn_cuda_device_info."""

    _fields_ = [
        ("name", ctypes.c_char * 256),
        ("major", ctypes.c_int),
        ("minor", ctypes.c_int),
        ("multiprocessors", ctypes.c_int),
        ("max_shared_memory_per_block", ctypes.c_int),
        ("driver_version", ctypes.c_int),
        ("device_count", ctypes.c_int),
    ]


def _package_dir():
    return os.path.dirname(os.path.abspath(__file__))


def candidate_paths():
    """Where load() looks for libattn_runtime.so, in order."""
    here = _package_dir()
    root = os.path.normpath(os.path.join(here, "..", "..", ".."))  # the repository
    paths = [os.path.join(here, "libattn_runtime.so")]
    # Build trees: attn's own (build/), the runtime built alone (build-rt/,
    # as runtime/CMakeLists.txt suggests), and ATTN_BUILD_DIR if set.
    builds = [os.environ.get("ATTN_BUILD_DIR"), os.path.join(root, "build"),
              os.path.join(root, "build-rt")]
    for build in filter(None, builds):
        for sub in ("runtime", "lib", ""):
            paths.append(os.path.join(build, sub, "libattn_runtime.so"))
    return paths


def _declare(lib):
    c = ctypes
    vp, cp, i = c.c_void_p, c.c_char_p, c.c_int
    lib.attn_last_error.restype = cp
    lib.attn_last_error.argtypes = []
    lib.attn_status_name.restype = cp
    lib.attn_status_name.argtypes = [i]
    lib.attn_runtime_create.restype = i
    lib.attn_runtime_create.argtypes = [i, c.POINTER(vp)]
    lib.attn_runtime_destroy.restype = None
    lib.attn_runtime_destroy.argtypes = [vp]
    lib.attn_artifact_open.restype = i
    lib.attn_artifact_open.argtypes = [cp, c.POINTER(vp)]
    lib.attn_artifact_close.restype = None
    lib.attn_artifact_close.argtypes = [vp]
    lib.attn_artifact_num_functions.restype = i
    lib.attn_artifact_num_functions.argtypes = [vp]
    lib.attn_artifact_function_name.restype = cp
    lib.attn_artifact_function_name.argtypes = [vp, i]
    lib.attn_artifact_num_inputs.restype = i
    lib.attn_artifact_num_inputs.argtypes = [vp, cp]
    lib.attn_artifact_num_outputs.restype = i
    lib.attn_artifact_num_outputs.argtypes = [vp, cp]
    lib.attn_call.restype = i
    lib.attn_call.argtypes = [vp, vp, cp, c.POINTER(Tensor), i,
                              c.POINTER(Tensor), i, vp]
    lib.attn_dtype_name.restype = cp
    lib.attn_dtype_name.argtypes = [i]
    lib.attn_runtime_num_threads.restype = i
    lib.attn_runtime_num_threads.argtypes = [vp]
    for name in ("attn_artifact_input_info", "attn_artifact_output_info"):
        getattr(lib, name).restype = i
        getattr(lib, name).argtypes = [vp, cp, i, c.POINTER(ArgInfo)]
    lib.attn_artifact_num_derived_sizes.restype = i
    lib.attn_artifact_num_derived_sizes.argtypes = [vp, cp]
    lib.attn_artifact_derived_size_info.restype = i
    lib.attn_artifact_derived_size_info.argtypes = [vp, cp, i,
                                                    c.POINTER(DerivedSizeInfo)]
    lib.attn_artifact_info.restype = cp
    lib.attn_artifact_info.argtypes = [vp, cp]
    lib.attn_cuda_device.restype = i
    lib.attn_cuda_device.argtypes = [i, c.POINTER(CudaDeviceInfo)]
    return lib


_lib = None


def load():
    """The runtime library, loaded once: $ATTN_RUNTIME_LIB if set (and then
    only that), else the first of candidate_paths() that exists, else the
    dynamic linker's search (LD_LIBRARY_PATH, ldconfig)."""
    global _lib
    if _lib is not None:
        return _lib
    explicit = os.environ.get("ATTN_RUNTIME_LIB")
    if explicit:
        # An explicit choice that fails must not fall back to another build.
        try:
            _lib = _declare(ctypes.CDLL(explicit))
        except OSError as e:
            raise OSError("attn_runtime: cannot load ATTN_RUNTIME_LIB=%s: %s"
                          % (explicit, e)) from e
        return _lib
    tried = []
    for path in candidate_paths():
        if os.path.exists(path):
            _lib = _declare(ctypes.CDLL(path))
            return _lib
        tried.append(path)
    found = ctypes.util.find_library("attn_runtime")
    try:
        _lib = _declare(ctypes.CDLL(found or "libattn_runtime.so"))
        return _lib
    except OSError:
        pass
    raise OSError(
        "attn_runtime: cannot find libattn_runtime.so; set ATTN_RUNTIME_LIB "
        "to its path, or build it (ninja attn_runtime). Looked at: "
        + ", ".join(tried) + ", and the dynamic linker's search path")
