/* Weft runtime: device groups across processes with MPI.
 *
 * Part of libweft_runtime_mpi, built when MPI (OpenMPI) is found; it links
 * libweft_runtime and libmpi. Each MPI process holds one device, at the rank
 * MPI gives it in MPI_COMM_WORLD; the group's collectives and point-to-point
 * calls (weft/runtime.h) go through MPI on a communicator of the group's
 * own. */
#ifndef WEFT_RUNTIME_MPI_H
#define WEFT_RUNTIME_MPI_H

#include "weft/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_mpi_device_group_options_t {
  /* Threads of this process's CPU device, the calling thread included; 0
   * means the number of online CPUs. */
  int32_t threads_per_device;
  /* The number of devices the caller expects (a compiled artifact's device
   * count); 0 accepts any world size. Another world size is
   * WEFT_INVALID_ARGUMENT naming both. */
  int32_t expected_size;
} weft_mpi_device_group_options_t;

/* Initializes MPI when nobody has (MPI_THREAD_SERIALIZED, finalized at
 * exit) and creates the group: MPI_COMM_WORLD's size, one CPU device at this
 * process's rank (weft_device_group_device answers NULL for the others),
 * on duplicates of MPI_COMM_WORLD of its own (traffic, the end of each
 * model run, notes of a failed run: created here and, after a failed run,
 * by every process together).
 * Collectives must be called by one thread of the process at a time.
 * Before a collective moves data, the ranks compare its arguments with one
 * small all-reduce, so a mismatch fails every rank with a message instead
 * of hanging or corrupting memory. Float reductions are MPI's (its order of
 * operations); counts above INT_MAX are WEFT_INVALID_ARGUMENT. */
weft_status_t weft_mpi_device_group_create(
    const weft_mpi_device_group_options_t *options,
    const weft_allocator_t *allocator, weft_device_group_t **out_group);

/* GPUs across processes: one GPU per MPI process, joined by NCCL (loaded
 * at run time, as by weft_cuda_device_group_create). */
typedef struct weft_mpi_cuda_device_group_options_t {
  /* As for weft_mpi_device_group_options_t. */
  int32_t expected_size;
  /* The GPU of each process of a node: the k-th process of a node (by
   * rank) takes GPU ordinals[k] (num_ordinals of them); NULL means GPU k. */
  int32_t num_ordinals;
  const int32_t *ordinals;
} weft_mpi_cuda_device_group_options_t;

/* Creates the group in every process (a collective call): this process's
 * rank holds a CUDA device; NCCL's communicator spans the processes (rank
 * 0's ncclGetUniqueId broadcast through MPI). Collectives on device memory
 * go through NCCL on the rank's stream, complete in its order (as for
 * weft_cuda_device_group_create); on host memory through MPI, complete on
 * return. Every rank of a collective passes the same kind of memory (its
 * arguments, memory kind included, are compared first through MPI); so
 * does each pair of a send and its recv. Where a process has no GPU or no
 * NCCL every process returns an error: that one "no CUDA device ..." or
 * "NCCL not found ...", the others WEFT_UNAVAILABLE naming it. A split
 * needs NCCL 2.18 or later (ncclCommSplit). */
weft_status_t weft_mpi_cuda_device_group_create(
    const weft_mpi_cuda_device_group_options_t *options,
    const weft_allocator_t *allocator, weft_device_group_t **out_group);

/* This process's rank in the group; -1 for NULL or a group of another
 * backend. */
int32_t weft_mpi_device_group_rank(const weft_device_group_t *group);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* WEFT_RUNTIME_MPI_H */
