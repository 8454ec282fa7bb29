/* The OpenVEX importer (import/openvex.c).  */
#include "fuzz.h"
#include "import/import.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t len)
{
  cleanup_json json_t *doc = NULL;
  struct pg_vex *v = NULL;
  size_t n = 0;
  pg_error_t err = NULL;

  if (import_parse_json ((const char *) data, len, "vex", false, &doc, NULL, &err) == 0
      && import_is_openvex (doc) && import_openvex (doc, "vex", &v, &n, &err) == 0)
    pg_vex_free (v, n);
  pg_error_release (&err);
  return 0;
}
