/* umoci.json in a bundle (identify/resolve_umoci.c).  */
#include "fuzz.h"
#include "gate/gate.h"
#include "identify/engines.h"
#include "identify/storage.h"

static struct pg_oci_state st;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_mkdir ("bundle");
  st.id = xstrdup ("fuzz");
  st.bundle = fuzz_path ("bundle");
  st.annotations = json_object ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t len)
{
  struct pg_identity id;
  pg_error_t err = NULL;

  fuzz_write ("bundle/umoci.json", data, len);
  memset (&id, 0, sizeof (id));
  resolve_umoci (NULL, &st, &id, &err);
  identity_free (&id);
  pg_error_release (&err);
  return 0;
}
