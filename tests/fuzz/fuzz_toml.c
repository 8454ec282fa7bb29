/* The TOML reader (base/toml.c) doctor uses for containers.conf, crio.conf
   and containerd's config.toml, and identify/ for storage.conf.  */
#include "fuzz.h"
#include "base/toml.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t len)
{
  struct pg_toml doc;
  pg_error_t err = NULL;
  static const char *const key[] = { "engine", "hooks_dir" };

  if (pg_toml_parse ((const char *) data, len, "fuzz.toml", &doc, &err) == 0)
    {
      pg_toml_find (&doc, key, 2);
      pg_toml_has_table (&doc, key, 1);
      pg_toml_free (&doc);
    }
  pg_error_release (&err);
  return 0;
}
