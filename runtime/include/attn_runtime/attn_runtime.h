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
  ATTN_ERROR_SHAPE_MISMATCH,    /* tensor dtype/rank/shape/stride breaks the manifest */
  ATTN_ERROR_NO_CUDA,           /* libcuda could not be loaded */
  ATTN_ERROR_NO_DEVICE,         /* no CUDA device */
  ATTN_ERROR_CUDA,              /* a CUDA driver call failed (code in the message) */
  ATTN_ERROR_UNSUPPORTED        /* valid, but not something this runtime can do */
} attn_status;

typedef enum attn_dtype {
  ATTN_DTYPE_F32 = 0,
  ATTN_DTYPE_F16,
  ATTN_DTYPE_BF16,
  ATTN_DTYPE_I32,
  ATTN_DTYPE_BOOL /* one byte per element, 0 or 1 */
} attn_dtype;

typedef enum attn_device { ATTN_DEVICE_CPU = 0, ATTN_DEVICE_CUDA } attn_device;

#define ATTN_MAX_RANK 8

/* A strided view of caller-owned memory. Strides are in elements. */
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

/* The message of the last failing call on this thread ("" if none). */
const char *attn_last_error(void);
const char *attn_status_name(attn_status status);

/* A runtime: a CPU thread pool (threads <= 0: one per core) and, created on
 * first GPU use, the CUDA primary context. */
attn_status attn_runtime_create(int threads, attn_runtime **out);
void attn_runtime_destroy(attn_runtime *runtime);

/* Opens the artifact directory `path` (manifest.json + the files it lists):
 * checks the format version, every file's size and SHA-256, and that this
 * machine can run its target (CPU features; GPU chips are checked when a
 * GPU function is first called). */
attn_status attn_artifact_open(const char *path, attn_artifact **out);
void attn_artifact_close(attn_artifact *artifact);

/* The artifact's functions: the source functions attn-compile compiled. */
int attn_artifact_num_functions(const attn_artifact *artifact);
const char *attn_artifact_function_name(const attn_artifact *artifact,
                                        int index);
/* Arguments and results of a function, as the manifest declares them. */
int attn_artifact_num_inputs(const attn_artifact *artifact,
                             const char *function);
int attn_artifact_num_outputs(const attn_artifact *artifact,
                              const char *function);

/* Calls `function` on `inputs` (its arguments, in order) writing `outputs`
 * (its results, in order). Shapes are checked against the manifest before
 * any kernel runs. Gates (bool B x Hq) are compacted here into the active
 * (batch, head) list: gated-off heads are never launched and their outputs
 * are zero-filled. `stream` is a CUstream for GPU artifacts (NULL: the
 * default stream), ignored on the CPU, where the call returns when done. */
attn_status attn_call(attn_runtime *runtime, const attn_artifact *artifact,
                      const char *function, const attn_tensor *inputs,
                      int num_inputs, const attn_tensor *outputs,
                      int num_outputs, void *stream);

#ifdef __cplusplus
}
#endif

#endif /* ATTN_RUNTIME_ATTN_RUNTIME_H */
