/* Weft example: run a model compiled ahead of time by weftc from plain C.
 *
 * The model (make_example_model.py) is a small MLP classifier, f32[1,16] ->
 * f32[1,4] class probabilities. weftc turns it into an object file and a
 * header; this program links both with the Weft runtime, runs the model once
 * on a fixed input, and shows how a bad input is reported instead of crashing.
 *
 *   python3 make_example_model.py example_model.onnx
 *   weftc example_model.onnx -o example_model.o --name example_model
 *   cc main.c example_model.o -I. -I<repo>/runtime/include -L<build>/lib \
 *      -lweft_runtime -lm -Wl,-rpath,<build>/lib -o example
 *
 * run_example.sh does all of that and compares the result with onnxruntime.
 */
#include "example_model.h"

#include <weft/runtime.h>

#include <stdio.h>
#include <stdlib.h>

/* Every Weft call that can fail returns a status: NULL is success, anything
 * else owns a message and must be freed. This prints and frees it, and
 * returns non-zero so callers can write `if (check(...)) goto cleanup;`. */
static int check(weft_status_t status, const char *what) {
  if (status == NULL)
    return 0;
  fprintf(stderr, "error: %s failed (code %d): %s\n", what,
          (int)weft_status_code(status), weft_status_message(status));
  weft_status_free(status);
  return 1;
}

static const char *code_name(weft_status_code_t code) {
  switch (code) {
  case WEFT_OK: return "WEFT_OK";
  case WEFT_INVALID_ARGUMENT: return "WEFT_INVALID_ARGUMENT";
  case WEFT_OUT_OF_MEMORY: return "WEFT_OUT_OF_MEMORY";
  case WEFT_UNAVAILABLE: return "WEFT_UNAVAILABLE";
  case WEFT_INTERNAL: return "WEFT_INTERNAL";
  }
  return "unknown";
}

/* Builds a view over `data` with the shape the compiled model declares, so
 * this program never hard-codes what the header already knows. Returns the
 * element count, or -1 for a shape a fixed buffer cannot hold. */
static int64_t view_for(const weft_tensor_info_t *info, void *data,
                        weft_tensor_view_t *view) {
  if (info->rank < 0 || info->rank > WEFT_MAX_RANK)
    return -1;
  int64_t count = 1;
  view->data = data;
  view->dtype = info->dtype;
  view->rank = info->rank;
  for (int32_t i = 0; i < info->rank; ++i) {
    if (info->shape[i] < 0) /* a dynamic dim: compile with --dim to pin it */
      return -1;
    view->shape[i] = info->shape[i];
    count *= info->shape[i];
  }
  return count;
}

int main(void) {
  int rc = 1;
  weft_device_t *device = NULL;
  weft_model_t *model = NULL;
  float *input = NULL, *output = NULL, *wrong_input = NULL;

  /* The metadata is a constant in the object file; check it matches what
   * this program was written for before allocating anything. */
  const weft_model_info_t *info = example_model_info();
  if (info == NULL || info->abi_version != WEFT_MODEL_ABI_VERSION) {
    fprintf(stderr, "error: example_model was built for another Weft ABI\n");
    return 1;
  }
  if (info->num_inputs != 1 || info->num_outputs != 1 ||
      info->inputs[0].dtype != WEFT_DTYPE_F32 ||
      info->outputs[0].dtype != WEFT_DTYPE_F32) {
    fprintf(stderr, "error: expected one f32 input and one f32 output\n");
    return 1;
  }

  weft_tensor_view_t in_view, out_view;
  int64_t in_count = view_for(&info->inputs[0], NULL, &in_view);
  int64_t out_count = view_for(&info->outputs[0], NULL, &out_view);
  if (in_count <= 0 || out_count <= 0) {
    fprintf(stderr, "error: the model's tensors need static shapes\n");
    return 1;
  }
  input = calloc((size_t)in_count, sizeof(float));
  output = calloc((size_t)out_count, sizeof(float));
  if (input == NULL || output == NULL) {
    fprintf(stderr, "error: out of memory\n");
    goto cleanup;
  }
  in_view.data = input;
  out_view.data = output;

  /* Two threads run the workgroups, the calling thread included. The device
   * must outlive every model created on it. */
  weft_cpu_device_options_t device_options = {.num_threads = 2};
  if (check(weft_cpu_device_create(&device_options, weft_allocator_default(),
                                   &device),
            "weft_cpu_device_create"))
    goto cleanup;

  /* Creating the model allocates its whole memory arena once; running it
   * never allocates again. */
  if (check(example_model_create(device, weft_allocator_default(), &model),
            "example_model_create"))
    goto cleanup;

  /* A fixed, exactly representable pattern in [-0.75, 0.75]; run_example.sh
   * feeds onnxruntime the same values, so keep the two in sync. */
  for (int64_t i = 0; i < in_count; ++i)
    input[i] = (float)((i % 7) - 3) * 0.25f;

  if (check(example_model_run(model, &in_view, 1, &out_view, 1),
            "example_model_run"))
    goto cleanup;

  printf("model %s: input %s, output %s\n", info->name, info->inputs[0].name,
         info->outputs[0].name);
  int64_t best = 0;
  for (int64_t i = 0; i < out_count; ++i) {
    printf("output[%lld] = %.6f\n", (long long)i, output[i]);
    if (output[i] > output[best])
      best = i;
  }
  printf("argmax = %lld\n", (long long)best);

  /* Error handling: claim one extra element in the last dimension. The
   * runtime checks every view against the model's metadata before touching
   * any data and answers with WEFT_INVALID_ARGUMENT. The buffer is sized for
   * the claimed shape anyway, so the demo stays memory-safe even if it were
   * accepted. */
  weft_tensor_view_t wrong = in_view;
  wrong.shape[wrong.rank - 1] += 1;
  wrong_input = calloc((size_t)weft_tensor_view_num_elements(&wrong), sizeof(float));
  if (wrong_input == NULL) {
    fprintf(stderr, "error: out of memory\n");
    goto cleanup;
  }
  wrong.data = wrong_input;
  weft_status_t status = example_model_run(model, &wrong, 1, &out_view, 1);
  if (status == NULL) {
    fprintf(stderr, "error: a wrong-shaped input was accepted\n");
    goto cleanup;
  }
  printf("wrong-shaped input rejected as expected: %s: %s\n",
         code_name(weft_status_code(status)), weft_status_message(status));
  int wrong_code_ok = weft_status_code(status) == WEFT_INVALID_ARGUMENT;
  weft_status_free(status);
  if (!wrong_code_ok) {
    fprintf(stderr, "error: expected WEFT_INVALID_ARGUMENT\n");
    goto cleanup;
  }

  rc = 0;

cleanup:
  /* Reverse order of creation: the model borrows the device. */
  if (model != NULL)
    example_model_destroy(model);
  if (device != NULL)
    weft_device_destroy(device);
  free(wrong_input);
  free(output);
  free(input);
  return rc;
}
