/* The OpenVEX importer (import/openvex.c), and the purl parser
   (base/purl.c) on every subcomponent it keeps, as evaluation reads them. */
#include "fuzz.h"
#include "import/import.h"
#include "base/purl.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t len)
{
  cleanup_json json_t *doc = NULL;
  struct import_vex v;
  pg_error_t err = NULL;

  if (import_parse_json ((const char *) data, len, "vex", false, &doc, NULL, &err) == 0
      && import_is_openvex (doc) && import_openvex (doc, "vex", &v, &err) == 0)
    {
      for (size_t i = 0; i < v.n_records; i++)
        for (size_t k = 0; k < v.records[i].n_subcomponents; k++)
          {
            struct pg_purl p;
            if (purl_parse (v.records[i].subcomponents[k], &p) == 0)
              purl_clear (&p);
          }
      import_vex_clear (&v);
    }
  pg_error_release (&err);
  return 0;
}
