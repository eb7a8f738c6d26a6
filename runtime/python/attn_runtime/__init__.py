"""Call the functions of an attn artifact on numpy arrays and PyTorch tensors.

    import numpy as np, attn_runtime
    art = attn_runtime.Artifact("out/")          # attn-compile ... -o out/
    o = art("causal_gqa", q, k, v)               # allocates o like q
    art.call("causal_gqa", [q, k, v], [o])       # or writes into o

A thin ctypes layer over the runtime's C API (libattn_runtime.so): tensors
are passed as data pointers with shapes and strides, never copied; CUDA
tensors run on the current PyTorch stream. Errors raise AttnError with the
runtime's status and message. numpy and torch are both optional: each is
imported only when a value of its kind is passed or an output of its kind is
made. docs/runtime.md is the user's guide.
"""

import ctypes
import json
import os
import threading
from collections import namedtuple

from . import _capi

__all__ = ["AttnError", "Artifact", "Runtime", "ArgSpec", "FunctionSpec",
           "default_runtime", "cuda_device"]


class AttnError(Exception):
    """A runtime call failed: `status` (int), `status_name`
    ("ATTN_ERROR_SHAPE_MISMATCH", ...) and `message`, the runtime's own
    description of the cause."""

    def __init__(self, status, message, status_name=None):
        self.status = int(status)
        if status_name is None:
            names = _capi.STATUS_NAMES
            status_name = names[self.status] if 0 <= self.status < len(names) \
                else "status %d" % self.status
        self.status_name = status_name
        self.message = message
        super().__init__("%s: %s" % (self.status_name, message))


def _check(lib, status):
    if status != _capi.OK:
        name = (lib.attn_status_name(status) or b"").decode() or None
        message = (lib.attn_last_error() or b"").decode("utf-8", "replace")
        raise AttnError(status, message or name or "", name)


def _status(name):
    return _capi.STATUS_NAMES.index(name)


class Runtime:
    """A CPU thread pool (threads <= 0: one per core) and, on first GPU use,
    the CUDA primary context. One is shared by default; make your own to
    choose the thread count."""

    def __init__(self, threads=0):
        self._lib = _capi.load()
        handle = ctypes.c_void_p()
        _check(self._lib, self._lib.attn_runtime_create(int(threads),
                                                        ctypes.byref(handle)))
        self._handle = handle

    @property
    def threads(self):
        """Threads a CPU call uses, the calling one included."""
        return self._lib.attn_runtime_num_threads(self._handle)

    def close(self):
        if getattr(self, "_handle", None):
            self._lib.attn_runtime_destroy(self._handle)
            self._handle = None

    def __del__(self):
        self.close()


_default = None
_default_lock = threading.Lock()


