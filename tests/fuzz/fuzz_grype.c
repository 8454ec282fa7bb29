/* The Grype importer (policy/import_grype.c) on bounded JSON
   (import_parse_json, which allows NUL bytes in strings as reports do).  */
#include "fuzz.h"
#include "import.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t len)
{
  cleanup_json json_t *doc = NULL;
  struct pg_scan scan;
  pg_error_t err = NULL;

  if (import_parse_json ((const char *) data, len, "report", false, &doc, NULL, &err) == 0)
    {
      memset (&scan, 0, sizeof (scan));
      /* Like import_parse_report, the caller frees a half-built scan.  */
      import_grype (doc, &scan, &err);
      pg_scan_free (&scan);
      /* And through format detection, as patchgate import does.  */
      memset (&scan, 0, sizeof (scan));
      pg_error_release (&err);
      if (import_parse_report (doc, "report", &scan, &err) == 0)
        pg_scan_free (&scan);
    }
  pg_error_release (&err);
  return 0;
}
