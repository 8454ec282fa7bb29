/* An oci-hooks(5) file as podman reads it (doctor/ocihooks.c).  */
#include "fuzz.h"
#include "doctor/ocihooks.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t len)
{
  struct pg_oci_hook_file f;
  pg_error_t err = NULL;
  char *ext[] = { "precreate", "poststop" };

  fuzz_write ("hook.json", data, len);
  pg_oci_hook_read (fuzz_dir (), "hook.json", ext, 2, &f, &err);
  pg_oci_hook_file_free (&f);
  pg_error_release (&err);
  return 0;
}
