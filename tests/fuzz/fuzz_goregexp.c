/* Go regexp syntax, as doctor checks a hooks.d file's patterns
   (doctor/goregexp.c).  */
#include "fuzz.h"
#include "doctor/goregexp.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t len)
{
  cleanup_free char *s = strndup ((const char *) data, len);
  char *why = NULL;

  pg_go_regexp_check (s, &why);
  free (why);
  return 0;
}
