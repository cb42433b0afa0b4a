/* Status objects: a code plus a formatted message, heap-allocated so that
 * errors can carry names and shapes. When even that allocation fails, a
 * static out-of-memory status stands in; weft_status_free knows not to free
 * it, so callers never have to special-case it. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Not const only because weft_status_t points to non-const; never written. */
static struct weft_status_s oom_status = {
    WEFT_OUT_OF_MEMORY, "out of memory (while creating a status)"};

static const char *code_name(weft_status_code_t code) {
  switch (code) {
  case WEFT_OK:
    return "OK";
  case WEFT_INVALID_ARGUMENT:
    return "INVALID_ARGUMENT";
  case WEFT_OUT_OF_MEMORY:
    return "OUT_OF_MEMORY";
  case WEFT_UNAVAILABLE:
    return "UNAVAILABLE";
  case WEFT_INTERNAL:
    return "INTERNAL";
  }
  return "UNKNOWN";
}

weft_status_t weft_status_create(weft_status_code_t code, const char *fmt,
                                 ...) {
  if (code == WEFT_OK)
    return NULL;
  /* A NULL format still yields a readable message. */
  if (!fmt)
    fmt = code_name(code);

  va_list args;
  va_start(args, fmt);
  va_list args_copy;
  va_copy(args_copy, args);
  int len = vsnprintf(NULL, 0, fmt, args_copy);
  va_end(args_copy);
  if (len < 0) {
    /* An encoding error in the format: keep the code, say what happened. */
    va_end(args);
    fmt = "(unformattable status message)";
    len = (int)strlen(fmt);
    struct weft_status_s *status = malloc(sizeof(*status) + (size_t)len + 1);
    if (!status)
      return &oom_status;
    char *message = (char *)(status + 1);
    memcpy(message, fmt, (size_t)len + 1);
    status->code = code;
    status->message = message;
    return status;
  }

  struct weft_status_s *status = malloc(sizeof(*status) + (size_t)len + 1);
  if (!status) {
    va_end(args);
    return &oom_status;
  }
  char *message = (char *)(status + 1);
  vsnprintf(message, (size_t)len + 1, fmt, args);
  va_end(args);
  status->code = code;
  status->message = message;
  return status;
}

weft_status_code_t weft_status_code(weft_status_t status) {
  return status ? status->code : WEFT_OK;
}

const char *weft_status_message(weft_status_t status) {
  return status ? status->message : "OK";
}

void weft_status_free(weft_status_t status) {
  if (!status || status == &oom_status)
    return;
  free(status);
}
