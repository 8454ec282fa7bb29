/* containers/storage metadata (identify/resolve_storage.c): containers.json, a
   NUL, images.json, for the storage container c1c1...c1 (vfs driver).  */
#include "fuzz.h"
#include "gate/gate.h"
#include "identify/engines.h"
#include "identify/storage.h"

#define CID "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1"

static struct pg_hook_config cfg;
static struct pg_oci_state st;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  fuzz_mkdir ("graph/vfs-containers");
  fuzz_mkdir ("graph/vfs-images");
  fuzz_mkdir ("run");
  memset (&cfg, 0, sizeof (cfg));
  cfg.storage_conf = fuzz_path ("none/storage.conf");
  cfg.storage_graphroot = fuzz_path ("graph");
  cfg.storage_runroot = fuzz_path ("run");
  cfg.storage_driver = xstrdup ("vfs");
  fuzz_mkdir ("graph/vfs-containers/" CID "/userdata");
  st.id = xstrdup (CID);
  st.bundle = fuzz_path ("graph/vfs-containers/" CID "/userdata");
  st.annotations = json_object ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t len)
{
  const uint8_t *a, *b;
  size_t alen, blen;
  struct pg_storage_image img;
  pg_error_t err = NULL;

  fuzz_split (data, len, &a, &alen, &b, &blen);
  fuzz_write ("graph/vfs-containers/containers.json", a, alen);
  fuzz_write ("graph/vfs-images/images.json", b, blen);
  if (storage_lookup (&cfg, &st, &img, &err) > 0)
    storage_image_free (&img);
  pg_error_release (&err);
  return 0;
}
