/* The Grype importer (import/grype.c); see fuzz_importer.  */
#include "import/import.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t len)
{
  return fuzz_importer (import_grype, data, len);
}
