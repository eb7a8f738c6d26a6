/*===- attn_runtime.h - attn's runtime C API -----------------------*- C -*-===*
 *
 * Part of the attn project: an MLIR compiler for controllable attention.
 *
 *===----------------------------------------------------------------------===*
 *
 * Open an artifact that attn-compile wrote, check it against this machine,
 * and call its functions on tensors that live where the caller keeps them
 * (host memory, or CUDA device memory for GPU artifacts). Nothing here
 * allocates or copies tensors.
 *
 * Every call returns a status; on failure attn_last_error() (per thread)
 * names the cause: what was expected and what was found.
 *
 *   attn_runtime *rt; attn_artifact *art;
 *   attn_runtime_create(0, &rt);                 // all cores
 *   attn_artifact_open("out/", &art);            // validates manifest+files
 *   attn_tensor in[3] = {...}, out[1] = {...};
 *   attn_call(rt, art, "causal_gqa", in, 3, out, 1, NULL);
 *
 *===----------------------------------------------------------------------===*/

#ifndef ATTN_RUNTIME_ATTN_RUNTIME_H
#define ATTN_RUNTIME_ATTN_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

/* Only these functions are exported from libattn_runtime.so. */
#if defined(__GNUC__)
#define ATTN_API __attribute__((visibility("default")))
#else
#define ATTN_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum attn_status {
  ATTN_OK = 0,
  ATTN_ERROR_INVALID_ARGUMENT,  /* null pointers, bad counts, unknown names */
  ATTN_ERROR_IO,                /* a file could not be read */
  ATTN_ERROR_CORRUPT_ARTIFACT,  /* malformed manifest, checksum mismatch, missing symbol */
  ATTN_ERROR_VERSION,           /* artifact format version not supported */
  ATTN_ERROR_TARGET_MISMATCH,   /* artifact built for another CPU or GPU */
  ATTN_ERROR_SHAPE_MISMATCH,    /* tensor device/dtype/rank/shape/stride breaks the manifest */
  ATTN_ERROR_NO_CUDA,           /* libcuda could not be loaded */
  ATTN_ERROR_NO_DEVICE,         /* no CUDA device */
  ATTN_ERROR_CUDA,              /* a CUDA driver call failed (code in the message) */
  ATTN_ERROR_UNSUPPORTED,       /* valid, but not something this runtime can do */
  ATTN_ERROR_INTERNAL           /* out of memory, or a bug: never a crash */
} attn_status;

typedef enum attn_dtype {
  ATTN_DTYPE_F32 = 0,
  ATTN_DTYPE_F16,
  ATTN_DTYPE_BF16,
  ATTN_DTYPE_I32,
  ATTN_DTYPE_BOOL /* one byte per element, 0 or 1 (any nonzero byte reads as 1) */
} attn_dtype;

typedef enum attn_device { ATTN_DEVICE_CPU = 0, ATTN_DEVICE_CUDA } attn_device;

#define ATTN_MAX_RANK 8

/* A strided view of caller-owned memory. Strides are in elements, at
 * least 0; the innermost one must be 1. Every size must be at least 1. */
typedef struct attn_tensor {
  void *data;
  attn_dtype dtype;
  attn_device device;
  int32_t rank;
  int64_t shape[ATTN_MAX_RANK];
  int64_t strides[ATTN_MAX_RANK];
} attn_tensor;

typedef struct attn_runtime attn_runtime;
typedef struct attn_artifact attn_artifact;

/* The message of the last failing call on this thread ("" if none). A
 * successful call leaves it as it was. Valid until the thread's next
 * failing call. */
ATTN_API const char *attn_last_error(void);
/* "ATTN_OK", "ATTN_ERROR_SHAPE_MISMATCH", ... */
ATTN_API const char *attn_status_name(attn_status status);
/* "f32", "f16", "bf16", "i32", "bool" (the manifest's spelling). */
ATTN_API const char *attn_dtype_name(attn_dtype dtype);

/* A runtime: a CPU thread pool (threads <= 0: one per core; at most 4096,
 * the calling thread included) and, once GPU kernels exist, the CUDA
 * primary context, retained on first GPU use. One runtime may be shared by
 * threads: calls on it are serialized where they share the pool. */
ATTN_API attn_status attn_runtime_create(int threads, attn_runtime **out);
ATTN_API void attn_runtime_destroy(attn_runtime *runtime);
/* Threads a CPU call uses, the calling one included. */
ATTN_API int attn_runtime_num_threads(const attn_runtime *runtime);

/* Opens the artifact directory `path` (manifest.json + the files it lists):
 * checks the format version, every file's size and SHA-256, and that this
 * machine can run its target (CPU features; GPU chips are checked when a
 * GPU function is first called). */
/* Errors: IO (unreadable), CORRUPT_ARTIFACT (malformed manifest, missing
 * or altered file, missing kernel symbol), VERSION, TARGET_MISMATCH (CPU
 * architecture or features). docs/artifact.md lists every check. */
ATTN_API attn_status attn_artifact_open(const char *path, attn_artifact **out);
ATTN_API void attn_artifact_close(attn_artifact *artifact);

/* The artifact's functions: the source functions attn-compile compiled.
 * Returned strings live as long as the artifact. */
