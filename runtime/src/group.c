/* Device groups: the backend-independent entry points. Each checks the
 * group, that `rank` lives in this process and (point to point) that `peer`
 * is another rank, then calls the backend. */
#include "internal.h"

void weft_device_group_destroy(weft_device_group_t *group) {
  if (group)
    group->vtable->destroy(group);
}

int32_t weft_device_group_size(const weft_device_group_t *group) {
  return group ? group->size : 0;
}

weft_device_t *weft_device_group_device(const weft_device_group_t *group, int32_t rank) {
  if (!group || rank < group->first_local || rank - group->first_local >= group->num_local)
    return NULL;
  return group->devices[rank - group->first_local];
}

static weft_status_t check_local(const weft_device_group_t *group, int32_t rank,
                                 const char *what) {
  if (!group)
    return weft_status_create(WEFT_INVALID_ARGUMENT, "%s: group is NULL", what);
  if (rank < 0 || rank >= group->size)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "%s: rank %d is outside the group's [0, %d)", what, (int)rank,
                              (int)group->size);
  if (rank < group->first_local || rank - group->first_local >= group->num_local)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "%s: rank %d is not in this process (its ranks are [%d, %d))",
                              what, (int)rank, (int)group->first_local,
                              (int)(group->first_local + group->num_local));
  return NULL;
}

weft_status_t weft_group_all_reduce(weft_device_group_t *group, int32_t rank,
                                    weft_dtype_t dtype, weft_reduce_op_t op, const void *send,
                                    void *recv, int64_t count) {
  weft_status_t status = check_local(group, rank, "all_reduce");
  return status ? status : group->vtable->all_reduce(group, rank, dtype, op, send, recv, count);
}

weft_status_t weft_group_reduce_scatter(weft_device_group_t *group, int32_t rank,
                                        weft_dtype_t dtype, weft_reduce_op_t op,
                                        const void *send, void *recv, int64_t count) {
  weft_status_t status = check_local(group, rank, "reduce_scatter");
  return status ? status
                : group->vtable->reduce_scatter(group, rank, dtype, op, send, recv, count);
}

weft_status_t weft_group_all_gather(weft_device_group_t *group, int32_t rank, const void *send,
                                    void *recv, size_t bytes) {
  weft_status_t status = check_local(group, rank, "all_gather");
  return status ? status : group->vtable->all_gather(group, rank, send, recv, bytes);
}

weft_status_t weft_group_all_to_all(weft_device_group_t *group, int32_t rank, const void *send,
                                    void *recv, size_t bytes) {
  weft_status_t status = check_local(group, rank, "all_to_all");
  return status ? status : group->vtable->all_to_all(group, rank, send, recv, bytes);
}

weft_status_t weft_group_broadcast(weft_device_group_t *group, int32_t rank, int32_t root,
                                   void *buffer, size_t bytes) {
  weft_status_t status = check_local(group, rank, "broadcast");
  return status ? status : group->vtable->broadcast(group, rank, root, buffer, bytes);
}

/* check_local, and `peer` another rank of the group. */
static weft_status_t check_pair(const weft_device_group_t *group, int32_t rank, int32_t peer,
                                const char *what) {
  weft_status_t status = check_local(group, rank, what);
  if (!status && (peer < 0 || peer >= group->size || peer == rank))
    status = weft_status_create(WEFT_INVALID_ARGUMENT,
                                "%s: peer %d is not another rank of the group's [0, %d)", what,
                                (int)peer, (int)group->size);
  return status;
}

weft_status_t weft_group_send(weft_device_group_t *group, int32_t rank, int32_t peer,
                              const void *buffer, size_t bytes) {
  weft_status_t status = check_pair(group, rank, peer, "send");
  return status ? status : group->vtable->send(group, rank, peer, buffer, bytes);
}

weft_status_t weft_group_recv(weft_device_group_t *group, int32_t rank, int32_t peer,
                              void *buffer, size_t bytes) {
  weft_status_t status = check_pair(group, rank, peer, "recv");
  return status ? status : group->vtable->recv(group, rank, peer, buffer, bytes);
}

weft_status_t weft_device_group_split(weft_device_group_t *group, const int32_t *colors,
                                      const weft_allocator_t *allocator,
                                      weft_device_group_t **out_split) {
  if (!out_split)
    return weft_status_create(WEFT_INVALID_ARGUMENT, "split: out_split is NULL");
  *out_split = NULL;
  if (!group || !colors)
    return weft_status_create(WEFT_INVALID_ARGUMENT, "split: group or colors is NULL");
  if (group->parent)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "split: the group is a split already; split its parent");
  for (int32_t r = 0; r < group->size; ++r)
    if (colors[r] < 0)
      return weft_status_create(WEFT_INVALID_ARGUMENT,
                                "split: rank %d has the negative color %d", (int)r,
                                (int)colors[r]);
  return group->vtable->split(group, colors, weft_allocator_or_default(allocator), out_split);
}
