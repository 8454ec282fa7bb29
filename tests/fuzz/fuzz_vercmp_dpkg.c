/* dpkg's version order (version/version_dpkg.c); see fuzz_version_order.  */
#include "version/version.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t len)
{
  return fuzz_version_order (PG_VERSION_DPKG, data, len);
}
