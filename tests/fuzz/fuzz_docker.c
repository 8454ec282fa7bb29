/* Docker's config.v2.json (identify/resolve_docker.c) for container d4...d4.  */
#include "fuzz.h"
#include "gate/gate.h"
#include "identify/engines.h"
#include "identify/storage.h"

#define CID "d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4"

static struct pg_hook_config cfg;
static struct pg_oci_state st;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_mkdir ("docker/containers/" CID);
  memset (&cfg, 0, sizeof (cfg));
  cfg.docker_root = fuzz_path ("docker");
  st.id = xstrdup (CID);
  st.bundle = fuzz_path ("bundle");
  st.annotations = json_object ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t len)
{
  struct pg_identity id;
  pg_error_t err = NULL;

  fuzz_write ("docker/containers/" CID "/config.v2.json", data, len);
  memset (&id, 0, sizeof (id));
  resolve_docker (&cfg, &st, &id, &err);
  identity_free (&id);
  pg_error_release (&err);
  return 0;
}
