/* The runtimes' state files that patchgate audit reads (audit/runtime_state.c):
   runc's state.json, whose config.labels carry the container's
   annotations, and crun's status.  The first byte picks the format (even:
   runc, odd: crun); the rest is the file.  */
#include "fuzz.h"
#include "audit/runtime_state.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t len)
{
  struct pg_runtime_container c = { 0 };
  cleanup_free char *text = NULL;
  pg_error_t err = NULL;

  if (len == 0)
    return 0;
  text = fuzz_strndup (data + 1, len - 1);
  c.id = xstrdup ("fuzz");
  if (pg_runtime_state_parse (data[0] & 1 ? "crun" : "runc", text, len - 1, "state", &c, &err) == 0
      && (c.bundle == NULL || c.bundle[0] != '/' || c.pid <= 0))
    abort ();
  pg_runtime_container_free (&c);
  pg_error_release (&err);
  return 0;
}