def default_runtime():
    """The runtime that Artifacts share unless given one: all cores."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Runtime(0)
        return _default


ArgSpec = namedtuple("ArgSpec", "name dtype shape")
ArgSpec.__doc__ = """An input or output as the runtime describes it: `name`
(its role: query, key, value, gates, active, out, or ""), `dtype` (f32, f16,
bf16, i32, bool) and `shape`, ints where fixed and names (B, Sq, Skv, ...)
where dynamic."""

FunctionSpec = namedtuple("FunctionSpec", "name inputs outputs kernels device derived",
                          defaults=((),))
FunctionSpec.__doc__ = """A function: ArgSpecs of its inputs and outputs, its
kernels' manifest entries (dicts with op, pattern, scale, gates, ...), the
device its tensors live on ("cpu" or "cuda") and its derived sizes
(DerivedSize, in the order they are bound)."""

DerivedSize = namedtuple("DerivedSize", "name base rule a b")
DerivedSize.__doc__ = """A size a function derives from another at each call:
`rule` "ceil_div" (ceil(base / a)) or "windows" ((base - a) / b + 1, windows
of a positions every b; a call with base < a is refused)."""


def _derive(d, base):
    """The value of derived size `d` for `base`; None where the runtime will
    refuse the call (a window longer than its size)."""
    if d.rule == "ceil_div":
        return -(-base // d.a)
    return None if base < d.a else (base - d.a) // d.b + 1


def _arg_spec(lib, info):
    shape = tuple(info.symbols[d].decode() if info.symbols[d] else int(info.shape[d])
                  for d in range(info.rank))
    return ArgSpec((info.role or b"").decode(),
                   (lib.attn_dtype_name(info.dtype) or b"?").decode(), shape)


# -- Values -> attn_tensor ---------------------------------------------------

_NUMPY_DTYPES = {"float32": _capi.DTYPE_F32, "float16": _capi.DTYPE_F16,
                 "int32": _capi.DTYPE_I32, "bool": _capi.DTYPE_BOOL,
                 # One byte 0/1, as the runtime's bool.
                 "uint8": _capi.DTYPE_BOOL,
                 # numpy has no bf16: raw bits in uint16, or ml_dtypes' type.
                 "uint16": _capi.DTYPE_BF16, "bfloat16": _capi.DTYPE_BF16}

_NUMPY_ALLOC = {"f32": "float32", "f16": "float16", "bf16": "uint16",
                "i32": "int32", "bool": "bool"}


def _is_torch(x):
    return type(x).__module__.split(".")[0] == "torch"


def _torch_dtypes(torch):
    return {torch.float32: _capi.DTYPE_F32, torch.float16: _capi.DTYPE_F16,
            torch.bfloat16: _capi.DTYPE_BF16, torch.int32: _capi.DTYPE_I32,
            torch.bool: _capi.DTYPE_BOOL,
            # Gates as one byte 0/1 (a mask made with .to(torch.uint8)), as
            # numpy's uint8: the runtime's bool is a byte, nonzero = on.
            torch.uint8: _capi.DTYPE_BOOL}


def _fill(view, shape, strides):
    if len(shape) > _capi.MAX_RANK:
        raise ValueError("attn_runtime: rank %d is more than the runtime's %d"
                         % (len(shape), _capi.MAX_RANK))
    view.rank = len(shape)
    for d, (size, stride) in enumerate(zip(shape, strides)):
        view.shape[d] = int(size)
        view.strides[d] = int(stride)


def _view(x, what, writable):
    """attn_tensor over x's own memory. Returns (view, torch device or None)."""
    view = _capi.Tensor()
    if _is_torch(x):
        import torch
        dtype = _torch_dtypes(torch).get(x.dtype)
        if dtype is None:
            raise TypeError("attn_runtime: %s is %s; attn takes float32, float16, "
                            "bfloat16, int32 and bool (or uint8)" % (what, x.dtype))
        if x.device.type not in ("cpu", "cuda"):
            raise TypeError("attn_runtime: %s is on %s; attn takes CPU and CUDA "
                            "tensors" % (what, x.device))
        if writable and x.requires_grad:
            raise ValueError("attn_runtime: %s requires grad; the runtime writes "
                             "outputs without autograd" % what)
        view.data = x.data_ptr() or None  # data_ptr() counts storage_offset
        view.dtype = dtype
        view.device = _capi.DEVICE_CUDA if x.is_cuda else _capi.DEVICE_CPU
        _fill(view, x.shape, x.stride())  # torch strides are in elements
        return view, x.device
    import numpy as np
    if not isinstance(x, np.ndarray):
        raise TypeError("attn_runtime: %s is a %s; pass numpy arrays or torch "
                        "tensors" % (what, type(x).__name__))
    dtype = _NUMPY_DTYPES.get(x.dtype.name)
    if dtype is None or not x.dtype.isnative:
        raise TypeError("attn_runtime: %s is %s; attn takes float32, float16, "
                        "bfloat16 (uint16 bits or ml_dtypes), int32 and bool"
                        % (what, x.dtype))
    if writable and not x.flags.writeable:
        raise ValueError("attn_runtime: %s is read-only" % what)
    item = x.dtype.itemsize
    if any(s % item for s in x.strides):
        raise ValueError("attn_runtime: %s has strides %s bytes, not whole "
                         "elements of %d bytes" % (what, x.strides, item))
    view.data = x.ctypes.data or None
    view.dtype = dtype
    view.device = _capi.DEVICE_CPU
    _fill(view, x.shape, [s // item for s in x.strides])  # numpy's are in bytes
    return view, None


def cuda_device(ordinal=0):
    """The CUDA device `ordinal` as the driver reports it (a dict), through
    the runtime; AttnError (NO_CUDA, NO_DEVICE) where there is none."""
    lib = _capi.load()
    info = _capi.CudaDeviceInfo()
    _check(lib, lib.attn_cuda_device(int(ordinal), ctypes.byref(info)))
    return {"name": info.name.decode(errors="replace"), "major": info.major,
            "minor": info.minor, "multiprocessors": info.multiprocessors,
            "max_shared_memory_per_block": info.max_shared_memory_per_block,
            "driver_version": info.driver_version, "device_count": info.device_count}


class Artifact:
    """An artifact directory (manifest.json and the files it lists), opened
    and checked by the runtime. Call its functions with artifact(name, ...)
    or artifact.call(name, inputs, outputs)."""

    def __init__(self, path, runtime=None):
        self.path = os.fspath(path)
        self._runtime = runtime or default_runtime()
        self._lib = self._runtime._lib
        handle = ctypes.c_void_p()
        _check(self._lib, self._lib.attn_artifact_open(self.path.encode(),
                                                       ctypes.byref(handle)))
        self._handle = handle
        self._manifest = None
        self._specs = {}

    def close(self):
        if getattr(self, "_handle", None):
            self._lib.attn_artifact_close(self._handle)
            self._handle = None

    def __del__(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _live(self):
        if not self._handle:
            raise ValueError("attn_runtime: artifact %r is closed" % self.path)
        return self._handle

    @property
    def functions(self):
        """The artifact's function names, as the runtime lists them."""
        h = self._live()
        names = []
        for i in range(self._lib.attn_artifact_num_functions(h)):
            name = self._lib.attn_artifact_function_name(h, i)
            if name is not None:
                names.append(name.decode())
        return names

    def signature(self, name):
        """FunctionSpec of `name`: its inputs' and outputs' declared dtypes
        and shapes, read from manifest.json (the C API gives counts only)."""
        if name not in self._specs:
            h, lib = self._live(), self._lib
            names = self.functions
            if name not in names:
                raise AttnError(_status("ATTN_ERROR_INVALID_ARGUMENT"),
                                "artifact %r has no function %r (it has: %s)"
                                % (self.path, name, ", ".join(names)))
            lists = []
            for count, describe in ((lib.attn_artifact_num_inputs, lib.attn_artifact_input_info),
                                    (lib.attn_artifact_num_outputs, lib.attn_artifact_output_info)):
                n = count(h, name.encode())
                if n < 0:
                    _check(lib, _status("ATTN_ERROR_INVALID_ARGUMENT"))
                specs, devices = [], []
                for i in range(n):
                    info = _capi.ArgInfo()
                    _check(lib, describe(h, name.encode(), i, ctypes.byref(info)))
                    specs.append(_arg_spec(lib, info))
                    devices.append(info.device)
                lists.append((specs, devices))
            (inputs, in_dev), (outputs, out_dev) = lists
            device = "cuda" if _capi.DEVICE_CUDA in in_dev + out_dev else "cpu"
            # Pattern, scale, ...: what the C API does not say, for the
            # curious and for tests that pick a reference.
            kernels = [k for k in self._read_manifest().get("kernels", [])
                       if isinstance(k, dict) and k.get("source") == name]
            # Roles the manifest leaves out follow from the kernels' operands.
            roles = {"attention": ("query", "key", "value"),
                     "select_blocks": ("query", "key", "pooled_keys"),
                     "compress_kv": ("key", "value", "weights"),
                     "sparse_branches": ("query", "key", "value", "compressed_key",
                                         "compressed_value", "blocks", "weights")}
            for k in kernels:
                args = k.get("operand_args", [])
                op = k.get("op", "attention")
                # Attention's operands past value depend on its fields; the
                # other ops' are all in their tuple.
                named = roles.get(op, ())
                fixed = len(named) if op != "attention" else 3
                for j, arg in enumerate(args):
                    if isinstance(arg, int) and 0 <= arg < len(inputs) and not inputs[arg].name:
                        if j < fixed:
                            role = named[j]
                        elif op != "attention":
                            role = ""
                        elif "blocks" in k and j == len(args) - 1:
                            role = "blocks"
                        else:
                            role = "active" if k.get("gates") == "active" else "gates"
                        inputs[arg] = inputs[arg]._replace(name=role)
            derived = []
            for i in range(max(0, lib.attn_artifact_num_derived_sizes(h, name.encode()))):
                info = _capi.DerivedSizeInfo()
                _check(lib, lib.attn_artifact_derived_size_info(h, name.encode(), i,
                                                                ctypes.byref(info)))
                derived.append(DerivedSize(
                    info.name.decode(), info.base.decode(),
                    "ceil_div" if info.kind == _capi.DERIVED_CEIL_DIV else "windows",
                    int(info.a), int(info.b)))
            self._specs[name] = FunctionSpec(name, inputs, outputs, kernels, device,
                                             tuple(derived))
        return self._specs[name]

    def _read_manifest(self):
        if self._manifest is None:
            try:
                with open(os.path.join(self.path, "manifest.json")) as f:
                    self._manifest = json.load(f)
            except (OSError, ValueError):
                self._manifest = {}
        return self._manifest

    def info(self, key):
        """A top-level string of the manifest ("compiler", "target", ...,
        "path"), or None."""
        value = self._lib.attn_artifact_info(self._live(), key.encode())
        return None if value is None else value.decode()

    def __call__(self, name, *inputs, out=None):
        """Calls `name` on `inputs`; returns its output (a tuple if several).
        `out`: an array/tensor, or a sequence of them, to write into."""
        if out is not None and not isinstance(out, (list, tuple)):
            out = [out]
        result = self.call(name, inputs, out)
        return result[0] if len(result) == 1 else tuple(result)

    def call(self, name, inputs, outputs=None):
        """Calls `name` on the list `inputs`, writing `outputs` (allocated
        when None: numpy arrays if the inputs are numpy, torch tensors on the
        inputs' device if they are torch). Returns the list of outputs."""
        h = self._live()
        inputs = list(inputs)
        if outputs is None:
            outputs = self._allocate(name, inputs)
        outputs = list(outputs)
        views_in, views_out, devices = [], [], []
        for i, x in enumerate(inputs):
            v, dev = _view(x, "input %d of %s" % (i, name), False)
            views_in.append(v)
            devices.append(dev)
        for i, x in enumerate(outputs):
            v, dev = _view(x, "output %d of %s" % (i, name), True)
            views_out.append(v)
            devices.append(dev)
        cuda = [d for d in devices if d is not None and d.type == "cuda"]
        if any(d != cuda[0] for d in cuda[1:]):
            raise ValueError("attn_runtime: tensors of one call must be on one "
                             "CUDA device, got %s" % sorted({str(d) for d in cuda}))
        in_array = (_capi.Tensor * len(views_in))(*views_in)
        out_array = (_capi.Tensor * len(views_out))(*views_out)
        if cuda:
            import torch
            # The runtime launches on the stream PyTorch is using, so the
            # kernels order after the producers of the inputs and before
            # their consumers, with no synchronization here.
            with torch.cuda.device(cuda[0]):
                stream = torch.cuda.current_stream(cuda[0]).cuda_stream
                status = self._lib.attn_call(
                    self._runtime._handle, h, name.encode(), in_array,
                    len(views_in), out_array, len(views_out),
                    ctypes.c_void_p(stream))
        else:
            # ctypes releases the GIL for the call: other Python threads run
            # while the kernels do.
            status = self._lib.attn_call(self._runtime._handle, h, name.encode(),
                                         in_array, len(views_in), out_array,
                                         len(views_out), None)
        _check(self._lib, status)
        return outputs

    def sizes(self, name, inputs):
        """The sizes a call of `name` on `inputs` binds: each size name the
        inputs' shapes give (the first input naming it), then the derived
        ones (a window longer than its size is left out: the runtime refuses
        that call, naming both sizes)."""
        spec = self.signature(name)
        derived = {d.name for d in spec.derived}
        sizes = {}
        for x, arg in zip(inputs, spec.inputs):
            shape = getattr(x, "shape", None)
            if shape is None or len(shape) != len(arg.shape):
                continue
            for dim, size in zip(arg.shape, shape):
                if isinstance(dim, str) and dim not in derived:
                    sizes.setdefault(dim, int(size))
        for d in spec.derived:
            if d.base in sizes:
                value = _derive(d, sizes[d.base])
                if value is not None:
                    sizes[d.name] = value
        return sizes

    def _allocate(self, name, inputs):
        """Outputs shaped as declared, dynamic sizes bound from the
        inputs' shapes and derived from those (a mismatch among inputs is
        the runtime's to report). Gated outputs need no zeroing: the runtime
        zero-fills them; select_blocks, compress_kv and sparse_branches
        kernels write all of theirs."""
        spec = self.signature(name)
        sizes = self.sizes(name, inputs)
        like = next((x for x in inputs if _is_torch(x)), None)
        outputs = []
        for i, arg in enumerate(spec.outputs):
            shape = []
            for dim in arg.shape:
                if isinstance(dim, str) and dim not in sizes:
                    if any(d.name == dim for d in spec.derived):
                        # A window longer than its size: a 1 here lets the
                        # runtime refuse the call with the sizes named.
                        sizes[dim] = 1
                    else:
                        raise ValueError("attn_runtime: cannot size output %d of %s: "
                                         "no input gives %s; pass out=" % (i, name, dim))
                shape.append(sizes[dim] if isinstance(dim, str) else int(dim))
            if like is not None:
                import torch
                dtype = {"f32": torch.float32, "f16": torch.float16,
                         "bf16": torch.bfloat16, "i32": torch.int32,
                         "bool": torch.bool}[arg.dtype]
                outputs.append(torch.empty(shape, dtype=dtype, device=like.device))
            else:
                import numpy as np
                outputs.append(np.empty(shape, dtype=_NUMPY_ALLOC[arg.dtype]))
        return outputs
