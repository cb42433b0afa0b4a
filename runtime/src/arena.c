/* The per-model arena: one aligned block, allocated once at model creation,
 * that holds every intermediate tensor at offsets planned by the compiler. */
#include "internal.h"

#include <stdint.h>

struct weft_arena_t {
  weft_allocator_t allocator;
  void *data;
  size_t size;
};

weft_status_t weft_arena_create(const weft_allocator_t *allocator, size_t size,
                                size_t alignment, weft_arena_t **out_arena) {
  if (!out_arena)
    return weft_status_create(WEFT_INVALID_ARGUMENT,
                              "weft_arena_create: out_arena is NULL");
  *out_arena = NULL;
  allocator = weft_allocator_or_default(allocator);
  if (!allocator->alloc || !allocator->free)
    return weft_status_create(
        WEFT_INVALID_ARGUMENT,
        "weft_arena_create: allocator has a NULL alloc or free function");
  if (!weft_is_pow2(alignment))
    return weft_status_create(
        WEFT_INVALID_ARGUMENT,
        "weft_arena_create: alignment %zu is not a power of two", alignment);

  weft_arena_t *arena = allocator->alloc(allocator->user_data, sizeof(*arena),
                                         _Alignof(weft_arena_t));
  if (!arena)
    return weft_status_create(WEFT_OUT_OF_MEMORY,
                              "weft_arena_create: out of memory");
  arena->allocator = *allocator;
  arena->size = size;
  arena->data = NULL;
  /* A zero-byte arena (a model with no intermediates) keeps data == NULL. */
  if (size > 0) {
    arena->data = allocator->alloc(allocator->user_data, size, alignment);
    if (!arena->data) {
      allocator->free(allocator->user_data, arena);
      return weft_status_create(WEFT_OUT_OF_MEMORY,
                                "weft_arena_create: cannot allocate %zu bytes "
                                "aligned to %zu",
                                size, alignment);
    }
    if (((uintptr_t)arena->data & (alignment - 1)) != 0) {
      allocator->free(allocator->user_data, arena->data);
      allocator->free(allocator->user_data, arena);
      return weft_status_create(WEFT_INTERNAL,
                                "weft_arena_create: allocator returned memory "
                                "not aligned to %zu",
                                alignment);
    }
  }
  *out_arena = arena;
  return NULL;
}

void weft_arena_destroy(weft_arena_t *arena) {
  if (!arena)
    return;
  weft_allocator_t allocator = arena->allocator;
  if (arena->data)
    allocator.free(allocator.user_data, arena->data);
  allocator.free(allocator.user_data, arena);
}

void *weft_arena_data(const weft_arena_t *arena) {
  return arena ? arena->data : NULL;
}

size_t weft_arena_size(const weft_arena_t *arena) {
  return arena ? arena->size : 0;
}
