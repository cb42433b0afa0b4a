/* The default allocator: C11 aligned_alloc/free. aligned_alloc requires the
 * size to be a multiple of the alignment, so sizes are rounded up; a request
 * for zero bytes still returns a distinct block so that NULL always means
 * failure. */
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>

static void *default_alloc(void *user_data, size_t size, size_t alignment) {
  (void)user_data;
  if (!weft_is_pow2(alignment))
    return NULL;
  if (alignment < sizeof(void *))
    alignment = sizeof(void *);
  if (size == 0)
    size = alignment;
  if (size > SIZE_MAX - (alignment - 1))
    return NULL;
  size = (size + alignment - 1) & ~(alignment - 1);
  return aligned_alloc(alignment, size);
}

static void default_free(void *user_data, void *ptr) {
  (void)user_data;
  free(ptr);
}

static const weft_allocator_t default_allocator = {NULL, default_alloc,
                                                   default_free};

const weft_allocator_t *weft_allocator_default(void) {
  return &default_allocator;
}