ATTN_API int attn_artifact_num_functions(const attn_artifact *artifact);
ATTN_API const char *attn_artifact_function_name(const attn_artifact *artifact,
                                                 int index);
/* Arguments and results of a function, as the manifest declares them; -1
 * (and attn_last_error) for an unknown function. */
ATTN_API int attn_artifact_num_inputs(const attn_artifact *artifact,
                                      const char *function);
ATTN_API int attn_artifact_num_outputs(const attn_artifact *artifact,
                                       const char *function);

/* One declared input or output of a function. */
typedef struct attn_arg_info {
  const char *role;       /* "query", "key", "value", "gates", "active",
                           * "blocks", "out", ..., or "" when the manifest
                           * names none */
  attn_dtype dtype;
  attn_device device;     /* where the function expects it */
  int32_t rank;
  int64_t shape[ATTN_MAX_RANK];       /* the fixed size, or -1 if dynamic */
  const char *symbols[ATTN_MAX_RANK]; /* a dynamic size's name ("B",
                                       * "Skv": tensors of one function that
                                       * share a name share the size), NULL
                                       * where fixed */
} attn_arg_info;

/* Describes input/output `index` of `function` (strings live as long as
 * the artifact). INVALID_ARGUMENT for an unknown function or index. */
ATTN_API attn_status attn_artifact_input_info(const attn_artifact *artifact,
                                              const char *function, int index,
                                              attn_arg_info *out);
ATTN_API attn_status attn_artifact_output_info(const attn_artifact *artifact,
                                               const char *function, int index,
                                               attn_arg_info *out);

/* A size a function derives from another (the manifest's `derived_sizes`),
 * bound at a call after the sizes its inputs name:
 *   ATTN_DERIVED_CEIL_DIV  name = ceil(base / a)
 *   ATTN_DERIVED_WINDOWS   name = (base - a) / b + 1 (a call with base < a
 *                          is refused)
 * Tools use them to shape outputs and inputs (a blocks list's
 * ceil(Sq / 64) query blocks) before a call. */
typedef enum attn_derived_kind {
  ATTN_DERIVED_CEIL_DIV = 0,
  ATTN_DERIVED_WINDOWS = 1
} attn_derived_kind;

typedef struct attn_derived_size_info {
  const char *name;
  const char *base; /* a size the inputs name, or an earlier derived one */
  attn_derived_kind kind;
  int64_t a, b;     /* b is 1 for ATTN_DERIVED_CEIL_DIV */
} attn_derived_size_info;

/* The number of derived sizes of `function` (-1 for an unknown function),
 * and derived size `index`, in the order they are bound (strings live as
 * long as the artifact). INVALID_ARGUMENT for an unknown function or
 * index. */
ATTN_API int attn_artifact_num_derived_sizes(const attn_artifact *artifact,
                                             const char *function);
ATTN_API attn_status
attn_artifact_derived_size_info(const attn_artifact *artifact,
                                const char *function, int index,
                                attn_derived_size_info *out);

/* A top-level string of the manifest: "format", "compiler", "target",
 * "table_target", "llvm_cpu", "triple", "arch" (host_requirements.arch),
 * plus "path" (the directory as opened). NULL for another key or a field
 * the manifest leaves out. */
ATTN_API const char *attn_artifact_info(const attn_artifact *artifact,
                                        const char *key);

/* Calls `function` on `inputs` (its arguments, in order) writing `outputs`
 * (its results, in order). Every tensor is checked against the manifest
 * (device, dtype, rank, fixed sizes, dynamic sizes consistent across the
 * tensors that share them, head counts, innermost stride 1) before any
 * kernel runs; SHAPE_MISMATCH names the argument, the dimension, what was
 * expected and what was found. Gates (bool B x Hq, nonzero = on) are
 * compacted here into the active (batch, head) list: gated-off heads are
 * never launched and their outputs are zero-filled. An active list given
 * directly (i32, b * Hq + h) must be strictly ascending. `stream` is a
 * CUstream for GPU artifacts (NULL: the default stream), ignored on the
 * CPU, where the call returns when done; CUDA launches are asynchronous on
 * it. Gated CUDA kernels are UNSUPPORTED for now (docs/artifact.md). Outputs
 * must not overlap the inputs or each other (only an output overlapping
 * itself is detected). */
ATTN_API attn_status attn_call(attn_runtime *runtime,
                               const attn_artifact *artifact,
                               const char *function, const attn_tensor *inputs,
                               int num_inputs, const attn_tensor *outputs,
                               int num_outputs, void *stream);

/* A CUDA device as the driver reports it. */
typedef struct attn_cuda_device_info {
  char name[256];
  int major, minor;            /* compute capability, e.g. 9 and 0 */
  int multiprocessors;
  int max_shared_memory_per_block; /* bytes, with the >48 KB opt-in */
  int driver_version;          /* e.g. 13000 for CUDA 13.0 */
  int device_count;
} attn_cuda_device_info;

/* Loads libcuda (dlopen) and describes device `ordinal`. NO_CUDA without a
 * usable driver, NO_DEVICE without that device, CUDA for other driver
 * errors. Needs no runtime: tools use it to report the machine. */
ATTN_API attn_status attn_cuda_device(int ordinal, attn_cuda_device_info *out);

#ifdef __cplusplus
}
#endif

#endif /* ATTN_RUNTIME_ATTN_RUNTIME_H */
