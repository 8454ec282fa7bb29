/* The Trivy importer (import/trivy.c); see fuzz_importer.  */
#include "import/import.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t len)
{
  return fuzz_importer (import_trivy, data, len);
}
