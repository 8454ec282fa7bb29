/* storage.conf's [storage] table (identify/resolve_storage.c).  */
#include "fuzz.h"
#include "gate/gate.h"
#include "identify/engines.h"
#include "identify/storage.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t len)
{
  cleanup_free char *path = fuzz_path ("storage.conf");
  struct pg_storage_conf sc;
  pg_error_t err = NULL;

  fuzz_write ("storage.conf", data, len);
  if (storage_conf_parse (path, &sc, &err) == 0)
    storage_conf_free (&sc);
  pg_error_release (&err);
  return 0;
}
